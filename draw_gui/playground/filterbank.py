"""The Filterbank tab: drag a Gaussian glimpse over an image and see what the model's read sees.

Left the image with the read box N delta wide and the N x N filter centres: drag inside the box
(or anywhere away from its edge) to move the centre (g_X, g_Y), drag an edge or turn the wheel to
change delta. Sliders set sigma^2, gamma and N. Right the read patch (eq. 27), its write-back onto
an empty canvas (eq. 29) and the filters F_X, F_Y as images and curves (eq. 25-26). The numbers
and pictures are draw_gui.playground's, i.e. core.attention.filterbank's: what the model trains with.

The image is a test digit of the embedded MNIST sample, an image file, or whatever the window
passes to set_image (the model's current canvas, say).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QScrollArea, QSlider, QSpinBox, QVBoxLayout, QWidget)

from draw_gui import playground as pg

EDGE_GRAB = 4            # screen pixels either side of the box's edge that grab the edge
WHEEL_STEP = 1.1         # delta is multiplied by this per wheel notch
LOG_STEPS = 100          # slider ticks per factor of 10 on the log sliders
SIGMA2_RANGE = (0.01, 100.0)
GAMMA_RANGE = (0.1, 10.0)
PICTURE_SPACING = 8      # screen pixels between the pictures and around them


def _qimage(picture) -> QImage:
    rgb = np.ascontiguousarray(np.asarray(picture.convert("RGB")))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class GlimpseCanvas(QWidget):
    """The image with the glimpse box, at a whole-number zoom `scale` from the top-left corner.
    Reports drags as centre moves and edge drags and wheel turns as new strides."""

    centre_moved = Signal(float, float)     # g_x, g_y in paper pixels
    delta_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.scale = 1
        self._image = QImage()
        self._glimpse: pg.Glimpse | None = None
        self._drag = None                   # ("centre", press point, g at press) or ("edge", ...)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setToolTip("Drag to move the glimpse centre (g_X, g_Y); drag the box's edge or turn the wheel "
                        "to change the stride δ")
        self.setAccessibleName("glimpse on the image")

    def show_picture(self, picture, glimpse: pg.Glimpse, scale: int) -> None:
        self._image = _qimage(picture)
        self._glimpse = glimpse
        self.scale = scale
        self.setFixedSize(self._image.width(), self._image.height())
        self.update()

    def picture(self) -> QImage:
        return self._image

    def paintEvent(self, event):
        if not self._image.isNull():
            QPainter(self).drawImage(0, 0, self._image)

    def _paper(self, pos: QPointF) -> tuple[float, float]:
        return pg.from_panel(pos.x(), self.scale), pg.from_panel(pos.y(), self.scale)

    def on_edge(self, pos: QPointF) -> bool:
        """Whether the screen point `pos` is within EDGE_GRAB pixels of the box's outline."""
        if self._glimpse is None:
            return False
        x0, y0, x1, y1 = pg.box_pixels(self._glimpse, self.scale)
        x, y = pos.x(), pos.y()
        near_x = min(abs(x - x0), abs(x - x1)) <= EDGE_GRAB and y0 - EDGE_GRAB <= y <= y1 + EDGE_GRAB
        near_y = min(abs(y - y0), abs(y - y1)) <= EDGE_GRAB and x0 - EDGE_GRAB <= x <= x1 + EDGE_GRAB
        return near_x or near_y

    def mousePressEvent(self, event):
        if event.button() != Qt.LeftButton or self._glimpse is None:
            return super().mousePressEvent(event)
        pos = event.position()
        self._drag = ("edge" if self.on_edge(pos) else "centre", pos, self._glimpse)
        event.accept()

    def mouseMoveEvent(self, event):
        pos = event.position()
        if self._drag is None:
            self.setCursor(Qt.SizeFDiagCursor if self.on_edge(pos) else Qt.OpenHandCursor)
            return
        kind, start, g = self._drag
        if kind == "centre":
            self.centre_moved.emit(g.gx + (pos.x() - start.x()) / self.scale, g.gy + (pos.y() - start.y()) / self.scale)
        else:   # the edge follows the mouse: half the side N delta is the distance from the centre
            x, y = self._paper(pos)
            half = max(abs(x - g.gx), abs(y - g.gy))
            self.delta_changed.emit(max(2 * half / g.N, 1e-3))
        event.accept()

    def mouseReleaseEvent(self, event):
        self._drag = None
        event.accept()

    def wheelEvent(self, event):
        if self._glimpse is None:
            return
        notches = event.angleDelta().y() / 120
        if notches:
            self.delta_changed.emit(self._glimpse.delta * WHEEL_STEP ** notches)
        event.accept()


