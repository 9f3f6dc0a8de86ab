"""The latent explorer's drawing process: the sample's canvas after each glimpse t with its write
box, a scrubber and playback, and a write box the user can move and resize by hand.

Moving the box of glimpse t asks the decoder to put that glimpse's write patch there
(DRAW.generate's write_glimpse); the glimpses after t then redraw around the change. A spatial
transformer's box may be rotated: it is dragged and resized in its own frame and keeps its angle.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QPolygonF
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QLabel, QPushButton, QSlider, QVBoxLayout

from core.export import DEFAULT_BOX_PALETTE, box_palette, glimpse_panel
from core.trace import attention_corners
from draw_gui.widgets import saving
from draw_gui.latent.pad import PixelImage, button, row, to_qimage
from draw_gui.glimpses.timeline import SPEEDS, fit_play_button, show_playing   # the Glimpses tab's

PADDING = 1                         # glimpse_panel's margin around the canvas
# Exported images' nearest-neighbour zoom: a 28-pixel digit becomes 224 pixels, large enough to
# read on a slide; the GIF's frames as large as the PNG.
PNG_SCALE = 8
GIF_SCALE = PNG_SCALE
MAX_SCALE = 16


class WriteBoxCanvas(PixelImage):
    """A canvas with the write box of one glimpse that the user can move (drag inside it) and
    resize (drag its edge, or turn the mouse wheel)."""

    box_changed = Signal(float, float, float)     # g_x, g_y, delta in the paper's pixel units
    EDGE_PX = 6                                   # how near the outline a press resizes

    def __init__(self, parent=None):
        super().__init__("", 120, parent)
        self._box = None           # (g_x, g_y, delta) of the shown glimpse
        self._angle = 0.0          # its rotation (spatial transformer; 0 for Gaussian)
        self._kind = "gaussian"    # the attention kind, for attention_corners
        self._size = 1             # N of the write filterbank
        self._scale, self._padding = 1, 0   # image pixels per paper pixel, and the panel's margin
        self._drag = None          # ("move" | "resize", press point, box at the press)
        self.setMouseTracking(True)
        self.set_box_name("red")

    def set_box_name(self, colour: str) -> None:
        """The tooltip names the write box's colour (View ▸ Box colours)."""
        self.setToolTip(f"<p>Canvas σ(c<sub>t</sub>) after glimpse t with its write box ({colour}). Drag "
                        "inside the box to move the write patch (g<sub>x</sub>, g<sub>y</sub>), drag "
                        "its edge or turn the wheel to change the stride δ (the box's side is N·δ); "
                        "the glimpses after t redraw around the change. A spatial transformer's box "
                        "keeps its angle.</p>")

    def set_box(self, box, size: int, scale: int, padding: int, angle: float = 0.0,
                kind: str = "gaussian") -> None:
        """box: (g_x, g_y, delta) or None (no attention: nothing to drag); angle in radians."""
        self._box = None if box is None else tuple(float(v) for v in box)
        self._size, self._scale, self._padding = size, scale, padding
        self._angle, self._kind = float(angle), kind

    def to_paper(self, pos: QPointF) -> tuple[float, float]:
        """A widget position in the paper's pixel units (pixel a's centre is at a)."""
        target = self.target()
        zoom = target.width() / max(1, self._image.width())
        x = ((pos.x() - target.left()) / zoom - self._padding) / self._scale + 0.5
        y = ((pos.y() - target.top()) / zoom - self._padding) / self._scale + 0.5
        return x, y

    def box_polygon(self) -> QPolygonF | None:
        """The write glimpse's outline (4 corners; rotated for a spatial transformer), widget coordinates."""
        if self._box is None or self._image.isNull():
            return None
        target = self.target()
        zoom = target.width() / self._image.width()
        params = (*self._box, self._angle)
        return QPolygonF([QPointF(target.left() + (x * self._scale + self._padding) * zoom,
                                  target.top() + (y * self._scale + self._padding) * zoom)
                          for x, y in attention_corners(params, self._size, self._kind)])

    def box_rect(self) -> QRectF | None:
        """The write box in widget coordinates (a rotated one's bounding box)."""
        polygon = self.box_polygon()
        return None if polygon is None else polygon.boundingRect()

    def _hit(self, pos: QPointF) -> str | None:
        polygon = self.box_polygon()
        if polygon is None:
            return None
        edges = [QLineF(polygon[k], polygon[(k + 1) % 4]) for k in range(4)]
        if min(_distance(pos, edge) for edge in edges) <= self.EDGE_PX:
            return "resize"
        return "move" if polygon.containsPoint(pos, Qt.FillRule.OddEvenFill) else None

    def mousePressEvent(self, event) -> None:
        kind = self._hit(event.position()) if event.button() == Qt.MouseButton.LeftButton else None
        self._drag = None if kind is None else (kind, self.to_paper(event.position()), self._box)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            cursors = {"move": Qt.CursorShape.SizeAllCursor, "resize": Qt.CursorShape.SizeFDiagCursor}
            self.setCursor(cursors.get(self._hit(event.position()), Qt.CursorShape.ArrowCursor))
            return
        kind, (px, py), (g_x, g_y, delta) = self._drag
        x, y = self.to_paper(event.position())
        if kind == "move":
            self._emit(g_x + x - px, g_y + y - py, delta)
        else:   # the box stays centred: its half side follows the farther of its two axes
            cos, sin = math.cos(self._angle), math.sin(self._angle)
            u, v = cos * (x - g_x) + sin * (y - g_y), -sin * (x - g_x) + cos * (y - g_y)
            half = max(abs(u), abs(v), 0.25)
            self._emit(g_x, g_y, 2 * half / self._size)

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None

    def wheelEvent(self, event) -> None:
        if self._box is None:
            return
        g_x, g_y, delta = self._box
        self._emit(g_x, g_y, delta * 1.1 ** (event.angleDelta().y() / 120))

    def _emit(self, g_x: float, g_y: float, delta: float) -> None:
        self._box = (g_x, g_y, min(max(delta, 0.05), 100.0))
        self.box_changed.emit(*self._box)


