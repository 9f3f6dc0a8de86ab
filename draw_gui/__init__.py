"""draw-gui: train and explore DRAW models (Gregor et al. 2015)."""
__version__ = "0.1.0"
