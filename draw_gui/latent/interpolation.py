"""The Latent tab's "Interpolation A → B" box: remember two latents A and B, move between them,
and save that walk, or a sweep of one latent dimension, as a GIF.

The box keeps only its two ends. The tab tells it the latent on screen (current_latent) and the
glimpse the sliders act on (sweep_glimpse), and does the decoding the box asks for: `mixed` carries
the latent a fraction w of the way from A to B, `frames_requested` the latents of a GIF and its
file name.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QSlider, QSpinBox, QVBoxLayout

from draw_gui.latent.decoder import mix, mixes, sweep_latents
from draw_gui.latent.pad import button, row

GIF_FRAMES = 16


class InterpolationBox(QGroupBox):
    mixed = Signal(object)                   # (T, Z) latent
    frames_requested = Signal(object, str)   # (frames, T, Z) latents, GIF file name

    def __init__(self, current_latent, sweep_glimpse, parent=None):
        """current_latent() -> the (T, Z) latent shown, or None; sweep_glimpse() -> the glimpse
        index a sweep moves, or None for every glimpse."""
        super().__init__("Interpolation A → B", parent)
        self.setAccessibleName(self.title())
        self._current_latent, self._sweep_glimpse = current_latent, sweep_glimpse
        self._a = self._b = None
        self.set_a_button = button("Set A", "Remember the current latent as the interpolation's start A",
                                   lambda: self._set_end("a"))
        self.set_b_button = button("Set B", "Remember the current latent as the interpolation's end B",
                                   lambda: self._set_end("b"))
        self.mix_combo = QComboBox()
        self.mix_combo.addItem("spherical", True)
        self.mix_combo.addItem("linear", False)
        self.mix_combo.setToolTip("Spherical (slerp) keeps the latent at the norm of a prior sample; linear "
                                  "(lerp) passes through the improbable middle near z = 0")
        self.mix_slider = QSlider(Qt.Orientation.Horizontal)
        self.mix_slider.setRange(0, 100)
        self.mix_slider.setToolTip("The latent a fraction w of the way from A (0) to B (1)")
        self.mix_label = QLabel("w 0.00")
        self.frames_spin = QSpinBox(prefix="frames ")
        self.frames_spin.setRange(2, 200)
        self.frames_spin.setValue(GIF_FRAMES)
        self.frames_spin.setToolTip("Frames of the interpolation and sweep GIFs")
        self.save_mix_button = button("Interpolation GIF…", "Save A → B as an animated GIF",
                                      self.save_interpolation_gif)
        self.sweep_spin = QSpinBox(prefix="sweep z_")
        self.sweep_spin.setToolTip("The latent dimension i the sweep GIF moves from −3 to 3 (in every "
                                   "glimpse, or in glimpse t only, as the sliders)")
        self.save_sweep_button = button("Sweep GIF…", "Save the sample as dimension i goes −3..3",
                                        self.save_sweep_gif)
        box = QVBoxLayout(self)
        box.addLayout(row(self.set_a_button, self.set_b_button, self.mix_combo, stretch_at=3))
        box.addLayout(row(QLabel("A"), self.mix_slider, QLabel("B"), self.mix_label))
        box.addLayout(row(self.frames_spin, self.save_mix_button, stretch_at=2))
        box.addLayout(row(self.sweep_spin, self.save_sweep_button, stretch_at=2))
        box.addStretch(1)
        self.mix_slider.valueChanged.connect(self._on_mix)
        self.mix_combo.currentIndexChanged.connect(self._on_mix)
        self._enable()

    def reset(self, z_size: int) -> None:
        """A new model: forget the ends (they were latents of the old one)."""
        self._a = self._b = None
        self.sweep_spin.setRange(0, z_size - 1)
        self._enable()

    def save_interpolation_gif(self) -> None:
        if self._a is not None and self._b is not None:
            latents = mixes(self._a, self._b, self.frames_spin.value(), self.mix_combo.currentData())
            self.frames_requested.emit(latents, "interpolation.gif")

    def save_sweep_gif(self) -> None:
        latent = self._current_latent()
        if latent is not None:
            dim = self.sweep_spin.value()
            latents = sweep_latents(latent, dim, self.frames_spin.value(), self._sweep_glimpse())
            self.frames_requested.emit(latents, f"sweep-z{dim}.gif")

    def _set_end(self, which: str) -> None:
        latent = self._current_latent()
        if latent is not None:
            setattr(self, f"_{which}", latent.copy())
            self._enable()

    def set_end(self, which: str, latent) -> None:
        """Set end A or B to a given (T, Z) latent (the Sketch tab's drawing)."""
        setattr(self, f"_{which.lower()}", np.array(latent, dtype=np.float32))
        self._enable()
        self._on_mix()

    def _enable(self) -> None:
        ready = self._a is not None and self._b is not None
        for widget in (self.mix_slider, self.mix_combo, self.save_mix_button):
            widget.setEnabled(ready)
        self.set_a_button.setText("Set A ✓" if self._a is not None else "Set A")
        self.set_b_button.setText("Set B ✓" if self._b is not None else "Set B")

    def _on_mix(self) -> None:
        w = self.mix_slider.value() / 100
        self.mix_label.setText(f"w {w:.2f}")
        if self._a is not None and self._b is not None:
            self.mixed.emit(mix(self._a, self._b, w, self.mix_combo.currentData()))
