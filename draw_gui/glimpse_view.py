"""The Glimpses tab: DRAW drawing a few fixed examples, glimpse by glimpse.

The old Torch script's --display made interactive. Left, the inputs x with the read box of glimpse
t (green); right, the canvases sigma(c_t) with the write box (red); under them the KL of every
glimpse. The panel itself is `core.export.glimpse_panel`, so what the window shows and what
"Save PNG" / "Save GIF" (Ctrl+E) write are the same pixels, in the same layout and zoom.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6.QtCore import QPointF, QRect, QRectF, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QHBoxLayout, QLabel,
                               QPushButton, QSlider, QSizePolicy, QVBoxLayout, QWidget)

from core.export import PANEL_BACKGROUND, glimpse_panel, progress_bar_height, with_progress_bar
from core.trace import GlimpseTrace, attention_box, attention_corners, outline_vertices
from draw_gui import saving

PLACEHOLDER = "Press Start to watch DRAW draw"
SPEEDS = (5, 10, 20, 40)          # glimpses per second offered by the speed combo
DEFAULT_SPEED = 10
PADDING = 1                       # pixels between cells, as in exported panels
MAX_EXAMPLES_PER_ROW = 8
MAX_SCALE = 6                     # beyond this rendering costs more than a 40 glimpses/s frame
KL_BAR = (110, 110, 110)
KL_HIGHLIGHT = (255, 190, 0)      # amber: green and red are taken by the read and write boxes
GLIMPSE_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End)
SAVE_GIF_KEYS = QKeySequence("Ctrl+E")   # docs/ui.md: Ctrl+E export


def _gap(scale: int) -> int:
    return max(4, 2 * scale)      # glimpse_panel's default gap between the input and canvas halves


class _PixelCanvas(QWidget):
    """Shows one QImage as large as fits, keeping its aspect ratio, pixels kept crisp."""

    resized = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image = QImage()
        self.setMinimumSize(120, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)   # a click gives the view the arrow keys

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(640, 240)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image.isNull():
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, PLACEHOLDER)
            return
        # Nearest neighbour (no SmoothPixmapTransform, i.e. Qt.FastTransformation): MNIST pixels
        # and 1-pixel box outlines must stay sharp.
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect((self.width() - size.width()) // 2, (self.height() - size.height()) // 2,
                       size.width(), size.height())
        painter.drawImage(target, self._image)


class GlimpseView(QWidget):
    """Input + read box | canvas sigma(c_t) + write box for glimpse t = 1..T of a GlimpseTrace."""

    refresh_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._trace: GlimpseTrace | None = None
        self._t = 1
        self._per_row, self._scale = 1, 1          # layout of the rendered panel
        self._image = QImage()
        self._image_bytes = b""                    # the QImage borrows these bytes
        self._panel: Image.Image | None = None     # the same pixels as a PIL image, for Save PNG
        # What the save dialogs remember their folder in ("export_dir"); the window sets it.
        self.settings = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.caption = QLabel()
        self.caption.setStyleSheet("color: grey;")
        self.canvas = _PixelCanvas()
        self.canvas.resized.connect(self._relayout)

        self.play_button = QPushButton("▶ Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the T glimpses one after another; stops at t = T "
                                    "(press again at T to start over from t = 1)")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._advance)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 1)
        self.slider.setToolTip("Glimpse t of T: the read and write boxes and the canvas "
                               "σ(c_t) after t glimpses (←/→ step, Home/End first/last)")
        self.slider.valueChanged.connect(self.set_t)
        self.t_label = QLabel("t –/–")
        self.t_label.setMinimumWidth(self.t_label.fontMetrics().horizontalAdvance("t 000/000"))
        self.t_label.setToolTip("Current glimpse t / number of glimpses T")

        self.speed_combo = QComboBox()
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed} /s", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed_combo.setToolTip("Playback speed in glimpses per second")
        self.speed_combo.currentIndexChanged.connect(self._update_timer_interval)
        self._update_timer_interval()

        self.error_checkbox = QCheckBox("error image")
        self.error_checkbox.setToolTip(
            "Show the error image x̂ = x − σ(c_{t−1}) the encoder reads at glimpse t (eq. 3) in "
            "place of the input, as 0.5 + x̂/2: mid-grey = no error, white = ink still to draw, "
            "black = ink drawn where x has none; on colour images each channel so, so the tint is "
            "the colour still missing. At t = 1 the input is shown unchanged "
            "(the trace does not record the initial canvas c_0).")
        self.error_checkbox.toggled.connect(self._render)
        self.sigma_checkbox = QCheckBox("σ as line width")
        self.sigma_checkbox.setToolTip(
            "Draw each box with a line as thick as its filter's σ (the paper's Figure 1); "
            "the box itself spans N·δ pixels around the centre (g_x, g_y). Gaussian attention only: "
            "a spatial transformer samples bilinearly and has no σ")
        self.sigma_checkbox.toggled.connect(self._render)
        self.boxes_checkbox = QCheckBox("boxes")
        self.boxes_checkbox.setChecked(True)
        self.boxes_checkbox.setToolTip(
            "Draw the read box (green, the N×N grid of Gaussian filters the encoder reads) and the "
            "write box (red, where the decoder writes) of glimpse t, here and in saved images")
        self.boxes_checkbox.toggled.connect(self._on_boxes_toggled)
        self.save_png_button = QPushButton("Save PNG…")
        self.save_png_button.setToolTip(
            "Save the panel shown now (glimpse t, with the error-image, boxes and σ options as "
            "set) as a PNG image, at its pixel size (no smoothing)")
        self.save_png_button.clicked.connect(self.save_png)
        self.save_gif_button = QPushButton("Save GIF…")
        self.save_gif_button.setToolTip(
            "Save glimpses t = 1..T as a looping animated GIF at the playback speed chosen on the "
            "left, with the options as set and a grey progress bar along the bottom (Ctrl+E)")
        self.save_gif_button.clicked.connect(self.save_gif)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Run the current model on the same examples again "
                                       "and show the new glimpses (keeps t)")
        self.refresh_button.clicked.connect(self.refresh_requested)

        self.kl_plot = pg.PlotWidget()
        self.kl_plot.setFixedHeight(130)
        self.kl_plot.setMouseEnabled(x=False, y=False)
        self.kl_plot.hideButtons()
        self.kl_plot.setMenuEnabled(False)
        self.kl_plot.setLabel("bottom", "glimpse t")
        self.kl_plot.setLabel("left", "KL (nats)")
        self.kl_plot.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" reads as a unit, not a scale
        self.kl_plot.setToolTip("KL(Q(z_t | h_t^enc) ‖ P(z_t)) of each glimpse t in nats, mean "
                                "over the batch: how much the t-th latent z_t tells the decoder. "
                                "Click a bar to go to that glimpse.")
        self.kl_bars = pg.BarGraphItem(x=[], height=[], width=0.8, pen=None, brush=KL_BAR)
        self.kl_plot.addItem(self.kl_bars)
        # A line as well as the bar colour: late glimpses' KL bars are often too low to see.
        self.kl_marker = pg.InfiniteLine(angle=90, pen=pg.mkPen(KL_HIGHLIGHT, width=1))
        self.kl_plot.addItem(self.kl_marker)
        self.kl_plot.scene().sigMouseClicked.connect(self._on_kl_clicked)

        # The time slider gets a row of its own so it stays long in a narrow window.
        timeline = QHBoxLayout()
        for widget, stretch in ((self.play_button, 0), (self.slider, 1), (self.t_label, 0)):
            timeline.addWidget(widget, stretch)
        options = QHBoxLayout()
        for widget in (self.speed_combo, self.error_checkbox, self.boxes_checkbox,
                       self.sigma_checkbox):
            options.addWidget(widget)
        options.addStretch(1)
        for widget in (self.save_png_button, self.save_gif_button, self.refresh_button):
            options.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(timeline)
        layout.addLayout(options)
        layout.addWidget(self.kl_plot)

        for key in GLIMPSE_KEYS:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda key=key: self.set_t(self._key_target(key)))
        self.save_gif_shortcut = QShortcut(SAVE_GIF_KEYS, self)
        self.save_gif_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.save_gif_shortcut.activated.connect(self.save_gif)
        self.set_trace(None)

    # ------------------------------------------------------------------ public API

    def set_trace(self, trace: GlimpseTrace | None) -> None:
        """Show a new snapshot. t stays where it was (clamped to 1..T) so that a live refresh
        during training does not jump back to the first glimpse."""
        if trace is not None and trace.glimpses < 1:
            trace = None
        self._trace = trace
        T = self._glimpses()
        self._t = min(max(self._t, 1), max(T, 1))
        has_trace = trace is not None
        for control in (self.play_button, self.slider, self.speed_combo, self.boxes_checkbox,
                        self.save_png_button, self.save_gif_button):
            control.setEnabled(has_trace)
        self.sigma_checkbox.setEnabled(has_trace and self.boxes_checkbox.isChecked()
                                       and trace.attention == "gaussian")
        self.error_checkbox.setEnabled(has_trace and trace.images is not None)
        if not has_trace:
            self.play_button.setChecked(False)
        with QSignalBlocker(self.slider):
            self.slider.setRange(1, max(T, 1))
            self.slider.setValue(self._t)
        self._update_kl_bars()
        self._relayout(force=True)

    def trace(self) -> GlimpseTrace | None:
        return self._trace

    def set_t(self, t: int) -> None:
        """Go to glimpse t (1-based, clamped to 1..T)."""
        if self._trace is None:
            return
        t = min(max(int(t), 1), self._glimpses())
        if t == self._t and self.slider.value() == t and not self._image.isNull():
            return
        self._t = t
        with QSignalBlocker(self.slider):
            self.slider.setValue(t)
        self._highlight_kl_bar()
        self._render()

    def t(self) -> int:
        return self._t

    def image(self) -> QImage:
        """The panel as shown now, before scaling to the widget (null when there is no trace)."""
        return self._image

    def panel(self, t: int | None = None) -> Image.Image | None:
        """Glimpse t (default: the one shown) as a PIL image, in the layout and with the options
        shown; for the current t the very pixels of image(). None without a trace."""
        if self._trace is None:
            return None
        if t is None or int(t) == self._t:
            if self._panel is None:
                self._render()
            return self._panel.copy()
        t = int(t)
        if not 1 <= t <= self._glimpses():
            raise IndexError(f"glimpse {t} out of range 1..{self._glimpses()}")
        return self._render_panel(t)

    def gif_frames(self) -> list[Image.Image]:
        """The frames of Save GIF: glimpses t = 1..T as panel(t), each over a thin grey bar
        showing t / T. Empty without a trace."""
        T = self._glimpses()
        bar = progress_bar_height(self._scale)
        return [with_progress_bar(self.panel(t), t / T, bar, PANEL_BACKGROUND) for t in range(1, T + 1)]

    def frame_ms(self) -> int:
        """How long Save GIF shows each glimpse: the playback speed's 1000 / (glimpses per s)."""
        return round(1000 / self.speed_combo.currentData())

    def save_png(self) -> Path | None:
        """Ask where, then save panel() as a PNG. Returns the path, or None (no trace, cancelled,
        or failed: then the window shows why and nothing is left at the path)."""
        if self._trace is None:
            return None
        return saving.save_png(self, self.settings, self.panel(), f"glimpses-t{self._t}.png")

    def save_gif(self) -> Path | None:
        """Ask where, then save gif_frames() as a looping GIF at frame_ms() a frame (the last
        frame is held a little longer). Returns the path or None, as save_png."""
        if self._trace is None:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)   # T panels: up to a second
        try:
            frames = self.gif_frames()
        finally:
            QApplication.restoreOverrideCursor()
        return saving.save_gif(self, self.settings, frames, "glimpses.gif",
                               frame_ms=self.frame_ms(), loop=0)

    def cell_rect(self, half: str, example: int) -> QRectF | None:
        """Where example's input ("input") or canvas ("canvas") cell lies in image() pixels."""
        trace = self._trace
        if half not in ("input", "canvas"):
            raise ValueError(f"half must be 'input' or 'canvas', not {half!r}")
        if trace is None or (half == "input" and trace.images is None):
            return None
        if not 0 <= example < trace.batch:
            raise IndexError(f"example {example} out of range for {trace.batch} examples")
        height, width = trace.canvases.shape[-2:]
        cell_w, cell_h = width * self._scale, height * self._scale
        row, col = divmod(example, self._per_row)
        x = PADDING + col * (cell_w + PADDING)
        y = PADDING + row * (cell_h + PADDING)
        if half == "canvas" and trace.images is not None:    # the canvases are the right half
            columns = min(trace.batch, self._per_row)
            x += columns * cell_w + (columns + 1) * PADDING + _gap(self._scale)
        return QRectF(x, y, cell_w, cell_h)

    def box_rect(self, kind: str, example: int) -> QRectF | None:
        """Where the read ("read") or write ("write") box of `example` at glimpse t is drawn in
        image() pixels: its outline's outermost pixels are (left, top) .. (right, bottom), the
        line grows inwards. None without a trace, attention or inputs (read), with the boxes
        option off, or when the box lies wholly outside its cell (parts outside it are not
        drawn)."""
        if kind not in ("read", "write"):
            raise ValueError(f"kind must be 'read' or 'write', not {kind!r}")
        trace, cell = self._trace, self.cell_rect("input" if kind == "read" else "canvas", example)
        params = None if cell is None else (trace.read if kind == "read" else trace.write)
        if params is None or not self.boxes_checkbox.isChecked():
            return None
        size = trace.read_size if kind == "read" else trace.write_size
        p = np.asarray(params)[self._t - 1, example]
        if trace.attention == "spatial" and p[3] != 0:   # a rotated glimpse: its bounding box
            corners = self.box_corners(kind, example)
            if corners is None:
                return None
            xs, ys = [c.x() for c in corners], [c.y() for c in corners]
            if max(xs) < cell.left() or max(ys) < cell.top() or min(xs) >= cell.right() or min(ys) >= cell.bottom():
                return None
            return QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        box = np.array(attention_box(p, size)) * self._scale
        if not np.all(np.isfinite(box)):
            return None
        # The same rounding as core.export: the outline lies inside [x0, x1).
        x0, y0, x1, y1 = (int(v) for v in np.floor(box + 0.5))
        x1, y1 = max(x0, x1 - 1), max(y0, y1 - 1)
        if x1 < 0 or y1 < 0 or x0 >= cell.width() or y0 >= cell.height():
            return None
        return QRectF(cell.x() + x0, cell.y() + y0, x1 - x0, y1 - y0)

    def box_corners(self, kind: str, example: int) -> list[QPointF] | None:
        """The pixels of image() where the outline of the read or write glimpse turns: top-left,
        top-right, bottom-right, bottom-left of the patch (rotated with a spatial transformer's
        angle). None as for box_rect; parts outside the cell are not drawn."""
        if kind not in ("read", "write"):
            raise ValueError(f"kind must be 'read' or 'write', not {kind!r}")
        trace, cell = self._trace, self.cell_rect("input" if kind == "read" else "canvas", example)
        params = None if cell is None else (trace.read if kind == "read" else trace.write)
        if params is None or not self.boxes_checkbox.isChecked():
            return None
        size = trace.read_size if kind == "read" else trace.write_size
        corners = attention_corners(np.asarray(params)[self._t - 1, example], size, trace.attention)
        vertices = outline_vertices(corners, self._scale)
        if vertices is None:
            return None
        return [QPointF(cell.x() + x, cell.y() + y) for x, y in vertices]

    # ------------------------------------------------------------------ rendering

    def _glimpses(self) -> int:
        return 0 if self._trace is None else self._trace.glimpses

    def _relayout(self, force: bool = False) -> None:
        """Pick examples-per-row and the integer zoom that make the cells largest in the space
        there is. The panel is rendered at that integer zoom and only ever scaled *up* on screen,
        so 1-pixel box outlines never fall between the screen pixels."""
        trace = self._trace
        if trace is None:
            if force:
                self._render()
            return
        height, width = trace.canvases.shape[-2:]
        halves = 1 if trace.images is None else 2
        best = (0.0, 1)
        # Only rows that divide the examples evenly: a ragged last row looks like missing data.
        choices = [n for n in range(1, min(trace.batch, MAX_EXAMPLES_PER_ROW) + 1) if trace.batch % n == 0]
        for per_row in choices or [min(trace.batch, MAX_EXAMPLES_PER_ROW)]:
            rows = math.ceil(trace.batch / per_row)
            # The panel at zoom 1; at zoom s it is at most s times this.
            panel_w = halves * (per_row * (width + PADDING) + PADDING) + (halves - 1) * _gap(1)
            panel_h = rows * (height + PADDING) + PADDING
            fit = min(self.canvas.width() / panel_w, self.canvas.height() / panel_h)
            if fit >= best[0]:                    # ties: the wider row, fewer rows
                best = (fit, per_row)
        layout = (best[1], int(min(max(math.floor(best[0]), 1), MAX_SCALE)))
        if force or layout != (self._per_row, self._scale):
            self._per_row, self._scale = layout
            self._render()

    def _displayed_trace(self, t: int) -> GlimpseTrace:
        trace = self._trace
        if not (self.error_checkbox.isChecked() and trace.images is not None and t >= 2):
            return trace
        # x − σ(c_{t−1}) lies in [−1, 1]; mid-grey is "no error". Grey, not a diverging colour
        # map, because green and red already mean the read and write boxes. Colour images keep
        # their channels (signed colour, not an error magnitude): the encoder reads x̂ per channel,
        # so the tint shows which colour is still missing (or overdrawn) where.
        error = np.asarray(trace.images, np.float32) - np.asarray(trace.canvases[t - 2],
                                                                  np.float32)
        return dataclasses.replace(trace, images=0.5 + 0.5 * error)

    def _render_panel(self, t: int) -> Image.Image:
        """Glimpse t (1-based) with the current layout and options, as a PIL RGB image."""
        return glimpse_panel(self._displayed_trace(t), t - 1, per_row=self._per_row,
                             scale=self._scale, boxes=self.boxes_checkbox.isChecked(),
                             sigma_width=self.sigma_checkbox.isChecked(), padding=PADDING,
                             gap=_gap(self._scale)).convert("RGB")

    def _render(self) -> None:
        trace = self._trace
        if trace is None:
            self._image, self._image_bytes, self._panel = QImage(), b"", None
            self.t_label.setText("t –/–")
            self.caption.setText("")
            self.canvas.set_image(self._image)
            return
        panel = self._panel = self._render_panel(self._t)
        self._image_bytes = panel.tobytes()
        self._image = QImage(self._image_bytes, panel.width, panel.height, 3 * panel.width,
                             QImage.Format.Format_RGB888)
        self.canvas.set_image(self._image)
        self.t_label.setText(f"t {self._t}/{trace.glimpses}")
        self.caption.setText(self._caption_text())

    def _caption_text(self) -> str:
        trace = self._trace
        boxes = self.boxes_checkbox.isChecked()
        canvas = "canvas σ(c_t)" + (" + write box" if trace.write is not None and boxes else "")
        if trace.images is None:
            return canvas + "   (generated: no input)"
        read = " + read box" if trace.read is not None and boxes else ""
        if not self.error_checkbox.isChecked():
            left = "input" + read
        elif self._t >= 2:
            left = "error x − σ(c_{t−1})" + read
        else:
            left = "input" + read + " (t = 1: no earlier canvas to subtract)"
        return f"{left}  |  {canvas}"

    # ------------------------------------------------------------------ KL bars

    def _update_kl_bars(self) -> None:
        kl = None if self._trace is None else self._trace.kl_steps
        self.kl_plot.setVisible(kl is not None)
        if kl is None:
            self.kl_bars.setOpts(x=[], height=[], brushes=[])
            return
        kl = np.asarray(kl, dtype=np.float64).ravel()
        self.kl_bars.setOpts(x=np.arange(1, len(kl) + 1), height=kl,
                             brushes=self._kl_brushes(len(kl)))
        self.kl_plot.setXRange(0.5, len(kl) + 0.5, padding=0)
        self.kl_marker.setValue(self._t)

    def _kl_brushes(self, count: int) -> list:
        brushes = [pg.mkBrush(KL_BAR)] * count
        if 1 <= self._t <= count:
            brushes[self._t - 1] = pg.mkBrush(KL_HIGHLIGHT)
        return brushes

    def _highlight_kl_bar(self) -> None:
        self.kl_marker.setValue(self._t)
        if self._trace is not None and self._trace.kl_steps is not None:
            self.kl_bars.setOpts(brushes=self._kl_brushes(len(self.kl_bars.opts["height"])))

    def _on_kl_clicked(self, event) -> None:
        view_box = self.kl_plot.getPlotItem().getViewBox()
        if self._trace is None or not view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        self.set_t(round(view_box.mapSceneToView(event.scenePos()).x()))

    def _on_boxes_toggled(self, on: bool) -> None:
        self.sigma_checkbox.setEnabled(on and self._trace is not None           # σ is the boxes' width
                                       and self._trace.attention == "gaussian")
        self._render()

    # ------------------------------------------------------------------ playback and keys

    def _update_timer_interval(self) -> None:
        self.play_timer.setInterval(self.frame_ms())

    def _on_play_toggled(self, playing: bool) -> None:
        self.play_button.setText("⏸ Pause" if playing else "▶ Play")
        if not playing:
            self.play_timer.stop()
            return
        if self._t >= self._glimpses():           # at the end, play means "from the start"
            self.set_t(1)
        self.play_timer.start()

    def _advance(self) -> None:
        self.set_t(self._t + 1)
        if self._t >= self._glimpses():
            self.play_button.setChecked(False)

    def _key_target(self, key) -> int:
        return {Qt.Key.Key_Left: self._t - 1, Qt.Key.Key_Right: self._t + 1,
                Qt.Key.Key_Home: 1, Qt.Key.Key_End: self._glimpses()}[key]

    def keyPressEvent(self, event) -> None:
        # The QShortcuts need an active window; this covers key events sent to the view itself.
        if event.key() in GLIMPSE_KEYS and self._trace is not None:
            self.set_t(self._key_target(event.key()))
        elif (QKeySequence(event.keyCombination()).matches(SAVE_GIF_KEYS)
              == QKeySequence.SequenceMatch.ExactMatch):
            self.save_gif()
        else:
            super().keyPressEvent(event)
