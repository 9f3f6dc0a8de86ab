"""Widgets and helpers shared by several views: growing plot curves, the loss plot, image saving."""
