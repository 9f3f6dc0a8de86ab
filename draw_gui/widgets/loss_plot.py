"""Live loss plot of a DRAW training run: total loss, reconstruction L^x and KL L^z
(nats per image) per training step, and the test-set NLL bound per epoch as markers."""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from draw_gui.widgets.curves import GrowingCurves
from draw_gui.widgets.flow import FlowLayout
from draw_gui.widgets.theme import restyles, style_plot

class _Series(NamedTuple):
    legend: str               # its name in the legend
    checkbox: str             # its visibility checkbox's text
    hover: str                # its name in the hover readout
    colour: tuple[int, int, int]        # on a dark scheme's plot background
    tip: str                  # the checkbox's tooltip
    light: tuple[int, int, int]         # the same hue, darker, on a light scheme's background

    def shade(self, dark: bool) -> tuple[int, int, int]:
        return self.colour if dark else self.light


# Green and red are reserved app-wide for the read/write attention boxes, so the curves avoid them.
_SERIES = (
    _Series("total loss", "total", "loss", (215, 215, 215), "Show the total loss L = Lx + Lz", (70, 70, 70)),
    _Series("L<sup>x</sup> reconstruction", "Lx", "Lx", (80, 165, 255),
            "Show the reconstruction loss Lx (negative log-likelihood of the image)", (0, 95, 190)),
    _Series("L<sup>z</sup> KL", "Lz", "Lz", (255, 170, 50),
            "Show the KL loss Lz of the latents against the prior", (185, 95, 0)),
)
_EVAL_COLOUR = (235, 95, 235)
_EVAL_COLOUR_LIGHT = (170, 30, 170)


def eval_colour(dark: bool) -> tuple[int, int, int]:
    """The test-NLL diamonds' colour on a dark or a light scheme's plot."""
    return _EVAL_COLOUR if dark else _EVAL_COLOUR_LIGHT


def _diamond(colour: tuple, size: int = 12, outline="white") -> QtGui.QPixmap:
    """The test-NLL marker as a check box icon: a diamond drawn, not a glyph the font may lack."""
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setBrush(QtGui.QColor(*colour))
    painter.setPen(QtGui.QPen(QtGui.QColor(outline), 1))
    half = size / 2
    painter.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(half, 1), QtCore.QPointF(size - 1, half),
                                         QtCore.QPointF(half, size - 1), QtCore.QPointF(1, half)]))
    painter.end()
    return pixmap
_HOVER_HINT = "move the mouse over the plot to read the values at a step"
MAX_SMOOTHING = 0.999
_SLIDER_SCALE = 1000  # slider ticks per unit of smoothing
def _as_points(steps, loss, recon, kl) -> tuple[np.ndarray, np.ndarray]:
    steps = np.array(steps, dtype=np.int64).ravel()
    values = np.stack([np.asarray(v, dtype=np.float64).ravel() for v in (loss, recon, kl)])
    if values.shape[1] != len(steps):
        raise ValueError("steps, loss, recon and kl must have the same length")
    return steps, values


class _StepAxis(pg.AxisItem):
    """Step ticks as 250k / 1.5M rather than pyqtgraph's 1e+06."""

    def tickStrings(self, values, scale, spacing):
        def compact(step):
            if abs(step) >= 1e6:
                return f"{step / 1e6:g}M"
            return f"{step / 1e3:g}k" if abs(step) >= 1e4 else f"{step:g}"
        return [compact(value * scale) for value in values]


class _PlotViewBox(pg.ViewBox):
    """The plots' view box: a right click shows the plot's own menu (plot_menu: Export plot…, Copy
    image), not pyqtgraph's, whose log/downsample options would fight the toolbar."""

    plot_menu: QtWidgets.QMenu | None = None

    def raiseContextMenu(self, ev) -> None:
        if self.plot_menu is not None:
            self.plot_menu.popup(ev.screenPos().toPoint())

    def getContextMenus(self, event):
        return []


