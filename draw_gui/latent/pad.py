"""The latent explorer's widgets: crisp images, the 2-D pad and the z sliders.

Each shows what it is given and reports what the user did as a signal; the Latent tab
(latent_view.py) turns those into latents and sends them to the decoder.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QSlider, QWidget

from core.export import to_rgb_uint8
from draw_gui.latent.decoder import LATENT_RANGE
from draw_gui.widgets import enlarge

DOT = QColor(255, 190, 0)          # amber: green and red mean the read and write boxes
SLIDER_STEPS = 100                 # slider ticks per unit of z


def to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 -> a QImage owning a copy of the pixels."""
    h, w = rgb.shape[:2]
    return QImage(np.ascontiguousarray(rgb).data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def image_to_qimage(image: np.ndarray) -> QImage:
    """(C, H, W) floats in [0, 1] -> QImage, grey on black for one channel."""
    return to_qimage(to_rgb_uint8(image[None])[0])


def button(text: str, tip: str, slot) -> QPushButton:
    widget = QPushButton(text)
    widget.setMinimumWidth(widget.fontMetrics().horizontalAdvance(text) + 16)   # the style's 80 px is too wide here
    widget.setToolTip(tip)
    widget.clicked.connect(slot)
    return widget


def row(*widgets, stretch_at: int | None = None) -> QHBoxLayout:
    """The widgets side by side, with a stretch before the one at `stretch_at` (or at the end)."""
    layout = QHBoxLayout()
    for i, widget in enumerate(widgets):
        if i == stretch_at:
            layout.addStretch(1)
        layout.addWidget(widget)
    if stretch_at is not None and stretch_at >= len(widgets):
        layout.addStretch(1)
    return layout


class PixelImage(QWidget):
    """One image as large as fits, at a whole-number zoom so every pixel is the same size; a
    double-click opens it larger in a window of its own."""

    resized = Signal()
    painted = Signal(int, float)     # image id, time.perf_counter(): when a decode reached the screen

    def __init__(self, placeholder: str = "", minimum: int = 120, parent=None):
        super().__init__(parent)
        self._image = QImage()
        self._placeholder = placeholder
        self.image_id = 0                  # which decode the image came from
        self.title = ""                    # the enlarged window's title; default: the group box's
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")
        self._describe()

    def set_image(self, image: QImage, image_id: int = 0) -> None:
        self._image, self.image_id = image, image_id
        self.update()
        enlarge.follow(self, image, self.enlarged_title())
        self._describe()

    def _describe(self) -> None:
        """Accessible name and description: what the image is, and its size or why there is none."""
        self.setAccessibleName(self.enlarged_title())
        self.setAccessibleDescription(self._placeholder or "no image" if self._image.isNull() else
                                      f"image of {self._image.width()}×{self._image.height()} pixels")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._describe()          # now in its group box, whose title names it

    def setToolTip(self, tip: str) -> None:
        """Callers say what the image is; the tip adds how to see it larger."""
        super().setToolTip(enlarge.with_hint(tip))

    def enlarged_title(self) -> str:
        """`title`, else the title of the group box the image sits in, else "Image"."""
        if self.title:
            return self.title
        parent = self.parentWidget()
        while parent is not None and not parent.isWindow():
            if isinstance(parent, QGroupBox) and parent.title():
                return parent.title()
            parent = parent.parentWidget()
        return "Image"

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            enlarge.enlarge(self, self._image, self.enlarged_title())

    def image(self) -> QImage:
        return self._image

    def set_placeholder(self, text: str) -> None:
        """What shows while there is no image (e.g. why there is none)."""
        self._placeholder = text
        self._describe()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 240)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def target(self) -> QRectF:
        """Where the image is drawn in widget coordinates."""
        if self._image.isNull():
            return QRectF()
        zoom = min(self.width() / self._image.width(), self.height() / self._image.height())
        zoom = max(1, int(zoom)) if zoom >= 1 else zoom
        w, h = self._image.width() * zoom, self._image.height() * zoom
        return QRectF((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image.isNull():
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._placeholder)
        else:
            # Nearest neighbour keeps the pixels crisp; only a shrunk image (a grid in a small
            # window) is smoothed, so that no row of pixels drops out.
            target = self.target()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, target.width() < self._image.width())
            painter.drawImage(target, self._image)
        painter.end()
        self.painted.emit(self.image_id, time.perf_counter())