def _log_slider(low: float, high: float) -> QSlider:
    s = QSlider(Qt.Horizontal)
    s.setRange(round(math.log10(low) * LOG_STEPS), round(math.log10(high) * LOG_STEPS))
    return s


def _digit_count() -> int:
    """How many test digits the embedded MNIST sample offers (0 when it cannot be read)."""
    try:
        return pg.mnist_digit_count()
    except Exception:   # a damaged installation: the playground still works on image files
        return 0


class FilterbankPlayground(QWidget):
    """The filterbank playground. set_image / set_params / params() / panels() drive and read it."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        # Test digit 0 and the first panels come when the tab is first shown (or first asked for):
        # the embedded sample and the filterbank need torch, which the window must not wait for.
        self._image = np.zeros((1, 28, 28), np.float32)
        self._started = False
        self._glimpse = pg.default_glimpse(28, 28)
        self._panels: pg.Panels | None = None
        self.setAccessibleName("Filterbank playground")
        self.settings = None       # the window's Settings (get/set: remembers the image folder), when it sets one
        # The Glimpses tab's canvas at its t, (C, H, W) in [0, 1], or None: the window sets this
        self.model_canvas = None
        self.palette_name = None   # core.export box colours (None: the default)

        # --- the image to look at
        self.source = QComboBox()
        self.source.addItems(["Test digit", "Image file…", "Model's canvas"])
        self.source.setToolTip("What to look at: a test digit of the embedded MNIST sample, an image file, or "
                               "the canvas the Glimpses tab shows (its first example at its glimpse t)")
        self.source.activated.connect(self._on_source)
        self.digit = QSpinBox()
        self.digit.setRange(0, 0)   # the embedded sample's size once started
        self.digit.setPrefix("k = ")
        self.digit.setToolTip("Which test digit of the embedded MNIST sample")
        self.digit.valueChanged.connect(lambda k: self._load_digit(k))
        self.source_label = QLabel("test digit 0")
        self.source_label.setWordWrap(True)   # a long file name or error must not widen the window

        # --- the glimpse
        self.gx = QDoubleSpinBox()
        self.gy = QDoubleSpinBox()
        self.delta = QDoubleSpinBox()
        for box in (self.gx, self.gy, self.delta):
            box.setDecimals(2)
            box.setSingleStep(0.25)
            box.setSuffix(" px")
        self.delta.setRange(0.01, 1000.0)
        self.sigma2 = _log_slider(*SIGMA2_RANGE)
        self.gamma = _log_slider(*GAMMA_RANGE)
        self.N = QSlider(Qt.Horizontal)
        self.N.setRange(1, 32)
        self.labels = {name: QLabel() for name in ("gx", "gy", "delta", "sigma2", "gamma", "N")}
        for w, tip in ((self.gx, "g_X: the glimpse centre's column in pixels 1..A (eq. 19, 22)"),
                       (self.gy, "g_Y: the glimpse centre's row in pixels 1..B (eq. 20, 23)"),
                       (self.delta, "δ: the stride between filter centres in pixels (eq. 19-20, 24)"),
                       (self.sigma2, "σ²: the filters' variance in pixels² (eq. 25-26)"),
                       (self.gamma, "γ: the read's intensity, multiplying the patch (eq. 27; the write divides by it, eq. 29)"),
                       (self.N, "N: N x N filters (eq. 19-20)")):
            w.setToolTip(tip)
            w.setAccessibleName(tip.split(":")[0])
        self.gx.valueChanged.connect(lambda v: self._set(gx=v))
        self.gy.valueChanged.connect(lambda v: self._set(gy=v))
        self.delta.valueChanged.connect(lambda v: self._set(delta=v))
        self.sigma2.valueChanged.connect(lambda v: self._set(sigma2=10 ** (v / LOG_STEPS)))
        self.gamma.valueChanged.connect(lambda v: self._set(gamma=10 ** (v / LOG_STEPS)))
        self.N.valueChanged.connect(lambda v: self._set(N=int(v)))

        self.canvas = GlimpseCanvas()
        self.canvas.centre_moved.connect(lambda x, y: self._set(gx=x, gy=y))
        self.canvas.delta_changed.connect(lambda d: self._set(delta=d))

        # --- the pictures
        self.patch_view, self.writeback_view = QLabel(), QLabel()
        self.fx_view, self.fy_view, self.fx_curves, self.fy_curves = QLabel(), QLabel(), QLabel(), QLabel()
        self.titles = {name: QLabel() for name in ("image", "patch", "writeback", "F_X", "F_Y")}

        controls = QGroupBox("Glimpse (paper units: pixels a = 1..A)")
        form = QFormLayout(controls)
        source_row = QHBoxLayout()
        source_row.addWidget(self.source)
        source_row.addWidget(self.digit)
        source_row.addWidget(self.source_label, 1)
        form.addRow("Image", source_row)
        for name, w in (("gx", self.gx), ("gy", self.gy), ("delta", self.delta), ("sigma2", self.sigma2),
                        ("gamma", self.gamma), ("N", self.N)):
            form.addRow(self.labels[name], w)

        grid = QGridLayout()
        grid.setHorizontalSpacing(PICTURE_SPACING)
        grid.setContentsMargins(PICTURE_SPACING, PICTURE_SPACING, PICTURE_SPACING, PICTURE_SPACING)
        cells = ((self.titles["image"], 0, 0), (self.canvas, 1, 0), (self.titles["patch"], 0, 1), (self.patch_view, 1, 1),
                 (self.titles["writeback"], 0, 2), (self.writeback_view, 1, 2),
                 (self.titles["F_X"], 2, 0), (self.fx_view, 3, 0), (self.fx_curves, 4, 0),
                 (self.titles["F_Y"], 2, 1), (self.fy_view, 3, 1), (self.fy_curves, 4, 1))
        for w, r, c in cells:
            grid.addWidget(w, r, c, Qt.AlignLeft | Qt.AlignTop)
        grid.setColumnStretch(3, 1)
        grid.setRowStretch(5, 1)
        pictures = QWidget()
        pictures.setLayout(grid)
        self._scroll = scroll = QScrollArea()
        scroll.setWidget(pictures)
        scroll.setWidgetResizable(True)
        scroll.viewport().installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.addWidget(controls)
        layout.addWidget(scroll, 1)

    # ------------------------------------------------------------------ the public face

    def set_image(self, image: np.ndarray, name: str = "image") -> None:
        """Look at `image` (C, H, W) floats in [0, 1] (C = 1 or 3), e.g. the model's current canvas.
        The glimpse keeps its parameters when the size stays; else it is reset to cover the image."""
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 2:
            image = image[None]
        if image.ndim != 3 or image.shape[0] not in (1, 3) or min(image.shape[1:]) < 1:
            raise ValueError(f"expected an image (1 or 3, H, W), got shape {image.shape}")
        same = image.shape[1:] == self._image.shape[1:]
        self._image = image
        self.source_label.setText(name)
        if not same:
            self._glimpse = pg.default_glimpse(image.shape[1], image.shape[2], self._glimpse.N)
        if self._started:
            self._refresh()
        else:
            self._start(with_digit=False)

    def set_params(self, gx: float, gy: float, delta: float, sigma2: float, gamma: float, N: int) -> None:
        """The glimpse in paper units; ValueError for parameters that are not one."""
        g = pg.Glimpse(float(gx), float(gy), float(delta), float(sigma2), float(gamma), int(N))
        problem = g.problem()
        if problem:
            raise ValueError(problem)
        self._glimpse = g
        if self._started:
            self._refresh()
        else:
            self._start()

    def params(self) -> tuple[float, float, float, float, float, int]:
        g = self._glimpse
        return g.gx, g.gy, g.delta, g.sigma2, g.gamma, g.N

    def glimpse(self) -> pg.Glimpse:
        return self._glimpse

    def image(self) -> np.ndarray:
        self._start()
        return self._image

    def panels(self) -> dict[str, np.ndarray]:
        """The numbers on show: patch (C, N, N), F_X (N, A), F_Y (N, B), writeback (C, H, W)."""
        self._start()
        p = self._panels
        return {"patch": p.patch, "F_X": p.F_X, "F_Y": p.F_Y, "writeback": p.writeback}

    # ------------------------------------------------------------------ inside

    def _start(self, with_digit: bool = True) -> None:
        """Once: the digit range, test digit 0 (unless an image came first) and the first panels."""
        if self._started:
            return
        self._started = True
        count = _digit_count()
        with QSignalBlocker(self.digit):
            self.digit.setRange(0, max(0, count - 1))
        if with_digit and count:
            self._image = pg.mnist_digit(0)
        self._refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._start()

    def eventFilter(self, watched, event) -> bool:
        # the pictures' viewport resized (the window, the Run panel, a splitter): the three pictures
        # across keep fitting its width
        if (watched is self._scroll.viewport() and event.type() == QEvent.Type.Resize
                and self._panels is not None and self._scale() != self.canvas.scale):
            self._refresh()
        return super().eventFilter(watched, event)

    def _scale(self) -> int:
        """Screen pixels per image pixel: the image, read patch and write-back side by side fit the
        pictures' width (a 1024-pixel screen with the Run panel open), up to TARGET_SIDE each."""
        _, H, W = self._image.shape
        bar = self._scroll.verticalScrollBar()      # counted whether it shows yet or not
        width = self._scroll.viewport().width() - (0 if bar.isVisible() else bar.sizeHint().width())
        across = (width - 4 * PICTURE_SPACING) // 3
        return pg.display_scale(H, W, min(pg.TARGET_SIDE, max(across, 1)))


    def _load_digit(self, k: int) -> None:
        if _digit_count() == 0:
            return
        self.source.setCurrentIndex(0)
        self.set_image(pg.mnist_digit(k), f"test digit {k}")

    def _on_source(self, index: int) -> None:
        if index == 0:
            self._load_digit(self.digit.value())
            return
        if index == 2:
            canvas = self.model_canvas() if self.model_canvas is not None else None
            if canvas is None:
                self.source_label.setText("no model canvas yet: open or train a model")
            else:
                self.set_image(canvas, "the model's canvas")
            return
        folder = self.settings.get("playground_folder", "") if self.settings is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", str(folder),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)")
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> bool:
        """Look at the image file `path`; False (and the reason in the source label) when unreadable."""
        from pathlib import Path
        try:
            image = pg.load_image(path)
        except (OSError, ValueError) as e:
            self.source_label.setText(f"could not read {Path(path).name}: {e}")
            return False
        if self.settings is not None:
            self.settings.set("playground_folder", str(Path(path).parent))
        self.set_image(image, Path(path).name)
        return True

    def _set(self, **changes) -> None:
        g = pg.Glimpse(**{**self.params_dict(), **changes})
        if g.problem() is None and g != self._glimpse:
            self._glimpse = g
            self._refresh()

    def params_dict(self) -> dict:
        return dataclasses.asdict(self._glimpse)

    def _sync_controls(self) -> None:
        g = self._glimpse
        _, H, W = self._image.shape
        blockers = [QSignalBlocker(w) for w in (self.gx, self.gy, self.delta, self.sigma2, self.gamma, self.N)]
        self.gx.setRange(-2.0 * W, 3.0 * W)
        self.gy.setRange(-2.0 * H, 3.0 * H)
        self.gx.setValue(g.gx)
        self.gy.setValue(g.gy)
        self.delta.setValue(g.delta)
        self.sigma2.setValue(round(math.log10(g.sigma2) * LOG_STEPS))
        self.gamma.setValue(round(math.log10(g.gamma) * LOG_STEPS))
        self.N.setMaximum(max(32, max(H, W), g.N))
        self.N.setValue(g.N)
        del blockers
        self.labels["gx"].setText(f"g<sub>X</sub> = {g.gx:.2f} px (eq. 19, 22)")
        self.labels["gy"].setText(f"g<sub>Y</sub> = {g.gy:.2f} px (eq. 20, 23)")
        self.labels["delta"].setText(f"δ = {g.delta:.3g} px, box Nδ = {g.N * g.delta:.3g} px (eq. 19-20, 24)")
        self.labels["sigma2"].setText(f"σ² = {g.sigma2:.3g} px², σ = {math.sqrt(g.sigma2):.3g} px (eq. 25-26)")
        self.labels["gamma"].setText(f"γ = {g.gamma:.3g} (eq. 27, 29)")
        self.labels["N"].setText(f"N = {g.N} (eq. 19-20)")

    def _refresh(self) -> None:
        self._panels = p = pg.compute(self._image, self._glimpse)
        _, H, W = self._image.shape
        scale = self._scale()
        self.canvas.show_picture(pg.render_image(self._image, self._glimpse, scale, self.palette_name), self._glimpse, scale)
        row_h = max(2, scale)
        for label, picture in ((self.patch_view, pg.render_patch(p.patch, H * scale)),
                               (self.writeback_view, pg.render_writeback(p.writeback, scale)),
                               (self.fx_view, pg.render_filters(p.F_X, scale, row_h)),
                               (self.fy_view, pg.render_filters(p.F_Y, scale, row_h)),
                               (self.fx_curves, pg.render_curves(p.F_X, scale, 100)),
                               (self.fy_curves, pg.render_curves(p.F_Y, scale, 100))):
            label.setPixmap(QPixmap.fromImage(_qimage(picture)))
        for name, text in pg.captions(p).items():
            # the equation on a line of its own: a title no wider than its picture keeps the three across
            self.titles[name].setText(text.replace("gamma", "γ").replace(" (eq.", "\n(eq."))
        self._sync_controls()
        self.changed.emit()

