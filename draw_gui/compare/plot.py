"""The compare view's loss plot: one curve per run, overlaid, by step or by training time.

Each run keeps its columns in preallocated buffers that double when full, smoothed with the main
loss plot's debiased EMA and drawn with setData; appends are batched into one refresh per
event-loop turn. The test-set evaluations of each run are diamonds in the run's colour showing
the same quantity as the curves (the bound, Lx or Lz of the test set).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from draw_gui.text import format_duration
from draw_gui.widgets.curves import GrowingCurves
from draw_gui.widgets.theme import plot_colours, restyles, style_plot
from draw_gui.widgets.loss_plot import (SmoothedPlotMixin, SmoothingControl, _StepAxis, add_export_menu, lay_out_plot,
                                         new_plot)

class Series(NamedTuple):
    """A quantity the plot can show."""
    label: str
    column: str | None        # its metrics.csv column; None: the evaluations alone (the test NLL bound)
    eval_column: str          # its eval.csv column


SERIES = {"total": Series("total loss L", "loss", "nll_bound"), "Lx": Series("reconstruction Lx", "recon", "recon"),
          "Lz": Series("KL Lz", "kl", "kl"), "nll": Series("test NLL bound", None, "nll_bound")}
COLUMNS = ("loss", "recon", "kl")
EVAL_COLUMNS = ("step", "nll_bound", "recon", "kl")   # the rows of a run's evals array
_HOVER_HINT = "move the mouse over the plot to read every run's value there"


class _TimeAxis(pg.AxisItem):
    """Training time as 0:45 / 12:30 / 1:02:00 rather than seconds."""

    def tickStrings(self, values, scale, spacing):
        return [format_duration(max(0.0, v * scale)) for v in values]


class _RunCurves(GrowingCurves):
    """One run's columns (x: step, time_s; values: COLUMNS) and their smoothed copies, and how it
    is drawn: its name and colour, its curve and its evaluation markers."""

    def __init__(self, name: str, colour: tuple, curve, markers, capacity: int = 1024):
        super().__init__(2, len(COLUMNS), capacity)
        self.name, self.colour, self.curve, self.markers = name, colour, curve, markers
        self.evals = np.empty((len(EVAL_COLUMNS), 0))     # one row per EVAL_COLUMNS

    def eval_row(self, column: str) -> np.ndarray:
        """The evaluations' values of one of EVAL_COLUMNS."""
        return self.evals[EVAL_COLUMNS.index(column)]

    def append_rows(self, rows, smoothing: float) -> None:
        """core.runfolder.MetricsRows."""
        self.append((rows.step, rows.time_s), [getattr(rows, c) for c in COLUMNS], smoothing)


