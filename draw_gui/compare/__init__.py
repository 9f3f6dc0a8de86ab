"""The Compare tab: several runs' curves, samples and glimpses side by side."""