def new_plot(bottom_axis: pg.AxisItem) -> pg.PlotWidget:
    """A plot styled as draw-gui's loss plots are: faint grid, peak downsampling, clipped to the
    view, and none of pyqtgraph's context menus (its log/downsample options would fight the
    toolbar): add_export_menu gives it draw-gui's."""
    widget = pg.PlotWidget(axisItems={"bottom": bottom_axis}, viewBox=_PlotViewBox())
    item = widget.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.setMenuEnabled(False, enableViewBoxMenu=None)   # the view box shows plot_menu instead
    style_plot(widget)
    return widget


# Export plot…: the formats offered, by file suffix (the first is the default).
EXPORT_FILTERS = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)",
                  "csv": "CSV table of the curves shown (*.csv)"}
Table = Callable[[], Iterable[tuple[str, str, np.ndarray, np.ndarray]]]  # (curve name, x name, x, y) per curve
_last_export_folder: list[str] = []   # where the last export went: the next starts there


def export_plot(parent: QtWidgets.QWidget, plot_item: pg.PlotItem, name: str, table: Table) -> str | None:
    """Ask where, then write the plot as a PNG (at its size on screen), an SVG, or a CSV of the
    curves shown (`table`: their names and x, y as drawn, smoothed); the format follows the file's
    suffix, else the filter chosen. Returns the file written, or None (cancelled, or it failed:
    a warning says why)."""
    start = (_last_export_folder[-1] if _last_export_folder else
             QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.PicturesLocation)
             or str(Path.home()))
    path, chosen = QtWidgets.QFileDialog.getSaveFileName(parent, "Export plot", str(Path(start) / f"{name}.png"),
                                                         ";;".join(EXPORT_FILTERS.values()))
    if not path:
        return None
    kind = Path(path).suffix.lower().lstrip(".")
    if kind not in EXPORT_FILTERS:
        kind = next((k for k, f in EXPORT_FILTERS.items() if f == chosen), "png")
        path = f"{path}.{kind}"
    try:
        if kind == "csv":
            write_curves_csv(path, table())
        elif kind == "svg":
            _export_svg(plot_item, path)
        elif not _image_exporter(plot_item).export(toBytes=True).save(path):
            raise OSError(f"Qt could not write the image {path}")
    except (OSError, ValueError) as e:
        logging.getLogger(__name__).warning("could not export the plot to %s: %s", path, e)
        QtWidgets.QMessageBox.warning(parent, "Export plot", f"Could not write {path}: {e}")
        return None
    _last_export_folder[:] = [str(Path(path).parent)]
    return path


def _export_svg(plot_item: pg.PlotItem, path: str) -> None:
    """pyqtgraph's SVGExporter (not loaded at start-up: it loads pyqtgraph's parameter trees), with
    closed paths ("... Z", which Qt 6.11's SVG generator writes for the view box) written as a line
    back to their start: pyqtgraph 0.14.0 cannot read a "Z" (pyqtgraph issue 3495)."""
    import sys
    from pyqtgraph.exporters import SVGExporter
    module = sys.modules[SVGExporter.__module__]
    original = module.correctCoordinates

    def correct(node, defs, item, options):
        for element in node.getElementsByTagName("path"):
            tokens, start = [], None
            for token in element.getAttribute("d").split():
                if token[0] in "Mm":
                    start = token[1:]
                if token in ("Z", "z"):
                    if start is None:
                        continue
                    token = f"L{start}"
                tokens.append(token)
            element.setAttribute("d", " ".join(tokens))
        return original(node, defs, item, options)

    module.correctCoordinates = correct
    try:
        SVGExporter(plot_item).export(path)
    finally:
        module.correctCoordinates = original


def _image_exporter(plot_item: pg.PlotItem):
    from pyqtgraph.exporters import ImageExporter
    return ImageExporter(plot_item)


def copy_plot_image(plot_item: pg.PlotItem) -> None:
    """The plot as an image on the clipboard."""
    _image_exporter(plot_item).export(copy=True)