class ComparePlot(SmoothedPlotMixin, QtWidgets.QWidget):
    """Overlaid curves of several runs. Runs are named by the ids the compare view gives them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("compare plot")
        self._runs: dict[int, _RunCurves] = {}
        self._smoothing = 0.6                 # the main loss plot's default
        self._refresh_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._build_ui()

    # ---- public API ----------------------------------------------------------------------------
    def add_run(self, run_id: int, name: str, colour: tuple) -> None:
        curve = self.plot_item.plot(name=name, pen=pg.mkPen(colour, width=1.5), antialias=False)
        markers = self.plot_item.plot(pen=None, symbol="d", symbolSize=11, symbolBrush=pg.mkBrush(*colour),
                                      symbolPen=pg.mkPen(plot_colours().foreground, width=1))
        self._runs[run_id] = _RunCurves(name, colour, curve, markers)
        self.legend.setVisible(True)
        self._schedule_refresh()

    def remove_run(self, run_id: int) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        self.legend.removeItem(run.curve)
        self.legend.setVisible(bool(self._runs))   # an empty legend is an empty square
        for item in (run.curve, run.markers):
            self.plot_item.removeItem(item)

    def set_run_visible(self, run_id: int, visible: bool) -> None:
        run = self._runs[run_id]
        for item in (run.curve, run.markers):
            item.setVisible(visible)
        self._schedule_refresh()

    def append(self, run_id: int, rows) -> None:
        """New metrics rows (core.runfolder.MetricsRows) of a run; rows.reset starts it over."""
        run = self._runs[run_id]
        if rows.reset:
            run.count = 0
        if len(rows):
            run.append_rows(rows, self._smoothing)
        if len(rows) or rows.reset:
            self._schedule_refresh()

    def set_evals(self, run_id: int, evals: list[dict]) -> None:
        ev = np.array([[e.get(k, math.nan) for k in EVAL_COLUMNS] for e in evals],
                      dtype=float).reshape(-1, len(EVAL_COLUMNS)).T
        run = self._runs[run_id]
        if ev.shape != run.evals.shape or not np.array_equal(ev, run.evals, equal_nan=True):
            run.evals = ev
            self._schedule_refresh()

    def point_count(self, run_id: int) -> int:
        return self._runs[run_id].count

    def curve(self, run_id: int):
        return self._runs[run_id].curve

    def markers(self, run_id: int):
        return self._runs[run_id].markers

    @property
    def x_mode(self) -> str:
        return "time" if self.time_button.isChecked() else "step"

    @x_mode.setter
    def x_mode(self, mode: str) -> None:
        (self.time_button if mode == "time" else self.step_button).setChecked(True)

    @property
    def series(self) -> str:
        return self.series_combo.currentData()

    @series.setter
    def series(self, key: str) -> None:
        self.series_combo.setCurrentIndex(self.series_combo.findData(key))

    def _resmooth(self) -> None:
        for run in self._runs.values():
            run.smooth(self._smoothing)

    def restyle(self) -> None:
        """Background, axes, legend, cursor and marker outlines in the application palette's light
        or dark scheme (the runs keep their colours: the run list's swatches show them)."""
        colours = style_plot(self.plot_widget)
        background = QtGui.QColor(colours.background)
        background.setAlpha(170)
        self.legend.setBrush(pg.mkBrush(background))
        self.legend.setPen(pg.mkPen(colours.faint))
        self.legend.setLabelTextColor(colours.foreground)
        self._cursor_line.setPen(pg.mkPen(colours.faint, style=QtCore.Qt.PenStyle.DashLine))
        for run in self._runs.values():
            run.markers.setSymbolPen(pg.mkPen(colours.foreground, width=1))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if restyles(event) and hasattr(self, "legend"):   # the system's colour scheme changed
            self.restyle()

    # ---- drawing ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.plot_widget = new_plot(_StepAxis("bottom"))
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("left", "nats per image")
        self.legend = self.plot_item.addLegend(offset=(-10, 10), brush=pg.mkBrush(0, 0, 0, 170),
                                               pen=pg.mkPen(90, 90, 90))
        self.legend.setVisible(False)              # until a run is added
        self._cursor_line = pg.InfiniteLine(angle=90, movable=False,
                                            pen=pg.mkPen(160, 160, 160, style=QtCore.Qt.PenStyle.DashLine))
        self._cursor_line.hide()
        self.plot_item.addItem(self._cursor_line, ignoreBounds=True)
        self._mouse_proxy = pg.SignalProxy(self.plot_widget.scene().sigMouseMoved, rateLimit=60,
                                           slot=self._on_mouse_moved)

        self.series_combo = QtWidgets.QComboBox()
        for key, series in SERIES.items():
            self.series_combo.addItem(series.label, key)
        self.series_combo.setToolTip("Which loss to compare: the training bound L = Lx + Lz per step, its "
                                     "reconstruction part Lx or KL part Lz, or only the test-set NLL bound "
                                     "of each evaluation (diamonds: the test set's value of the same loss)")
        self.series_combo.currentIndexChanged.connect(lambda _: self._on_axes_changed())
        self.step_button = QtWidgets.QRadioButton("by step")
        self.time_button = QtWidgets.QRadioButton("by time")
        self.step_button.setChecked(True)
        self.step_button.setToolTip("x axis: the training step (batches seen), so runs align by data seen")
        self.time_button.setToolTip("x axis: training time, so a faster run shows what it gains per minute")
        self.time_button.toggled.connect(lambda _: self._on_axes_changed())
        self.smoothing_control = SmoothingControl(self._smoothing, lambda w: setattr(self, "smoothing", w), 110)
        self.log_y_checkbox = QtWidgets.QCheckBox("log y")
        self.log_y_checkbox.setToolTip("Logarithmic loss axis: the first steps' large losses no longer "
                                       "squash the later differences")
        self.log_y_checkbox.toggled.connect(lambda on: (self.plot_item.setLogMode(x=False, y=on),
                                                        self._schedule_refresh()))
        self.hover_label = QtWidgets.QLabel(_HOVER_HINT)
        self.hover_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.hover_label.setContentsMargins(6, 2, 6, 2)

        self.export_menu, self.export_button = add_export_menu(self, self.plot_widget, "compare", self.shown_curves)
        lay_out_plot(self, (self.series_combo, self.step_button, self.time_button,
                            *self.smoothing_control.widgets(), self.log_y_checkbox, self.export_button),
                     self.plot_widget, self.hover_label)
        self.plot_widget.setAccessibleName("compare plot")
        self.plot_widget.setAccessibleDescription("the chosen loss of every run compared, one curve a run in the "
                                                  "run's colour, against the step or the training time")
        self.restyle()
        self._on_axes_changed()

    def _on_axes_changed(self) -> None:
        time_axis = self.x_mode == "time"
        self.plot_item.setAxisItems({"bottom": _TimeAxis("bottom") if time_axis else _StepAxis("bottom")})
        self.plot_item.setLabel("bottom", "training time" if time_axis else "step")
        self.plot_item.enableAutoRange()
        self._schedule_refresh()

    def _eval_x(self, run: _RunCurves) -> np.ndarray:
        """Where a run's evaluations go on the x axis: their step, or the time of that step."""
        steps = run.eval_row("step")
        if self.x_mode == "step":
            return steps
        if run.count == 0:
            return np.full_like(steps, math.nan)
        return np.interp(steps, run.x[0, :run.count], run.x[1, :run.count])

    def curve_data(self, run_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) the run's curve shows now: the chosen loss by step or by time, smoothed."""
        run = self._runs[run_id]
        column = SERIES[self.series].column
        if column is None:                          # the test NLL bound: the evaluations themselves
            return self._eval_x(run), run.eval_row("nll_bound")
        row = COLUMNS.index(column)
        return run.x[0 if self.x_mode == "step" else 1, :run.count], run.shown(self._smoothing)[row]

    def shown_curves(self) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
        """The curves shown, as Export plot…'s CSV writes them: each visible run's curve (named by
        the run and the loss), then its evaluations' diamonds, x as the plot's axis."""
        x_name = "step" if self.x_mode == "step" else "time_s"
        series = SERIES[self.series]
        curves = []
        for run_id, run in self._runs.items():
            if not run.curve.isVisible():
                continue
            curves.append((f"{run.name} {series.label}", x_name, *self.curve_data(run_id)))
            if series.column is not None and run.evals.shape[1]:
                curves.append((f"{run.name} test {series.eval_column}", x_name, self._eval_x(run),
                               run.eval_row(series.eval_column)))
        return curves

    def refresh(self) -> None:
        column, eval_column = SERIES[self.series].column, SERIES[self.series].eval_column
        for run_id, run in self._runs.items():
            if not run.curve.isVisible():
                continue                            # refreshed when shown again
            x, y = self.curve_data(run_id)
            run.curve.setData(x, y, connect="finite", symbol="d" if column is None else None,
                              symbolBrush=pg.mkBrush(*run.colour), symbolSize=8)
            run.markers.setData(self._eval_x(run) if column else [], run.eval_row(eval_column) if column else [])

    def _on_mouse_moved(self, event: tuple) -> None:
        """Every visible run's value at the x nearest the mouse, in the run's colour (event: the
        SignalProxy's arguments, the scene position)."""
        scene_pos = event[0]
        view_box = self.plot_item.getViewBox()
        if not view_box.sceneBoundingRect().contains(scene_pos):
            self._cursor_line.hide()
            return
        self.show_values_at(view_box.mapSceneToView(scene_pos).x())

    def show_values_at(self, x: float) -> str:
        parts = []
        for run_id, run in self._runs.items():
            if not run.curve.isVisible():
                continue
            xs, ys = self.curve_data(run_id)
            if len(xs) == 0:
                continue
            i = int(np.clip(np.searchsorted(xs, x), 1, max(len(xs) - 1, 1)))
            if len(xs) == 1 or abs(xs[i - 1] - x) <= abs(xs[i] - x):
                i -= 1
            colour = "#{:02x}{:02x}{:02x}".format(*run.colour)
            parts.append(f"<span style='color:{colour}'>■</span> {run.name} {ys[i]:.1f}")
        where = format_duration(max(0.0, x)) if self.x_mode == "time" else f"step {max(0, round(x)):,}"
        text = f"{where} · " + " · ".join(parts) if parts else _HOVER_HINT
        self.hover_label.setText(text)
        self._cursor_line.setPos(x)
        self._cursor_line.setVisible(bool(parts))
        return text