def _distance(p: QPointF, edge: QLineF) -> float:
    """Distance from p to the segment `edge`."""
    d = edge.p2() - edge.p1()
    length2 = d.x() ** 2 + d.y() ** 2
    s = 0.0 if length2 == 0 else min(max(QPointF.dotProduct(p - edge.p1(), d) / length2, 0.0), 1.0)
    q = edge.p1() + d * s
    return math.hypot(p.x() - q.x(), p.y() - q.y())


class DrawingProcess(QGroupBox):
    """Glimpse t = 1..T of the current sample's trace; reports the write boxes moved by hand."""

    box_changed = Signal(int, float, float, float)   # 0-based glimpse t, g_x, g_y, delta
    reset_requested = Signal()

    def __init__(self, settings=None, parent=None):
        super().__init__("Drawing process", parent)
        self.setAccessibleName(self.title())
        self.settings = settings
        self._trace = None
        self._t = 1
        self._image_id = 0
        self._box_palette = DEFAULT_BOX_PALETTE   # the write box's colour (core.export.BOX_PALETTES)
        self.canvas = WriteBoxCanvas()
        self.play_button = QPushButton()
        self.play_button.setCheckable(True)
        fit_play_button(self.play_button)
        self.play_button.setToolTip("Play the drawing process: the canvas after each glimpse t = 1..T")
        self.play_timer = QTimer(self)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 1)
        self.slider.setToolTip("<p>Glimpse t: the canvas σ(c<sub>t</sub>) after t writes, and the write box of "
                                "glimpse t</p>")
        self.t_label = QLabel("t –/–")
        self.t_label.setMinimumWidth(self.t_label.fontMetrics().horizontalAdvance("t 000/000"))
        self.speed_combo = QComboBox()
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed} /s", speed)
        self.speed_combo.setCurrentIndex(1)
        self.speed_combo.setToolTip("Glimpses per second when playing and in the saved GIF")
        self.reset_button = button("Reset boxes", "Put every write box moved by hand back where the decoder "
                                   "puts it", self.reset_requested)
        self.boxes_checkbox = QCheckBox("boxes")
        self.boxes_checkbox.setChecked(True)
        self._box_tooltips()
        self.png_button = button("PNG…", "Save the canvas of glimpse t as a PNG", self.save_png)
        self.gif_button = button("GIF…", "Save the drawing process as an animated GIF: T frames at the chosen "
                                 "speed", self.save_gif)

        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        timeline = row(self.play_button, self.slider, self.t_label)
        timeline.setStretchFactor(self.slider, 1)
        layout.addLayout(timeline)
        layout.addLayout(row(self.speed_combo, self.reset_button, stretch_at=1))
        layout.addLayout(row(self.boxes_checkbox, self.png_button, self.gif_button, stretch_at=1))

        self.canvas.resized.connect(self._render)
        self.canvas.box_changed.connect(lambda g_x, g_y, delta: self.box_changed.emit(self._t - 1, g_x, g_y, delta))
        self.slider.valueChanged.connect(self.set_t)
        self.play_button.toggled.connect(self._on_play)
        self.play_timer.timeout.connect(self._advance)
        self.speed_combo.currentIndexChanged.connect(self._set_interval)
        self._set_interval()

    def set_trace(self, trace, image_id: int = 0, glimpses: int | None = None) -> None:
        """Show a new trace at the same t (clamped); `glimpses` sets T before the first trace."""
        self._trace, self._image_id = trace, image_id
        T = trace.glimpses if trace is not None else (glimpses or 1)
        if glimpses is not None:
            self._t = T                   # a new model: start on the finished canvas
        with QSignalBlocker(self.slider):
            self.slider.setRange(1, T)
        self.set_t(self._t)

    def t(self) -> int:
        return self._t

    def set_box_palette(self, name: str) -> None:
        """Draw the write box in core.export.BOX_PALETTES[name], here and in saved images."""
        box_palette(name)                      # ValueError for an unknown name, before any change
        if name != self._box_palette:
            self._box_palette = name
            self._box_tooltips()
            self._render()

    def box_palette(self) -> str:
        return self._box_palette

    def _box_tooltips(self) -> None:
        colour = box_palette(self._box_palette).write_name
        self.canvas.set_box_name(colour)
        self.boxes_checkbox.setToolTip(f"Draw the write boxes ({colour}) in the saved PNG and GIF")

    def set_t(self, t: int) -> None:
        self._t = min(max(int(t), 1), self.slider.maximum())
        with QSignalBlocker(self.slider):
            self.slider.setValue(self._t)
        self._render()

    def _render(self) -> None:
        trace = self._trace
        if trace is None:
            return
        height, width = trace.canvases.shape[-2:]
        fit = min(self.canvas.width() / (width + 2 * PADDING), self.canvas.height() / (height + 2 * PADDING))
        scale = int(min(max(fit, 1), MAX_SCALE))     # rendered at a whole zoom: boxes stay 1 pixel wide
        panel = glimpse_panel(trace, self._t - 1, per_row=1, scale=scale, boxes=True, padding=PADDING,
                             palette=self._box_palette)
        box = None if trace.write is None else trace.write[self._t - 1, 0, :3]
        angle = trace.write[self._t - 1, 0, 3] if box is not None and trace.attention == "spatial" else 0.0
        self.canvas.set_box(box, trace.write_size, scale, PADDING, angle, trace.attention)
        self.canvas.title = f"Drawing process, glimpse t {self._t}/{trace.glimpses}"   # names the enlarged window
        self.canvas.set_image(to_qimage(np.asarray(panel)), self._image_id)
        self.t_label.setText(f"t {self._t}/{trace.glimpses}")

    def _set_interval(self) -> None:
        self.play_timer.setInterval(round(1000 / self.speed_combo.currentData()))

    def _on_play(self, playing: bool) -> None:
        show_playing(self.play_button, playing)
        if not playing:
            self.play_timer.stop()
            return
        if self._t >= self.slider.maximum():      # at the end, play means "from the start"
            self.set_t(1)
        self.play_timer.start()

    def _advance(self) -> None:
        self.set_t(self._t + 1)
        if self._t >= self.slider.maximum():
            self.play_button.setChecked(False)

    def save_png(self) -> None:
        if self._trace is not None:
            panel = glimpse_panel(self._trace, self._t - 1, per_row=1, scale=PNG_SCALE,
                                  boxes=self.boxes_checkbox.isChecked(), palette=self._box_palette)
            saving.save_png(self, self.settings, panel, f"drawing-t{self._t}.png")

    def save_gif(self) -> None:
        if self._trace is None:
            return
        frames = [glimpse_panel(self._trace, t, per_row=1, scale=GIF_SCALE, boxes=self.boxes_checkbox.isChecked(),
                                palette=self._box_palette)
                  for t in range(self._trace.glimpses)]
        saving.save_gif(self, self.settings, frames, "drawing.gif", frame_ms=self.play_timer.interval(),
                        box_palette=self._box_palette)
