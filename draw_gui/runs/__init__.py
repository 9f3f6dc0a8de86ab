"""The Runs list: every run folder the window or `draw-gui train` wrote, to open, continue, compare or follow."""
