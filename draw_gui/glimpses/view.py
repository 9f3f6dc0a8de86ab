"""The Glimpses tab: DRAW drawing a few fixed examples, glimpse by glimpse.

The old Torch script's --display made interactive. Left, the inputs x with the read box of glimpse
t (green); right, the canvases sigma(c_t) with the write box (red; View ▸ Box colours offers blue
and orange); under them the KL of every glimpse. The panel itself is `core.export.glimpse_panel`, so what the window shows and what
"Save PNG" / "Save GIF" (Ctrl+E) write are the same pixels, in the same layout and zoom.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QPushButton, QVBoxLayout, QWidget

from core.export import (DEFAULT_BOX_PALETTE, PANEL_BACKGROUND, box_palette, glimpse_panel,
                         progress_bar_height, with_progress_bar)
from core.trace import GlimpseTrace, attention_box, attention_corners, outline_vertices
from draw_gui.widgets import saving
from draw_gui.glimpses.kl_bars import KLBars
from draw_gui.glimpses.pixel_canvas import PixelCanvas
from draw_gui.glimpses.history import HistoryStrip
from draw_gui.glimpses.timeline import GLIMPSE_KEYS, Timeline
from draw_gui.widgets.flow import FlowLayout

PADDING = 1                       # pixels between cells, as in exported panels
MAX_EXAMPLES_PER_ROW = 8
MAX_SCALE = 6                     # beyond this rendering costs more than a 40 glimpses/s frame
SAVE_GIF_KEYS = QKeySequence("Ctrl+E")   # E for export, as in most image tools


def _gap(scale: int) -> int:
    return max(4, 2 * scale)      # glimpse_panel's default gap between the input and canvas halves


class GlimpseView(QWidget):
    """Input + read box | canvas sigma(c_t) + write box for glimpse t = 1..T of a GlimpseTrace."""

    refresh_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("glimpses")
        self._trace: GlimpseTrace | None = None
        self._t = 1
        self._per_row, self._scale = 1, 1          # layout of the rendered panel
        self._image = QImage()
        self._image_bytes = b""                    # the QImage borrows these bytes
        self._panel: Image.Image | None = None     # the same pixels as a PIL image, for Save PNG
        self._box_palette = DEFAULT_BOX_PALETTE    # the boxes' colours (core.export.BOX_PALETTES)
        # What the save dialogs remember their folder in ("export_dir"); the window sets it.
        self.settings = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.caption = QLabel()
        self.caption.setStyleSheet("color: grey;")
        self.caption.setTextFormat(Qt.TextFormat.RichText)     # σ(c<sub>t</sub>), not σ(c_t)
        self.canvas = PixelCanvas("Press Start to watch DRAW draw")
        self.canvas.resized.connect(self._relayout)

        # The time slider gets a row of its own so it stays long in a narrow window.
        self.timeline = Timeline(
            "Play the T glimpses one after another; stops at t = T (press again at T to start over "
            "from t = 1)",
            "<p>Glimpse t of T: the read and write boxes and the canvas σ(c<sub>t</sub>) after t "
            "glimpses (←/→ step, Home/End first/last)</p>")
        self.timeline.t_requested.connect(self.set_t)

        self.error_checkbox = QCheckBox("error image")   # x − σ(previous canvas): see its tooltip
        self.error_checkbox.setToolTip(
            "<p>Show the error image x̂ = x − σ(c<sub>t−1</sub>), the input minus the previous "
            "canvas, that the encoder reads at glimpse t (eq. 3) in "
            "place of the input, as 0.5 + x̂/2: mid-grey = no error, white = ink still to draw, "
            "black = ink drawn where x has none; on colour images each channel so, so the tint is "
            "the colour still missing. At t = 1 the input is shown unchanged "
            "(the trace does not record the initial canvas c<sub>0</sub>).</p>")
        self.error_checkbox.toggled.connect(self._render)
        self.sigma_checkbox = QCheckBox("σ as line width")
        self.sigma_checkbox.setToolTip(
            "<p>Draw each box with a line as thick as its filter's σ (the paper's Figure 1); "
            "the box itself spans N·δ pixels around the centre (g<sub>x</sub>, g<sub>y</sub>). "
            "Gaussian attention only: a spatial transformer samples bilinearly and has no σ</p>")
        self.sigma_checkbox.toggled.connect(self._render)
        self.boxes_checkbox = QCheckBox("boxes")
        self.boxes_checkbox.setChecked(True)
        self._box_tooltip()
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

        self.kl_plot = KLBars()
        # Training replayed: the run folder's history.npz, step by step (shown on demand)
        self.history = HistoryStrip(per_row=8)   # a wide, low strip: the glimpses and KL bars keep their room
        self.history.hide()
        self.history_checkbox = QCheckBox("training history")
        self.history_checkbox.setToolTip("Show how this run's fixed test digits and fixed-noise samples looked "
                                         "at each recorded step, with a slider over training")
        self.history_checkbox.toggled.connect(self.history.setVisible)
        self.kl_plot.glimpse_clicked.connect(self.set_t)

        options = QWidget()      # one row that wraps in a narrow window (the buttons stay at the right)
        flow = FlowLayout(options).add_widgets(self.timeline.speed_combo, self.error_checkbox,
                                               self.boxes_checkbox, self.sigma_checkbox, self.history_checkbox)
        flow.add_stretch()
        flow.add_widgets(self.save_png_button, self.save_gif_button, self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.timeline)
        layout.addWidget(options)
        layout.addWidget(self.kl_plot)
        layout.addWidget(self.history, 1)

        self.timeline.add_shortcuts(self)
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
        for control in (self.timeline.play_button, self.timeline.slider, self.timeline.speed_combo,
                        self.boxes_checkbox, self.save_png_button, self.save_gif_button):
            control.setEnabled(has_trace)
        self._enable_sigma()
        self.error_checkbox.setEnabled(has_trace and trace.images is not None)
        if not has_trace:
            self.timeline.play_button.setChecked(False)
        self.timeline.set_count(T)
        self.timeline.show_t(self._t, T)
        self.kl_plot.set_kl(None if trace is None else trace.kl_steps, self._t)
        self._relayout(force=True)

    def trace(self) -> GlimpseTrace | None:
        return self._trace

    def set_box_palette(self, name: str) -> None:
        """Draw the boxes in core.export.BOX_PALETTES[name], here and in saved images."""
        box_palette(name)                      # ValueError for an unknown name, before any change
        if name == self._box_palette:
            return
        self._box_palette = name
        self._box_tooltip()
        if self._trace is not None:
            self._render()

    def box_palette(self) -> str:
        return self._box_palette

    def _box_tooltip(self) -> None:
        colours = box_palette(self._box_palette)
        self.boxes_checkbox.setToolTip(
            f"Draw the read box ({colours.read_name}, the N×N grid of Gaussian filters the encoder reads) "
            f"and the write box ({colours.write_name}, where the decoder writes) of glimpse t, here and in "
            "saved images (View ▸ Box colours)")

    def set_t(self, t: int) -> None:
        """Go to glimpse t (1-based, clamped to 1..T)."""
        if self._trace is None:
            return
        t = min(max(int(t), 1), self._glimpses())
        if t == self._t and self.timeline.slider.value() == t and not self._image.isNull():
            return
        self._t = t
        self.timeline.show_t(t, self._glimpses())
        self.kl_plot.highlight(t)
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
        return self.timeline.frame_ms()

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
                               frame_ms=self.frame_ms(), loop=0, box_palette=self._box_palette)

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
        cell, p, size = self._drawn_glimpse(kind, example)
        if cell is None:
            return None
        if self._trace.attention == "spatial" and p[3] != 0:   # a rotated glimpse: its bounding box
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
        cell, p, size = self._drawn_glimpse(kind, example)
        if cell is None:
            return None
        corners = attention_corners(p, size, self._trace.attention)
        vertices = outline_vertices(corners, self._scale)
        if vertices is None:
            return None
        return [QPointF(cell.x() + x, cell.y() + y) for x, y in vertices]

    def _drawn_glimpse(self, kind: str, example: int) -> tuple[QRectF | None, np.ndarray | None, int]:
        """(cell, attention parameters at glimpse t, patch size N) of the read or write box of
        `example`; cell None when that box is not drawn (see box_rect)."""
        if kind not in ("read", "write"):
            raise ValueError(f"kind must be 'read' or 'write', not {kind!r}")
        trace, cell = self._trace, self.cell_rect("input" if kind == "read" else "canvas", example)
        params = None if cell is None else (trace.read if kind == "read" else trace.write)
        if params is None or not self.boxes_checkbox.isChecked():
            return None, None, 0
        size = trace.read_size if kind == "read" else trace.write_size
        return cell, np.asarray(params)[self._t - 1, example], size

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
                             gap=_gap(self._scale), palette=self._box_palette).convert("RGB")

    def current_canvas(self):
        """The first example's canvas σ(c_t) at the glimpse shown, (C, H, W) in [0, 1]; None without one."""
        if self._trace is None:
            return None
        return self._trace.canvases[self._t - 1, 0]

    def _render(self) -> None:
        trace = self._trace
        if trace is None:
            self._image, self._image_bytes, self._panel = QImage(), b"", None
            self.caption.setText("")
            self.canvas.set_image(self._image)
            return
        panel = self._panel = self._render_panel(self._t)
        self._image_bytes = panel.tobytes()
        self._image = QImage(self._image_bytes, panel.width, panel.height, 3 * panel.width,
                             QImage.Format.Format_RGB888)
        self.canvas.title = f"Glimpses, t {self._t}/{trace.glimpses}"   # names the enlarged window
        self.canvas.set_image(self._image)
        self.caption.setText(self._caption_text())
        self.canvas.describe(f"{self.canvas.title}: {self.caption.text()}".replace("<sub>", "").replace("</sub>", ""))

    def _caption_text(self) -> str:
        trace = self._trace
        boxes = self.boxes_checkbox.isChecked()
        canvas = "canvas σ(c<sub>t</sub>)" + (" + write box" if trace.write is not None and boxes else "")
        if trace.images is None:
            return canvas + "   (generated: no input)"
        read = " + read box" if trace.read is not None and boxes else ""
        if not self.error_checkbox.isChecked():
            left = "input" + read
        elif self._t >= 2:
            left = "error x − σ(c<sub>t−1</sub>)" + read
        else:
            left = "input" + read + " (t = 1: no earlier canvas to subtract)"
        return f"{left}  |  {canvas}"

    # ------------------------------------------------------------------ options and keys

    def _on_boxes_toggled(self, on: bool) -> None:
        self._enable_sigma()
        self._render()

    def _enable_sigma(self) -> None:
        """σ is the boxes' line width: only with boxes shown, and only Gaussian glimpses have a σ."""
        self.sigma_checkbox.setEnabled(self._trace is not None and self.boxes_checkbox.isChecked()
                                       and self._trace.attention == "gaussian")

    def keyPressEvent(self, event) -> None:
        # The QShortcuts need an active window; this covers key events sent to the view itself.
        if event.key() in GLIMPSE_KEYS and self._trace is not None:
            self.set_t(self.timeline.key_target(event.key()))
        elif (QKeySequence(event.keyCombination()).matches(SAVE_GIF_KEYS)
              == QKeySequence.SequenceMatch.ExactMatch):
            self.save_gif()
        else:
            super().keyPressEvent(event)
