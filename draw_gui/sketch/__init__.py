"""The Sketch tab: draw your own image and watch the model read it."""
