"""The Sketch tab: draw your own digit and watch the model read it.

Left, a canvas at the model's image size (28 x 28 for MNIST models) drawn on with the mouse: the
left button paints with the pen width chosen (or erases, with Eraser on), the right button always
erases; Clear empties it, "Load image…" puts an image file on it (centre-cropped, resized, greyscale
for 1-channel models, dark-on-light inverted to MNIST's light-on-dark). Right, the model's reading
of the drawing in a GlimpseView: the read and write boxes glimpse by glimpse, the reconstruction
forming, and the per-glimpse KL (what was hard to encode). Above it the NLL bound of the drawing:
how "digit-like" the model finds it.

The maths is core.reconstruct.read_image: the bound is the mean over 8 fixed-noise draws (the same
eps every time, so the number only moves when the drawing does); the glimpses and the posterior
means are the mean path's (z_t = mu_t). The reading runs on the GUI thread (about 50 ms for the
paper's T = 64 MNIST model on one CPU core): while drawing, at most once every READ_INTERVAL_MS,
and at once on "Read". "Use as latent anchor A / B" emits anchor_requested(which, means (T, Z)).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from core.reconstruct import DEFAULT_SAMPLES, Reading, load_image_file, paint_segment, read_image  # torch: lazy
from draw_gui.glimpses.view import GlimpseView

READ_INTERVAL_MS = 150          # while drawing, the model reads the drawing at most this often
DEFAULT_PEN_WIDTH = 2.5         # pixels of the model's image: about an MNIST stroke
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


class DrawingCanvas(QWidget):
    """An image of the model's shape (C, H, W) in [0, 1], shown as large as fits, drawn on with the
    mouse. `changed` is emitted after every change of its pixels."""

    changed = Signal()

    def __init__(self, shape=(1, 28, 28), parent=None):
        super().__init__(parent)
        self.setAccessibleName("drawing canvas")
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.pen_width = DEFAULT_PEN_WIDTH
        self.eraser = False
        self._pixels = np.zeros(tuple(shape), np.float32)
        self._last: tuple[float, float] | None = None
        self._erasing = False
        self.setToolTip("Draw with the left mouse button; the right button erases")

    # ---------------------------------------------------------------- pixels
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self._pixels.shape)

    def pixels(self) -> np.ndarray:
        """A copy of the drawing, (C, H, W) float32 in [0, 1]."""
        return self._pixels.copy()

    def set_shape(self, shape) -> None:
        """A model of another image shape: an empty canvas of that shape."""
        if tuple(shape) != self.shape:
            self._pixels = np.zeros(tuple(shape), np.float32)
            self._changed()

    def set_pixels(self, pixels: np.ndarray) -> None:
        a = np.asarray(pixels, np.float32)
        if a.ndim == 2:
            a = a[None]
        if a.shape != self.shape:
            raise ValueError(f"the drawing is {self.shape}, not {a.shape}")
        self._pixels = np.clip(a, 0, 1).copy()
        self._changed()

    def clear(self) -> None:
        self._pixels[:] = 0
        self._changed()

    def is_empty(self) -> bool:
        return not self._pixels.any()

    def stroke(self, p0, p1, erase: bool = False) -> None:
        """Paint (or erase) the segment p0 -> p1 in image pixel coordinates (the image spans [0, W] x [0, H])."""
        paint_segment(self._pixels, p0, p1, self.pen_width, erase)
        self._changed()

    def _changed(self) -> None:
        self.update()
        self.changed.emit()

    # ---------------------------------------------------------------- geometry
    def image_rect(self) -> QRectF:
        """Where the image is drawn in the widget: as large as fits, centred, aspect kept."""
        _, h, w = self.shape
        scale = max(min(self.width() / w, self.height() / h), 1e-6)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        r = self.image_rect()
        _, h, w = self.shape
        return (pos.x() - r.x()) * w / r.width(), (pos.y() - r.y()) * h / r.height()

    def to_widget(self, x: float, y: float) -> QPointF:
        """The widget point over image point (x, y) (pixel units): what tests click at."""
        r = self.image_rect()
        _, h, w = self.shape
        return QPointF(r.x() + x * r.width() / w, r.y() + y * r.height() / h)

    # ---------------------------------------------------------------- mouse
    def mousePressEvent(self, event) -> None:
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        self._erasing = self.eraser or event.button() == Qt.MouseButton.RightButton
        self._last = self.to_image(event.position())
        self.stroke(self._last, self._last, self._erasing)
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._last is None:
            return super().mouseMoveEvent(event)
        point = self.to_image(event.position())
        self.stroke(self._last, point, self._erasing)
        self._last = point
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        self._last = None
        event.accept()

    # ---------------------------------------------------------------- painting
    def qimage(self) -> QImage:
        a = self._pixels
        rgb = np.repeat(a[:1], 3, 0) if a.shape[0] == 1 else a[:3]
        data = np.ascontiguousarray((rgb.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8))
        h, w = data.shape[:2]
        return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(60, 60, 60))
        r = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(r, self.qimage())
        painter.setPen(QPen(QColor(120, 120, 120), 1))
        painter.drawRect(r.adjusted(-1, -1, 0, 0))


class SketchView(QWidget):
    """Draw an image; the model reads it (see the module docstring)."""

    anchor_requested = Signal(str, object)   # "A" or "B", posterior means (T, Z) float32 of the drawing
    read_done = Signal(object)                # core.reconstruct.Reading of the drawing

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("sketch")
        self._model = None
        self._reading: Reading | None = None
        self._stale = True               # the drawing changed since the last reading
        self._due = False                # a reading waits for the tab to be shown
        self.settings = None             # the window's settings (save dialogs of the GlimpseView)

        self.canvas = DrawingCanvas()
        self.canvas.changed.connect(self._on_changed)
        self.pen_spin = QDoubleSpinBox(prefix="pen ", suffix=" px")
        self.pen_spin.setRange(0.5, 12.0)
        self.pen_spin.setSingleStep(0.5)
        self.pen_spin.setValue(DEFAULT_PEN_WIDTH)
        self.pen_spin.setToolTip("Pen (and eraser) width in pixels of the model's image")
        self.pen_spin.valueChanged.connect(lambda v: setattr(self.canvas, "pen_width", float(v)))
        self.eraser_button = QPushButton("Eraser")
        self.eraser_button.setCheckable(True)
        self.eraser_button.setToolTip("The left button erases (the right button always does)")
        self.eraser_button.toggled.connect(lambda on: setattr(self.canvas, "eraser", bool(on)))
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Empty the canvas")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.load_button = QPushButton("Load image…")
        self.load_button.setToolTip("Put an image file on the canvas: centre-cropped to a square, resized to the "
                                    "model's size, greyscale for a greyscale model; dark ink on a light background "
                                    "is inverted to light on dark, as MNIST is")
        self.load_button.clicked.connect(self._ask_image)
        self.live_checkbox = QCheckBox("read while drawing")
        self.live_checkbox.setChecked(True)
        self.live_checkbox.setToolTip(f"The model reads the drawing as you draw (at most every {READ_INTERVAL_MS} ms)")
        self.binarize_checkbox = QCheckBox("binarize")
        self.binarize_checkbox.setToolTip("Threshold the drawing at 0.5 before the model reads it (the form "
                                          "binarized-MNIST models were trained on); off: grey pixels as they are")
        self.binarize_checkbox.toggled.connect(lambda _: self._on_changed())
        self.read_button = QPushButton("Read")
        self.read_button.setToolTip("Let the model read the drawing now and play its glimpses")
        self.read_button.clicked.connect(self.read_and_play)
        self.anchor_a_button = QPushButton("Use as latent anchor A")
        self.anchor_b_button = QPushButton("Use as latent anchor B")
        for which, b in (("A", self.anchor_a_button), ("B", self.anchor_b_button)):
            b.setToolTip(f"The drawing's posterior means (z_t = mu_t, T x Z) become the Latent tab's "
                         f"interpolation end {which}: morph your drawing into a sample")
            b.clicked.connect(lambda _=False, w=which: self.request_anchor(w))
        self.bound_label = QLabel()
        self.bound_label.setWordWrap(True)
        self.bound_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bound_label.setToolTip(
            "<p>The negative log-likelihood bound L<sup>x</sup> + L<sup>z</sup> of the drawing, in nats: low when "
            f"the model finds it like its training images. The mean over {DEFAULT_SAMPLES} fixed draws of the noise "
            "(the same every time, so it moves only when the drawing does); the KL bars below show what each "
            "glimpse cost to encode.</p>")
        self.glimpse_view = GlimpseView()
        self.glimpse_view.canvas.set_placeholder("Draw on the canvas at the left")
        self.glimpse_view.canvas.describe()
        self.glimpse_view.refresh_button.setToolTip("Read the drawing again")
        self.glimpse_view.refresh_requested.connect(self.read)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(READ_INTERVAL_MS)
        self._timer.timeout.connect(self.read)

        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        tools = QHBoxLayout()
        for w in (self.pen_spin, self.eraser_button, self.clear_button, self.load_button):
            tools.addWidget(w)
        left.addLayout(tools)
        reading = QHBoxLayout()
        for w in (self.live_checkbox, self.binarize_checkbox, self.read_button):
            reading.addWidget(w)
        left.addLayout(reading)
        anchors = QHBoxLayout()
        anchors.addWidget(self.anchor_a_button)
        anchors.addWidget(self.anchor_b_button)
        left.addLayout(anchors)
        right = QVBoxLayout()
        right.addWidget(self.bound_label)
        right.addWidget(self.glimpse_view, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)
        self._enable()

    # ---------------------------------------------------------------- the model
    def set_model(self, model_or_weights) -> None:
        """A core.model.DRAW (used as it is, in eval mode) or a workers.training.ModelWeights (config +
        CPU state dict: built into a CPU model here, reused while the config stays the same)."""
        if model_or_weights is None:
            self._model = None
        elif hasattr(model_or_weights, "load_into"):     # workers.training.ModelWeights
            self._model = model_or_weights.load_into(self._model)
        else:
            self._model = model_or_weights.eval()
        if self._model is not None:
            self.canvas.set_shape(self._model.config.image_shape)
        self._reading = None
        self._stale = True
        self._enable()
        if self._model is None:
            self.glimpse_view.set_trace(None)
        elif self.isVisible():
            self.read()
        else:
            self._due = True

    set_weights = set_model   # the slot the window connects TrainingWorker.weights to, as for the Latent tab

    def model(self):
        return self._model

    def reading(self) -> Reading | None:
        """The last reading (of the drawing as it was then; see is_stale)."""
        return self._reading

    def is_stale(self) -> bool:
        return self._stale

    # ---------------------------------------------------------------- reading
    def read(self) -> Reading | None:
        """Let the model read the drawing now; None without a model."""
        self._timer.stop()
        self._due = False
        if self._model is None:
            return None
        reading = read_image(self._model, self.canvas.pixels(), binarize=self.binarize_checkbox.isChecked())
        self._reading, self._stale = reading, False
        self.glimpse_view.set_trace(reading.trace)
        self.bound_label.setText(self.bound_text(reading))
        self._enable()
        self.read_done.emit(reading)
        return reading

    def read_and_play(self) -> None:
        if self.read() is not None:
            self.glimpse_view.set_t(1)
            self.glimpse_view.timeline.play_button.setChecked(True)

    @staticmethod
    def bound_text(reading: Reading) -> str:
        return (f"NLL bound {reading.bound:.1f} nats  (Lx {reading.recon:.1f} + Lz {reading.kl.sum():.1f}; "
                f"mean of {reading.samples} fixed-noise samples, sd {reading.bound_std:.1f})")

    def request_anchor(self, which: str) -> None:
        """Emit anchor_requested(which, means) for the drawing as it is now (read first if it changed)."""
        reading = self._reading if not self._stale else self.read()
        if reading is not None:
            self.anchor_requested.emit(which, reading.means.copy())

    def load_image(self, path) -> None:
        """Put an image file on the canvas (OSError, or PIL's error, for a file that is not an image)."""
        self.canvas.set_pixels(load_image_file(path, self.canvas.shape))

    def _ask_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load an image onto the canvas", "", IMAGE_FILTER)
        if not path:
            return
        try:
            self.load_image(path)
        except Exception as e:  # noqa: BLE001  (any unreadable file: said in the label, the drawing stays)
            self.bound_label.setText(f"Could not load {path}: {e}")

    def _on_changed(self) -> None:
        self._stale = True
        if self._model is not None and self.live_checkbox.isChecked() and not self._timer.isActive():
            self._timer.start()     # not restarted by later changes: a reading every interval while drawing

    def _enable(self) -> None:
        ready = self._model is not None
        for w in (self.read_button, self.anchor_a_button, self.anchor_b_button):
            w.setEnabled(ready)
        if not ready:
            self.bound_label.setText("No model yet: open or train one, then draw here")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._due:
            self.read()

    def shutdown(self) -> None:
        self._timer.stop()
        self.glimpse_view.timeline.play_button.setChecked(False)