class LatentPad(QWidget):
    """A square pad: the point's x and y are two latent coordinates in -3..3, up is +y.
    Dragging reports every position while the mouse moves, not only on release."""

    moved = Signal(float, float)
    MARGIN = 18

    def __init__(self, parent=None):
        super().__init__(parent)
        self._point = (0.0, 0.0)
        self._labels = ("x", "y")
        self._background: QPixmap | None = None
        self._dragging = False
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAccessibleName("latent pad")
        self._describe()

    def sizeHint(self) -> QSize:
        return QSize(240, 240)

    def set_point(self, x: float, y: float) -> None:
        self._point = (float(x), float(y))
        self.update()
        self._describe()

    def _describe(self) -> None:
        """The accessible description says the pad's current value."""
        (x_label, y_label), (x, y) = self._labels, self._point
        self.setAccessibleDescription(f"a point on two latent directions, each −3..3: "
                                      f"{x_label} = {x:.2f}, {y_label} = {y:.2f}")

    def point(self) -> tuple[float, float]:
        return self._point

    def set_labels(self, x: str, y: str) -> None:
        self._labels = (x, y)
        self._background = None
        self.update()
        self._describe()

    def square(self) -> QRectF:
        # An even side at whole pixels puts the centre (0, 0) exactly on a pixel.
        side = max(10, (min(self.width(), self.height()) - 2 * self.MARGIN) // 2 * 2)
        return QRectF((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    def position_of(self, x: float, y: float) -> QPointF:
        sq = self.square()
        return QPointF(sq.center().x() + x / LATENT_RANGE * sq.width() / 2,
                       sq.center().y() - y / LATENT_RANGE * sq.height() / 2)

    def value_at(self, pos: QPointF) -> tuple[float, float]:
        sq = self.square()
        x = (pos.x() - sq.center().x()) / (sq.width() / 2) * LATENT_RANGE
        y = (sq.center().y() - pos.y()) / (sq.height() / 2) * LATENT_RANGE
        return tuple(float(min(max(v, -LATENT_RANGE), LATENT_RANGE)) for v in (x, y))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._move_to(event.position())

    def mouseMoveEvent(self, event) -> None:
        if self._dragging:
            self._move_to(event.position())

    def mouseReleaseEvent(self, event) -> None:
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self._move_to(event.position())

    def _move_to(self, pos: QPointF) -> None:
        point = self.value_at(pos)
        if point != self._point:
            self.set_point(*point)
            self.moved.emit(*point)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._background = None

    def _paint_background(self) -> QPixmap:
        """The square, its unit grid, the axes and their names: redrawn only on resize or relabel."""
        pixmap = QPixmap(self.size())
        pixmap.fill(QColor(20, 20, 20))
        painter = QPainter(pixmap)
        sq = self.square()
        painter.fillRect(sq, Qt.GlobalColor.black)
        for v in range(-int(LATENT_RANGE), int(LATENT_RANGE) + 1):   # one line per unit of z
            painter.setPen(QPen(QColor(120, 120, 120) if v == 0 else QColor(50, 50, 50), 1))
            painter.drawLine(self.position_of(v, -LATENT_RANGE), self.position_of(v, LATENT_RANGE))
            painter.drawLine(self.position_of(-LATENT_RANGE, v), self.position_of(LATENT_RANGE, v))
        painter.setPen(QColor(170, 170, 170))
        painter.setFont(self._small_font())
        centre, half, line = sq.center(), sq.width() / 2, self.MARGIN - 4
        # Axis names inside the square at the axes' positive ends, as in a plot.
        painter.drawText(QRectF(centre.x(), centre.y() - line - 1, half - 3, line),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, f"{self._labels[0]} →")
        painter.drawText(QRectF(centre.x() + 4, sq.top() + 2, half - 4, line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, f"↑ {self._labels[1]}")
        painter.end()
        return pixmap

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        return font

    def paintEvent(self, event) -> None:
        if self._background is None or self._background.size() != self.size():
            self._background = self._paint_background()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._background)
        sq = self.square()
        painter.setPen(QColor(170, 170, 170))
        painter.setFont(self._small_font())
        painter.drawText(QRectF(sq.left(), sq.bottom() + 1, sq.width(), self.MARGIN - 2),
                         Qt.AlignmentFlag.AlignCenter,
                         f"({self._point[0]:+.2f}, {self._point[1]:+.2f})")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(Qt.GlobalColor.black, 1.5))
        painter.setBrush(DOT)
        painter.drawEllipse(self.position_of(*self._point), 6, 6)
        painter.end()


class SliderPanel(QScrollArea):
    """One compact slider per latent dimension z_i, -3..3, each labelled with its value."""

    value_changed = Signal(int, float)      # dimension i, new value

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("latent sliders")
        self.setAccessibleDescription("one slider for each dimension of z, in prior standard deviations −3..3")
        self.sliders: list[QSlider] = []
        self.values: list[QLabel] = []
        self._shown = np.zeros(0)          # the values on show
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(200)

    def set_count(self, count: int) -> None:
        """Build `count` sliders (z_0 .. z_{count-1}) when the latent size changes."""
        if count == len(self.sliders):
            return
        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.setVerticalSpacing(0)
        grid.setHorizontalSpacing(6)
        self.sliders, self.values = [], []
        width = self.fontMetrics().horizontalAdvance("+0.00 ")
        for i in range(count):
            name = QLabel(f"z<sub>{i}</sub>")
            name.setTextFormat(Qt.TextFormat.RichText)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-int(LATENT_RANGE * SLIDER_STEPS), int(LATENT_RANGE * SLIDER_STEPS))
            slider.setToolTip(f"latent dimension {i} of z (−3..3: prior standard deviations)")
            slider.valueChanged.connect(lambda v, i=i: self.value_changed.emit(i, v / SLIDER_STEPS))
            value = QLabel("+0.00")
            value.setMinimumWidth(width)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for column, widget in enumerate((name, slider, value)):
                grid.addWidget(widget, i, column)
            self.sliders.append(slider)
            self.values.append(value)
        grid.setRowStretch(count, 1)
        self.setWidget(body)
        self._shown = np.zeros(count)

    def set_values(self, values: np.ndarray) -> None:
        """Show `values` (Z,) without reporting them back as user changes."""
        values = np.asarray(values, dtype=np.float64)
        changed = np.flatnonzero(values != self._shown) if self._shown.shape == values.shape else range(len(values))
        self._shown = values.copy()
        for i in changed:               # a drag on the pad changes two of a hundred
            v, slider = values[i], self.sliders[i]
            with QSignalBlocker(slider):
                slider.setValue(int(round(min(max(v, -LATENT_RANGE), LATENT_RANGE) * SLIDER_STEPS)))
            self.values[i].setText(f"{v:+.2f}".replace("-0.00", "+0.00"))