def write_curves_csv(path: str, curves: Iterable[tuple[str, str, np.ndarray, np.ndarray]]) -> None:
    """Curves side by side, two columns each ("<curve> <x name>", "<curve>"), as long as the longest."""
    header, columns = [], []
    for curve, x_name, x, y in curves:
        header += [f"{curve} {x_name}", curve]
        columns += [np.asarray(x).ravel(), np.asarray(y).ravel()]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i in range(max((len(c) for c in columns), default=0)):
            writer.writerow([_csv_number(c[i]) if i < len(c) else "" for c in columns])


def _csv_number(v) -> str:
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    v = float(v)
    return "" if math.isnan(v) else (str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v))


def add_export_menu(widget: QtWidgets.QWidget, plot_widget: pg.PlotWidget, name: str, table: Table):
    """The plot's right-click menu (Export plot…, Copy image) and an Export… tool button for its
    toolbar; returns (menu, button). `name` names the file the dialog offers."""
    plot_item = plot_widget.getPlotItem()
    menu = QtWidgets.QMenu(widget)
    export = menu.addAction("Export plot…")
    export.setStatusTip("save the plot as a PNG image, an SVG drawing or a CSV table of its curves")
    export.triggered.connect(lambda _=False: export_plot(widget, plot_item, name, table))
    copy = menu.addAction("Copy image")
    copy.setStatusTip("copy the plot to the clipboard as an image")
    copy.triggered.connect(lambda _=False: copy_plot_image(plot_item))
    plot_item.getViewBox().plot_menu = menu
    button = QtWidgets.QToolButton()
    button.setText("Export…")
    button.setAutoRaise(True)
    button.setToolTip("Save the plot as a PNG image, an SVG drawing or a CSV table of the curves shown "
                      "(also on the plot's right-click menu, with Copy image)")
    button.clicked.connect(export.trigger)
    return menu, button


def clamp_smoothing(weight: float) -> float:
    return min(max(float(weight), 0.0), MAX_SMOOTHING)


class SmoothingControl:
    """The loss plots' smoothing: a label, a slider over 0..MAX_SMOOTHING and the value.
    Dragging calls on_change(weight); show(weight) moves it without calling back."""

    def __init__(self, weight: float, on_change, width: int = 120):
        self.label = QtWidgets.QLabel("smoothing")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, round(MAX_SMOOTHING * _SLIDER_SCALE))
        self.slider.setValue(round(weight * _SLIDER_SCALE))
        self.slider.setFixedWidth(width)
        self.slider.valueChanged.connect(lambda ticks: on_change(ticks / _SLIDER_SCALE))
        self.value_label = QtWidgets.QLabel(f"{weight:.3f}")
        for widget in self.widgets():
            widget.setToolTip("Exponential moving average of the curves and the hover readout "
                              "(debiased, as in TensorBoard): 0 shows the raw per-step values, "
                              "0.999 the smoothest trend")

    def widgets(self) -> tuple:
        return self.label, self.slider, self.value_label

    def show(self, weight: float) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(round(weight * _SLIDER_SCALE))
        self.value_label.setText(f"{weight:.3f}")


def lay_out_plot(widget: QtWidgets.QWidget, toolbar_items, plot_widget, hover_label) -> None:
    """The loss plots' layout: a toolbar row over the plot over the hover readout.
    toolbar_items are widgets, or ints for a spacing of that many pixels. The toolbar wraps
    onto a second line in a narrow window, and the readout is cut rather than widening it."""
    toolbar_widget = QtWidgets.QWidget()
    toolbar = FlowLayout(toolbar_widget)
    toolbar.setContentsMargins(4, 2, 4, 2)
    for item in toolbar_items:
        if isinstance(item, int):
            toolbar.add_spacing(item)
        else:
            toolbar.addWidget(item)
    hover_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
    layout = QtWidgets.QVBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(toolbar_widget)
    layout.addWidget(plot_widget, 1)
    layout.addWidget(hover_label)


