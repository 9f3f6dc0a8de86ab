"""The Glimpses tab: read and write boxes glimpse by glimpse, the canvas, per-glimpse KL."""
