"""Background threads: the training worker and the one-job threads the views decode in."""
