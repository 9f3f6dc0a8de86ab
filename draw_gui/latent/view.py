"""The Latent tab: move through DRAW's latent space and watch the sample redraw as you move.

A latent is a T x Z tensor, one z_t per glimpse (eq. 13). The tab edits it with sliders (a shift
of dimension i added to every glimpse's z_t, or the z of one glimpse t), a 2-D pad, an interpolation between two
latents and a draggable write box, and shows the sample, its drawing process and a grid of
samples. Every decode goes to a LatentDecoder in its own thread; the tab only keeps the latent
it is showing and drops results older than the newest one shown.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QGridLayout, QGroupBox, QLabel, QScrollArea,
                               QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from core.export import image_grid
from draw_gui.widgets import saving
from draw_gui.glimpses.history import HistoryStrip
from draw_gui.latent.decoder import DecodeKind, DecodeRequest, DecodeResult, LatentDecoder, on_pad, prior_latent
from draw_gui.latent.drawing import GIF_SCALE, PNG_SCALE, DrawingProcess
from draw_gui.latent.interpolation import InterpolationBox
from draw_gui.latent.pad import LatentPad, PixelImage, SliderPanel, button, image_to_qimage, row, to_qimage
from draw_gui.workers.messages import Failure

if TYPE_CHECKING:
    from core.config import DrawConfig
    from core.trace import GlimpseTrace
    from draw_gui.workers.training import ModelWeights

PLACEHOLDER = "Start training or open a checkpoint to explore its latent space"
GRID_SIDE = 8                       # the sample grid is GRID_SIDE x GRID_SIDE
DRAWING_HZ = 30
# Where the panels go: (row, column, row span, column span) of the latent box, sample, pad, drawing
# process, interpolation and sample grid, for 4 columns and, in a tab narrower than WIDE_PX, for 2.
PLACES = {4: ((0, 0, 2, 1), (0, 1, 1, 1), (0, 2, 1, 1), (0, 3, 1, 1), (1, 1, 1, 1), (1, 2, 1, 2)),
          2: ((0, 0, 2, 1), (0, 1, 1, 1), (1, 1, 1, 1), (2, 0, 1, 1), (3, 0, 1, 2), (2, 1, 1, 1))}
WIDE_PX = 900
PAD_AXES = {"dims": "dimensions z_i, z_j", "random": "random directions", "principal": "principal directions"}


class LatentView(QWidget):
    """The latent explorer; feed it worker.ModelWeights through set_weights."""

    shown = Signal(object)          # the DecodeKind now on screen (it equals its value, "image", ...)
    failed = Signal(object)         # messages.Failure: a decode failed (the window's status bar says so)

    def __init__(self, settings=None, parent=None):
        super().__init__(parent)
        self.setAccessibleName("latent explorer")
        self.settings = settings
        self.decoder: LatentDecoder | None = None     # started with the first weights
        self._config: DrawConfig | None = None
        self._latent: np.ndarray | None = None        # (T, Z) float32, what the sample shows
        self._shift: np.ndarray | None = None         # (Z,) what "all glimpses" added to every z_t
        self._writes: dict[int, tuple[float, float, float]] = {}  # {t: (g_x, g_y, delta)} write boxes moved by hand
        self._directions: np.ndarray | None = None    # the pad's two directions (2, T, Z) ...
        self._anchor: np.ndarray | None = None        # ... and their origin (T, Z)
        self._image: np.ndarray | None = None
        self._trace: GlimpseTrace | None = None
        self._grid: np.ndarray | None = None
        self._latest: dict[DecodeKind, int] = {}      # kind -> newest request id submitted ...
        self._shown: dict[DecodeKind, int] = {}       # ... and shown
        self._grid_seed, self._direction_seed = 0, 0
        self._grid_stale = False
        self._drawing_due = False                     # a trace waits to be shown in the drawing process
        self._drawing_cooldown = QTimer(self, singleShot=True, interval=1000 // DRAWING_HZ)
        self._drawing_cooldown.timeout.connect(self._refresh_drawing)
        self._build()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.mode_combo = QComboBox()
        # "All glimpses" shifts every z_t by the same amount rather than setting them all to one
        # value: a random latent has a different z_t per glimpse (eq. 13), and the shift is what
        # the sliders can truly show (its mean over glimpses is near 0 and means nothing). From
        # Zero, the shift is the z every glimpse uses.
        self.mode_combo.addItem("all glimpses: shift z", "shared")
        self.mode_combo.addItem("z of glimpse t", "glimpse")
        self.mode_combo.setToolTip("What the sliders show and set: a shift added to dimension i of every "
                                   "glimpse's z_t (0 after Randomize or Zero; from Zero it is the z every "
                                   "glimpse uses), or the values of z_t for the chosen glimpse t (the other "
                                   "glimpses keep theirs)")
        self.glimpse_spin = QSpinBox(prefix="t ")
        self.glimpse_spin.setToolTip("The glimpse t whose z_t the sliders show and set")
        self.randomize_button = button("Randomize", "Draw a whole new latent z_1..z_T from the prior "
                                       "N(0, I) (eq. 13); the same seed gives the same latent", self.randomize)
        self.zero_button = button("Zero", "Set every z_t to 0, the prior's mean", self.zero)
        self.lock_seed = QCheckBox("lock seed")
        self.lock_seed.setToolTip("Randomize draws the latent of this seed every time; unlocked, each "
                                  "press picks a new seed and shows it here")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.sliders = SliderPanel()
        latent_box = QGroupBox("Latent z")
        box = QVBoxLayout(latent_box)
        box.addLayout(row(self.mode_combo, self.glimpse_spin))
        box.addLayout(row(self.randomize_button, self.zero_button))
        box.addLayout(row(self.lock_seed, self.seed_spin, stretch_at=2))
        box.addWidget(self.sliders, 1)
        latent_box.setMaximumWidth(280)

        self.sample = PixelImage(minimum=100)
        self.sample.setToolTip("<p>The sample σ(c<sub>T</sub>) DRAW draws from this latent (eq. 13-15)</p>")
        self.step_label = QLabel()
        self.step_label.setStyleSheet("color: grey;")
        self.save_sample_button = button("Save PNG…", "Save this sample as a PNG", self.save_sample_png)
        sample_box = QGroupBox("Sample: the final canvas")
        box = QVBoxLayout(sample_box)
        box.addWidget(self.sample, 1)
        box.addLayout(row(self.step_label, self.save_sample_button, stretch_at=1))

        self.pad = LatentPad()
        self.pad.setToolTip("Drag the point: x and y set the two chosen latent coordinates "
                            "(−3..3), and the sample redraws while the mouse moves")
        self.axes_combo = QComboBox()
        for key, text in PAD_AXES.items():
            self.axes_combo.addItem(text, key)
        self.axes_combo.setToolTip("What the pad's axes move: two dimensions z_i and z_j (in every glimpse "
                                   "or in glimpse t, as the sliders), two random directions in the T×Z "
                                   "latent, or the two principal directions of the worker's test examples' "
                                   "posterior means (±3 = ±3 standard deviations)")
        self.x_spin, self.y_spin = QSpinBox(prefix="x z_"), QSpinBox(prefix="y z_")
        self.x_spin.setToolTip("The latent dimension i the pad's x axis sets")
        self.y_spin.setToolTip("The latent dimension j the pad's y axis sets")
        self.new_directions_button = button("New", "Draw two other random directions", self._new_directions)
        pad_box = QGroupBox("2-D pad")
        box = QVBoxLayout(pad_box)
        box.addWidget(self.pad, 1)
        box.addWidget(self.axes_combo)
        box.addLayout(row(self.x_spin, self.y_spin, self.new_directions_button))

        self.drawing = DrawingProcess(self.settings)

        self.interpolation = InterpolationBox(lambda: self._latent, self._slider_glimpse)

        self.grid = PixelImage(minimum=100)
        self.grid.title = f"Samples ({GRID_SIDE * GRID_SIDE})"
        self.grid.setToolTip(f"{GRID_SIDE * GRID_SIDE} samples, each from its own latent drawn from the prior")
        self.new_grid_button = button("New samples", "Draw the grid again from new latents", self.new_grid)
        self.save_grid_button = button("Save PNG…", "Save the grid as a PNG", self.save_grid_png)
        # Training replayed: the same 16 fixed-noise samples at each step the run recorded
        self.history = HistoryStrip(samples_only=True)
        self.history.settings = self.settings
        self.history.hide()
        self.history_checkbox = QCheckBox("training history")
        self.history_checkbox.setToolTip("Show the run's samples from fixed noise at each recorded step of "
                                         "training, with a slider, instead of the grid")
        self.history_checkbox.toggled.connect(self._show_history)
        grid_box = QGroupBox("Samples")
        box = QVBoxLayout(grid_box)
        box.addWidget(self.grid, 1)
        box.addWidget(self.history, 1)
        box.addLayout(row(self.new_grid_button, self.save_grid_button, stretch_at=1))
        box.addWidget(self.history_checkbox)

        content = QWidget()
        self._grid_layout = QGridLayout(content)
        self._grid_layout.setContentsMargins(4, 4, 4, 4)
        self._panels = (latent_box, sample_box, pad_box, self.drawing, self.interpolation, grid_box)
        self._columns = 0
        self._arrange(4)
        self.placeholder = QLabel(PLACEHOLDER, alignment=Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: grey;")
        # The panels never push the window wider than the screen: narrower than WIDE_PX (1024
        # wide with the Run panel open) they stand in two columns, and scroll rather than shrink.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(scroll)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        self.mode_combo.currentIndexChanged.connect(lambda: self._show_latent())
        self.glimpse_spin.valueChanged.connect(lambda: self._show_latent())
        self.sliders.value_changed.connect(self._on_slider)
        self.pad.moved.connect(self._on_pad)
        self.axes_combo.currentIndexChanged.connect(self._on_axes)
        self.x_spin.valueChanged.connect(self._on_axes)
        self.y_spin.valueChanged.connect(self._on_axes)
        self.drawing.box_changed.connect(self._on_box)
        self.drawing.reset_requested.connect(self.reset_boxes)
        self.interpolation.mixed.connect(lambda latent: self._change(latent, "mix"))
        self.interpolation.frames_requested.connect(
            lambda latents, name: self._submit(DecodeRequest(DecodeKind.FRAMES, latents=latents, purpose=name)))

    def _arrange(self, columns: int) -> None:
        """Place the panels in PLACES[columns] (4 side by side, or 2 in a narrow tab)."""
        if columns == self._columns:
            return
        layout = self._grid_layout
        for panel in self._panels:
            layout.removeWidget(panel)
        for panel, place in zip(self._panels, PLACES[columns]):
            layout.addWidget(panel, *place)
        for column in range(4):   # the latent box keeps its width; the image panels share the rest
            layout.setColumnStretch(column, 1 if 0 < column < columns else 0)
        for line, stretch in enumerate((1, 1, 0, 0) if columns == 4 else (1, 1, 1, 1)):
            layout.setRowStretch(line, stretch)
        self._columns = columns

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(4 if self.width() >= WIDE_PX else 2)

    # ------------------------------------------------------------------ public API
    @Slot(object)
    def set_weights(self, weights: ModelWeights) -> None:
        """New weights: redraw what is shown with them."""
        if self.decoder is None:
            self.decoder = LatentDecoder()
            self.decoder.decoded.connect(self._on_decoded)
            self.decoder.failed.connect(self._on_failed)
        if weights.config != self._config:
            self._configure(weights.config)
        self.decoder.set_weights(weights)
        self.step_label.setText(f"model at step {weights.step:,}")
        self._submit_image()
        self._submit_grid()
        if self.axes_combo.currentData() != "dims" and self._directions is None:
            self._on_axes()

    def latent(self) -> np.ndarray | None:
        return None if self._latent is None else self._latent.copy()

    def image(self) -> np.ndarray | None:
        """The sample on screen, (C, H, W) in [0, 1]."""
        return self._image

    def trace(self) -> GlimpseTrace | None:
        return self._trace

    def grid_images(self) -> np.ndarray | None:
        return self._grid

    def latest_request(self, kind: DecodeKind | str = DecodeKind.IMAGE) -> int:
        """The id of the newest decode of this kind asked for (0: none yet)."""
        return self._latest.get(kind, 0)

    def up_to_date(self) -> bool:
        """Every request made so far has been decoded and shown."""
        return not self._drawing_due and all(self._shown.get(kind, 0) >= i for kind, i in self._latest.items())

    def shutdown(self) -> None:
        self.drawing.play_timer.stop()
        if self.decoder is not None:
            self.decoder.shutdown()

    # ------------------------------------------------------------------ the latent
    def _configure(self, config: DrawConfig) -> None:
        T, Z = config.glimpses, config.z_size
        self._config = config
        self._latent = np.zeros((T, Z), np.float32)
        self._shift = np.zeros(Z, np.float32)
        self._directions = None
        self._writes.clear()
        self.sliders.set_count(Z)
        self.glimpse_spin.setRange(1, T)
        for spin in (self.x_spin, self.y_spin):
            spin.setRange(0, Z - 1)
        self.y_spin.setValue(min(1, Z - 1))
        self.drawing.set_trace(None, glimpses=T)
        self.interpolation.reset(Z)
        self.stack.setCurrentIndex(1)
        self._show_latent()

    def _slider_glimpse(self) -> int | None:
        """The glimpse whose z_t the sliders set, or None when they set every glimpse's."""
        return None if self.mode_combo.currentData() == "shared" else self.glimpse_spin.value() - 1

    def _change(self, latent: np.ndarray, source: str) -> None:
        self._latent = latent
        if source not in ("sliders", "pad dims"):
            self._shift = np.zeros_like(self._shift)   # a new latent (Randomize, Zero, a mix, a direction)
        self._submit_image()               # first, so the decoder works while the controls follow
        if not source.startswith("pad") and self.axes_combo.currentData() != "dims":
            self._anchor = latent          # the pad's directions now start from here
            self.pad.set_point(0.0, 0.0)
        self._show_latent(source)

    def _show_latent(self, source: str = "") -> None:
        if self._latent is None:
            return
        self.glimpse_spin.setEnabled(self.mode_combo.currentData() == "glimpse")
        glimpse = self._slider_glimpse()
        shown = self._shift if glimpse is None else self._latent[glimpse]
        self.sliders.set_values(shown)
        if not source.startswith("pad") and self.axes_combo.currentData() == "dims":
            self.pad.set_point(shown[self.x_spin.value()], shown[self.y_spin.value()])

    def _set(self, latent: np.ndarray, dim: int, value: float) -> None:
        """Dimension `dim` in the sliders' scope: glimpse t's z_t,dim = value, or (all glimpses)
        every z_t,dim shifted so that the shift is `value`."""
        glimpse = self._slider_glimpse()
        if glimpse is None:
            latent[:, dim] += np.float32(value) - self._shift[dim]
            self._shift[dim] = value
        else:
            latent[glimpse, dim] = value

    def _on_slider(self, dim: int, value: float) -> None:
        latent = self._latent.copy()
        self._set(latent, dim, value)
        self._change(latent, "sliders")

    def _on_pad(self, x: float, y: float) -> None:
        if self._latent is None:
            return
        if self.axes_combo.currentData() == "dims":
            latent = self._latent.copy()
            self._set(latent, self.x_spin.value(), x)
            self._set(latent, self.y_spin.value(), y)
            self._change(latent, "pad dims")
        elif self._directions is not None:
            self._change(on_pad(self._anchor, self._directions, x, y), "pad")
        # else: directions still on their way

    def _on_axes(self) -> None:
        kind = self.axes_combo.currentData()
        for spin in (self.x_spin, self.y_spin):
            spin.setEnabled(kind == "dims")
        self.new_directions_button.setEnabled(kind == "random")
        self._directions = None
        if kind == "dims":
            self.pad.set_labels(f"z {self.x_spin.value()}", f"z {self.y_spin.value()}")
            self._show_latent()
            return
        name = "PC" if kind == "principal" else "random"
        self.pad.set_labels(f"{name} 1", f"{name} 2")
        if self.decoder is not None and self._config is not None:
            self._submit(DecodeRequest(DecodeKind.DIRECTIONS, method=kind, seed=self._direction_seed))

    def _new_directions(self) -> None:
        self._direction_seed += 1
        self._on_axes()

    def randomize(self) -> None:
        if self._config is None:
            return
        if not self.lock_seed.isChecked():
            self.seed_spin.setValue(random.randrange(2**31))
        self._change(prior_latent(self._config.glimpses, self._config.z_size, self.seed_spin.value()), "")

    def zero(self) -> None:
        if self._latent is not None:
            self._change(np.zeros_like(self._latent), "")

    def _on_box(self, t: int, g_x: float, g_y: float, delta: float) -> None:
        self._writes[t] = (g_x, g_y, delta)
        self._submit_image()

    def reset_boxes(self) -> None:
        self._writes.clear()
        self._submit_image()

    def _show_history(self, on: bool) -> None:
        self.history.setVisible(on)
        for widget in (self.grid, self.new_grid_button, self.save_grid_button):
            widget.setVisible(not on)

    def new_grid(self) -> None:
        self._grid_seed += 1
        self._submit_grid()

    # ------------------------------------------------------------------ decoding
    def _submit(self, request: DecodeRequest) -> None:
        if self.decoder is not None:
            self._latest[request.kind] = self.decoder.submit(request)

    def _submit_image(self) -> None:
        if self._latent is not None:
            self._submit(DecodeRequest(DecodeKind.IMAGE, latents=self._latent, trace=True,
                                       write_glimpse=dict(self._writes) or None))

    def _submit_grid(self) -> None:
        # A hidden tab need not keep a grid of 64 samples fresh while training; showEvent catches up.
        self._grid_stale = not self.isVisible()
        if not self._grid_stale:
            self._submit(DecodeRequest(DecodeKind.GRID, seed=self._grid_seed, count=GRID_SIDE * GRID_SIDE))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._grid_stale:
            self._submit_grid()

    @Slot(object)
    def _on_failed(self, failure: Failure) -> None:
        self.step_label.setText("could not decode")
        self.step_label.setToolTip(failure.text())
        self.failed.emit(failure)

    @Slot(object)
    def _on_decoded(self, result: DecodeResult) -> None:
        if result.id < self._shown.get(result.kind, 0):
            return                        # an older decode overtaken by a newer one on screen
        self._shown[result.kind] = result.id
        if result.kind is DecodeKind.IMAGE:
            self._image, self._trace = result.image, result.trace
            self.sample.set_image(image_to_qimage(result.image), result.id)
            self._drawing_due = True
            if not self._drawing_cooldown.isActive():
                QTimer.singleShot(0, self, self._refresh_drawing)   # after the sample's paint; never once closed
        elif result.kind is DecodeKind.GRID:
            self._grid = result.images
            self.grid.set_image(to_qimage(np.asarray(image_grid(result.images, GRID_SIDE))), result.id)
        elif result.kind is DecodeKind.DIRECTIONS and result.request.method == self.axes_combo.currentData():
            self._directions, self._anchor = result.directions, self._latent
            self.pad.set_point(0.0, 0.0)
        elif result.kind is DecodeKind.FRAMES:
            frames = [image_grid(image[None], per_row=1, scale=GIF_SCALE, padding=0) for image in result.images]
            saving.save_gif(self, self.settings, frames, result.request.purpose, frame_ms=100)
        self.shown.emit(result.kind)

    def _refresh_drawing(self) -> None:
        """The drawing process follows the sample at most DRAWING_HZ times a second while it changes
        fast: the sample matters most under the mouse, and the panel costs the GUI thread time."""
        if self._drawing_due:
            self._drawing_due = False
            self.drawing.set_trace(self._trace, self._shown[DecodeKind.IMAGE])
            self._drawing_cooldown.start()

    # ------------------------------------------------------------------ saving
    def save_sample_png(self) -> None:
        if self._image is not None:
            image = image_grid(self._image[None], per_row=1, scale=PNG_SCALE, padding=0)
            saving.save_png(self, self.settings, image, "latent-sample.png")

    def save_grid_png(self) -> None:
        if self._grid is not None:
            # Zoom 4: 8 MNIST digits make a 905-pixel grid, wide enough to read on a slide.
            saving.save_png(self, self.settings, image_grid(self._grid, GRID_SIDE, scale=4), "latent-grid.png")
