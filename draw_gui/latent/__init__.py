"""The Latent tab: the z pad and sliders, interpolation, and the drawing process."""