class SmoothedPlotMixin:
    """What the loss plot and the compare plot share: the `smoothing` weight (clamped, shown on the
    plot's `smoothing_control`, the curves re-smoothed by the plot's `_resmooth`) and the refresh
    batched to one per event-loop turn (`_refresh_timer`)."""

    _smoothing: float

    @property
    def smoothing(self) -> float:
        return self._smoothing

    @smoothing.setter
    def smoothing(self, weight: float) -> None:
        weight = clamp_smoothing(weight)
        if weight == self._smoothing:
            return
        self._smoothing = weight
        self.smoothing_control.show(weight)
        self._resmooth()
        self._schedule_refresh()

    def _resmooth(self) -> None:  # pragma: no cover - every plot has its own
        raise NotImplementedError

    def _schedule_refresh(self) -> None:
        # setData costs O(points) in pyqtgraph (bounds, downsampling), so batches
        # arriving within one event-loop turn share a single refresh.
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()


class LossPlot(SmoothedPlotMixin, QtWidgets.QWidget):
    """Per-step training losses and per-epoch test NLL bound of one DRAW run.

    append() only writes into the buffers; the curves are refreshed on the next
    event-loop turn, so several batches arriving together cost one refresh.
    """

    initial_capacity = 1024

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("loss plot")
        self._smoothing = 0.6
        self._reset_buffers()
        self._refresh_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self._refresh_curves)
        self._build_ui()

    def append(self, steps, loss, recon, kl) -> None:
        """Add a batch of training points (steps increasing)."""
        self._append_points(*_as_points(steps, loss, recon, kl))

    def add_evaluation(self, step: int, nll_bound: float) -> None:
        self._eval_steps = np.append(self._eval_steps, float(step))
        self._eval_nll = np.append(self._eval_nll, float(nll_bound))
        self.eval_markers.setData(self._eval_steps, self._eval_nll)

    def set_evaluations(self, steps, nll_bound) -> None:
        """Replace the test-bound markers (a followed run's eval.csv, read whole)."""
        self._eval_steps = np.array(steps, dtype=float).ravel()
        self._eval_nll = np.array(nll_bound, dtype=float).ravel()
        self.eval_markers.setData(self._eval_steps, self._eval_nll)

    def set_history(self, steps, loss, recon, kl, eval_steps, eval_nll) -> None:
        """Replace everything, e.g. with the history stored in a checkpoint."""
        points = _as_points(steps, loss, recon, kl)
        eval_steps, eval_nll = (np.array(a, dtype=float).ravel() for a in (eval_steps, eval_nll))
        if len(eval_steps) != len(eval_nll):
            raise ValueError("eval_steps and eval_nll must have the same length")
        self.clear()
        self._append_points(*points)
        self._eval_steps, self._eval_nll = eval_steps, eval_nll
        self.eval_markers.setData(eval_steps, eval_nll)

    def clear(self) -> None:
        self._reset_buffers()
        self._schedule_refresh()
        self.eval_markers.setData([], [])
        self.hover_label.setText(_HOVER_HINT)
        self._cursor_line.hide()
        self.plot_item.enableAutoRange()

    def point_count(self) -> int:
        return self._count

    @property
    def log_y(self) -> bool:
        return self.log_y_checkbox.isChecked()

    @log_y.setter
    def log_y(self, enabled: bool) -> None:
        self.log_y_checkbox.setChecked(bool(enabled))

    def _build_ui(self) -> None:
        self.plot_widget = new_plot(_StepAxis("bottom"))
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("bottom", "step")
        self.plot_item.setLabel("left", "nats per image")
        # No legend inside the plot: it covered the newest points (and the last test-NLL diamond) in
        # short windows. The check boxes above the plot name each curve, with its colour.
        self.curves = [
            self.plot_item.plot(name=series.legend, pen=pg.mkPen(series.colour, width=1),
                                antialias=False, connect="all", skipFiniteCheck=True)
            for series in _SERIES]
        self.eval_markers = self.plot_item.plot(
            name="test NLL bound", pen=None, symbol="d", symbolSize=11,
            symbolBrush=pg.mkBrush(*_EVAL_COLOUR), symbolPen=pg.mkPen("w", width=1))
        self._cursor_line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(160, 160, 160, style=QtCore.Qt.PenStyle.DashLine))
        self._cursor_line.hide()
        self.plot_item.addItem(self._cursor_line, ignoreBounds=True)
        # One hover update per frame at most, however fast the mouse reports.
        self._mouse_proxy = pg.SignalProxy(
            self.plot_widget.scene().sigMouseMoved, rateLimit=60, slot=self._on_mouse_moved)

        self.smoothing_control = SmoothingControl(self._smoothing,
                                                   lambda weight: setattr(self, "smoothing", weight))
        self.smoothing_slider = self.smoothing_control.slider
        self.smoothing_value_label = self.smoothing_control.value_label
        self.log_y_checkbox = QtWidgets.QCheckBox("log y")
        self.log_y_checkbox.setToolTip("Logarithmic loss axis: shows late, small improvements")
        self.log_y_checkbox.toggled.connect(self._on_log_y_toggled)
        self.visibility_checkboxes = []
        for curve, series in zip(self.curves, _SERIES):
            text, colour, tip = series.checkbox, series.colour, series.tip
            swatch = QtGui.QPixmap(14, 4)
            swatch.fill(QtGui.QColor(*colour))
            checkbox = QtWidgets.QCheckBox(text)
            checkbox.setIcon(QtGui.QIcon(swatch))
            checkbox.setChecked(True)
            checkbox.setToolTip(tip)
            checkbox.toggled.connect(curve.setVisible)
            # Hiding the curve elsewhere (a test, a future menu) keeps the box in step.
            curve.visibleChanged.connect(
                lambda c=curve, b=checkbox: self._on_curve_visibility_changed(c, b))
            self.visibility_checkboxes.append(checkbox)
        self.eval_checkbox = QtWidgets.QCheckBox("test NLL bound")
        self.eval_checkbox.setIcon(QtGui.QIcon(_diamond(_EVAL_COLOUR)))
        self.eval_checkbox.setChecked(True)
        self.eval_checkbox.setToolTip("The NLL bound on the test set, measured at the end of every epoch (nats "
                                      "per image): the number the paper reports")
        self.eval_checkbox.toggled.connect(self.eval_markers.setVisible)
        self.hover_label = QtWidgets.QLabel(_HOVER_HINT)
        self.hover_label.setToolTip("Curve values at the training step nearest the mouse")
        self.hover_label.setContentsMargins(6, 2, 6, 2)

        self.export_menu, self.export_button = add_export_menu(self, self.plot_widget, "loss", self.shown_curves)
        lay_out_plot(self, (*self.smoothing_control.widgets(), 12, self.log_y_checkbox, 12,
                            *self.visibility_checkboxes, self.eval_checkbox, 12, self.export_button),
                     self.plot_widget, self.hover_label)
        self.plot_widget.setAccessibleName("loss plot")
        self.plot_widget.setAccessibleDescription(
            "training losses in nats per image against the step: total loss, reconstruction Lx and KL Lz, "
            "and the test-set NLL bound of each epoch as diamonds")
        self.restyle()

    def shown_curves(self) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
        """The curves shown, as Export plot…'s CSV writes them: (name, "step", steps, values), the
        values smoothed as drawn; the test NLL bound's evaluations last."""
        steps = self._steps[:self._count]
        curves = [(series.hover, "step", steps, values)
                  for series, curve, values in zip(_SERIES, self.curves, self._displayed()) if curve.isVisible()]
        if self.eval_markers.isVisible():
            curves.append(("test NLL bound", "step", self._eval_steps, self._eval_nll))
        return curves

    def restyle(self) -> None:
        """Colours of the application palette's light or dark scheme: the plot's background and
        axes, and curves, markers and their check boxes' icons in shades readable on it."""
        colours = style_plot(self.plot_widget)
        for curve, checkbox, series in zip(self.curves, self.visibility_checkboxes, _SERIES):
            colour = series.shade(colours.dark)
            curve.setPen(pg.mkPen(colour, width=1))
            swatch = QtGui.QPixmap(14, 4)
            swatch.fill(QtGui.QColor(*colour))
            checkbox.setIcon(QtGui.QIcon(swatch))
        evals = eval_colour(colours.dark)
        self.eval_markers.setSymbolBrush(pg.mkBrush(*evals))
        self.eval_markers.setSymbolPen(pg.mkPen(colours.foreground, width=1))
        self.eval_checkbox.setIcon(QtGui.QIcon(_diamond(evals, outline=colours.foreground)))
        self._cursor_line.setPen(pg.mkPen(colours.faint, style=QtCore.Qt.PenStyle.DashLine))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if restyles(event) and hasattr(self, "eval_checkbox"):   # the system's colour scheme changed
            self.restyle()

    def _reset_buffers(self) -> None:
        self._points = GrowingCurves(1, len(_SERIES), self.initial_capacity, x_dtype=np.int64)  # x: step
        # Whether pyqtgraph may skip its finite check (see _refresh_curves).
        self._all_finite = self._all_positive = True
        self._eval_steps, self._eval_nll = np.empty(0), np.empty(0)

    def _append_points(self, steps: np.ndarray, values: np.ndarray) -> None:
        if len(steps) == 0:
            return
        self._points.append(steps[None], values, self._smoothing)
        self._all_finite &= bool(np.isfinite(values).all())
        self._all_positive &= bool((values > 0).all())
        self._schedule_refresh()

    @property
    def _count(self) -> int:
        return self._points.count

    @property
    def _steps(self) -> np.ndarray:
        return self._points.x[0]

    def _resmooth(self) -> None:
        self._points.smooth(self._smoothing)

    def _displayed(self) -> np.ndarray:
        return self._points.shown(self._smoothing)

    def _refresh_curves(self) -> None:
        # Skipping the finite check is only valid while every value can be plotted.
        plottable = self._all_finite and (self._all_positive or not self.log_y)
        for curve, values in zip(self.curves, self._displayed()):
            if not curve.isVisible():
                continue  # refreshed when shown again
            if self._count == 0:
                curve.setData([], [])
            else:
                curve.setData(self._steps[:self._count], values, skipFiniteCheck=plottable,
                              connect="all" if plottable else "finite")

    def _on_curve_visibility_changed(self, curve, checkbox) -> None:
        checkbox.setChecked(curve.isVisible())
        if curve.isVisible():
            self._schedule_refresh()

    def _on_log_y_toggled(self, enabled: bool) -> None:
        self.plot_item.setLogMode(x=False, y=enabled)
        self._schedule_refresh()

    def _on_mouse_moved(self, event) -> None:
        """Show the curve values at the step nearest the mouse (event from SignalProxy)."""
        scene_pos = event[0]
        view_box = self.plot_item.getViewBox()
        if self._count == 0 or not view_box.sceneBoundingRect().contains(scene_pos):
            self._cursor_line.hide()
            return
        mouse_step = view_box.mapSceneToView(scene_pos).x()
        steps = self._steps[:self._count]
        mouse_step = min(max(mouse_step, steps[0]), steps[-1])
        # An int64 needle keeps searchsorted from converting the whole buffer to float.
        index = int(np.searchsorted(steps, np.int64(math.ceil(mouse_step))))
        if index > 0 and mouse_step - steps[index - 1] <= steps[index] - mouse_step:
            index -= 1
        readout = " · ".join(f"{series.hover} {value:.1f}"
                             for series, value in zip(_SERIES, self._displayed()[:, index]))
        self.hover_label.setText(f"step {int(steps[index]):,} · {readout}")
        self._cursor_line.setPos(int(steps[index]))
        self._cursor_line.show()
