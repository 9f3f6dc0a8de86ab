"""The Compare tab: several runs side by side, e.g. attention against none (what the seed's
att_vs_no_att.sh did by hand).

Left, the runs (colour, name, settings, visibility, remove); right, their loss curves overlaid
(compare_plot.py), and under them a column per run with its glimpses at one shared t and its
samples from one shared seed. Runs still training grow: every POLL_MS the CompareLoader thread
reads what their folders gained. The widgets hold only what they show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFrame, QLabel, QListView, QMenu,
                               QPushButton, QScrollArea, QSplitter, QToolButton, QTreeView, QVBoxLayout,
                               QWidget)

from core.compare import EXAMPLES, RunError, noise_note, resolve_run, summary
from core.export import DEFAULT_BOX_PALETTE, box_palette
from draw_gui.compare.loader import CompareJob, CompareLoader, ModelResult, RunUpdate
from draw_gui.compare.plot import ComparePlot
from draw_gui.compare.widgets import PALETTE, RunColumn, RunRow
from draw_gui.models.shipped import shipped_models
from draw_gui.workers.messages import Failure
from draw_gui.glimpses.timeline import Timeline
from draw_gui.widgets.flow import FlowLayout
from draw_gui.widgets.theme import WarningLabel

POLL_MS = 1500                  # runs still training are re-read this often
SAMPLE_COUNTS = (64, 16)        # 8x8 or 4x4
PLOT_MIN_HEIGHT = 200           # pixels: below it two runs' curves hide under the legend


@dataclass
class _Run:
    id: int
    folder: Path
    name: str
    colour: tuple
    row: RunRow
    column: RunColumn
    settings: dict = field(default_factory=dict)
    polled: bool = False
    trace_pending: bool = False     # a trace from the checkpoint is on its way
    has_snapshot: bool = False      # snapshot.npz seen: it wins over traces from the checkpoint
    samples_pending: bool = False
    checkpoint_mtime: int = 0
    step: int = 0
    status: str = ""


class CompareView(QWidget):
    failed = Signal(object)     # messages.Failure: a run could not be read (its row says so too)

    def __init__(self, settings=None, parent=None):
        super().__init__(parent)
        self.setAccessibleName("compare runs")
        self.settings = settings            # remembers the folder of the Add dialog
        self.runs: dict[int, _Run] = {}
        self._next_id = 1
        self._t = 1
        self.seed = 0
        self._box_palette = DEFAULT_BOX_PALETTE   # the glimpses' box colours (View ▸ Box colours)
        self._loader: CompareLoader | None = None   # started with the first run: the tab costs nothing unused
        self._build_ui()
        self.poll_timer = QTimer(self, interval=POLL_MS)
        self.poll_timer.timeout.connect(self.poll)
        self.setAcceptDrops(True)
        # ←/→, Home/End move the shared t (the runs' own viewers have theirs switched off).
        self.timeline.add_shortcuts(self)

    # ---- construction ----------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.add_button = QToolButton()
        self.add_button.setText("Add run…")
        self.add_button.setToolTip("Add run folders (written by `draw-gui train --out DIR` or the window), "
                                   "checkpoint files whose folders are used, or a model that ships with "
                                   "draw-gui; several at once. Dropping folders on this tab adds them too")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(self.add_button)
        menu.addAction("Run folders…", self.add_runs_dialog)
        menu.addAction("Checkpoint files…", lambda: self.add_runs_dialog(files=True))
        self.shipped_menu = menu.addMenu("Shipped model")
        self.shipped_menu.setToolTipsVisible(True)
        shipped = shipped_models()   # their run folders are ordinary run folders (cards read once)
        for model in shipped:
            a = self.shipped_menu.addAction(f"{model.name} — {model.title}",
                                            lambda folder=str(model.folder): self.add_runs([folder]))
            a.setToolTip(model.summary())
        self.shipped_menu.setEnabled(bool(self.shipped_menu.actions()))
        self.add_button.setMenu(menu)
        self.add_button.clicked.connect(self.add_runs_dialog)
        self.message = WarningLabel("")     # amber of the light or dark scheme
        self.message.setWordWrap(True)
        self.run_list = QVBoxLayout()
        self.run_list.setContentsMargins(0, 0, 0, 0)
        self.run_list.addStretch(1)
        holder = QWidget()
        holder.setLayout(self.run_list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 4, 4, 4)
        side_layout.addWidget(self.add_button)
        side_layout.addWidget(scroll, 1)
        side_layout.addWidget(self.message)
        side.setMinimumWidth(220)
        side.setMaximumWidth(320)
        self.plot = ComparePlot()
        self.plot.setMinimumHeight(PLOT_MIN_HEIGHT)   # a small screen scrolls the tab instead of squashing it

        # One timeline for every run's glimpses, and the sample options.
        self.timeline = Timeline(
            "Play the glimpses of every run together; a run with fewer glimpses keeps its final canvas",
            "<p>Glimpse t in every run at once (each shows its canvas σ(c<sub>t</sub>) and boxes)</p>")
        self.timeline.t_requested.connect(self.set_t)
        self.example_combo = QComboBox()
        self.example_combo.addItem("all examples", None)
        for i in range(EXAMPLES):
            self.example_combo.addItem(f"example {i + 1}", i)
        self.example_combo.setToolTip("The same test example(s) in every run: all eight, or one, larger")
        self.example_combo.currentIndexChanged.connect(lambda _: self._show_traces())
        self.boxes_checkbox = QCheckBox("boxes")
        self.boxes_checkbox.setChecked(True)
        self.boxes_checkbox.setToolTip("Read boxes (green) and write boxes (red) of glimpse t in every run")
        self.boxes_checkbox.toggled.connect(self._on_view_option)
        self.error_checkbox = QCheckBox("error image")
        self.error_checkbox.setToolTip("<p>Show x − σ(c<sub>t−1</sub>), the input minus the previous canvas: what "
                                       "each encoder reads at glimpse t, in place of the input</p>")
        self.error_checkbox.toggled.connect(self._on_view_option)
        self.seed_button = QPushButton("New seed")
        self.seed_button.setToolTip("Draw every run's samples again from new noise (the same noise for all "
                                    "runs whose latents have the same shape)")
        self.seed_button.clicked.connect(self.new_seed)
        self.count_combo = QComboBox()
        for n in SAMPLE_COUNTS:
            side_n = int(n ** 0.5)
            self.count_combo.addItem(f"{side_n}×{side_n} samples", n)
        self.count_combo.setToolTip("How many samples from the prior each run draws")
        self.count_combo.currentIndexChanged.connect(lambda _: self.request_samples())
        self.noise_label = WarningLabel("")
        options = QWidget()      # one row that wraps in a narrow window (the sample options stay at the right)
        flow = FlowLayout(options).add_widgets(self.timeline.speed_combo, self.example_combo, self.boxes_checkbox,
                                               self.error_checkbox)
        flow.add_stretch()
        flow.add_widgets(self.count_combo, self.seed_button)
        self.columns_layout = QVBoxLayout()
        self.columns_layout.setContentsMargins(0, 0, 0, 0)
        self.empty_label = QLabel("Add two or more runs (Add run…, or drop their folders here) to compare "
                                  "their losses, glimpses and samples")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: grey;")
        # An empty tab offers the paper's own comparison at once: the shipped models side by side
        # (Gaussian attention against none), with no data folder and no training.
        self.shipped_button = QPushButton(f"Compare the {len(shipped)} shipped models")
        self.shipped_button.setToolTip("Add every model that ships with draw-gui: "
                                       + ", ".join(m.name for m in shipped)
                                       + " (their losses, test bounds, glimpses and samples, side by side)")
        folders = [str(m.folder) for m in shipped]
        self.shipped_button.clicked.connect(lambda: self.add_runs(folders))
        self.shipped_button.setVisible(len(shipped) >= 2)
        self.empty_state = QWidget()
        empty_layout = QVBoxLayout(self.empty_state)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(self.shipped_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(1)
        self.columns_layout.addWidget(self.empty_state)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.timeline)
        bottom_layout.addWidget(options)
        bottom_layout.addWidget(self.noise_label)
        bottom_layout.addLayout(self.columns_layout, 1)

        self.top = QSplitter(Qt.Orientation.Horizontal)
        self.top.addWidget(side)
        self.top.addWidget(self.plot)
        self.top.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        # Its rows wrap (FlowLayout) to fit a 1024-pixel screen with the Run panel open; a smaller
        # window scrolls instead of pushing the window wider than the screen.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.noise_label.hide()

    # ---- runs ------------------------------------------------------------------------------------
    def add_runs_dialog(self, files: bool = False) -> None:
        start = self.settings.get("compare_dir", "") if self.settings is not None else ""
        if files:
            paths, _ = QFileDialog.getOpenFileNames(self, "Add runs: checkpoint files", start,
                                                    "draw-gui checkpoints (*.pt);;All files (*)")
        else:
            # Qt's own dialog, so that several folders can be selected at once.
            dialog = QFileDialog(self, "Add runs: run folders", start)
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
            for view in dialog.findChildren(QListView) + dialog.findChildren(QTreeView):
                view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
            paths = dialog.selectedFiles() if dialog.exec() else []
        if paths and self.settings is not None:
            self.settings.set("compare_dir", str(Path(paths[0]).parent))
        self.add_runs(paths)

    def add_runs(self, paths) -> list[str]:
        """Add runs (folders or checkpoint files); returns the problems, also shown under the list."""
        problems = []
        for p in paths:
            try:
                self.add_run(p)
            except RunError as e:
                problems.append(str(e))
        self.message.setText("\n".join(problems))
        return problems

    def add_run(self, path) -> int:
        """Add one run; raises RunError (with what to do) for a path that is not a run."""
        folder = resolve_run(path)
        if any(r.folder == folder for r in self.runs.values()):
            raise RunError(f"{folder} is already being compared")
        run_id, self._next_id = self._next_id, self._next_id + 1
        colour = PALETTE[(run_id - 1) % len(PALETTE)]
        names = {r.name for r in self.runs.values()}
        name = folder.name if folder.name not in names else f"{folder.parent.name}/{folder.name}"
        run = _Run(run_id, folder, name, colour, RunRow(name, str(folder), colour), RunColumn(name, colour))
        self.runs[run_id] = run
        run.column.glimpses.set_box_palette(self._box_palette)
        run.row.visibility_changed.connect(lambda on: self.set_run_visible(run_id, on))
        run.row.remove_clicked.connect(lambda: self.remove_run(run_id))
        self.run_list.insertWidget(self.run_list.count() - 1, run.row)
        self.empty_state.hide()
        self.columns_layout.addWidget(run.column, 1)
        self.plot.add_run(run_id, name, colour)
        if self._loader is None:
            self._loader = CompareLoader()
            self._loader.polled.connect(self._on_polled)
            self._loader.loaded.connect(self._on_loaded)
            self._loader.failed.connect(self._on_failed)
        self._loader.poll(run_id, folder)
        run.samples_pending = True          # asked for once the first poll has found the checkpoint
        self.poll_timer.start()
        return run_id

    def remove_run(self, run_id: int) -> None:
        run = self.runs.pop(run_id, None)
        if run is None:
            return
        self._loader.forget(run_id)
        self.plot.remove_run(run_id)
        for w in (run.row, run.column):
            w.setParent(None)
            w.deleteLater()
        if not self.runs:
            self.poll_timer.stop()
            self.empty_state.show()
        self._update_timeline()
        self._update_noise_note()

    def set_run_visible(self, run_id: int, visible: bool) -> None:
        run = self.runs[run_id]
        with QSignalBlocker(run.row.checkbox):
            run.row.checkbox.setChecked(visible)
        self.plot.set_run_visible(run_id, visible)
        run.column.setVisible(visible)

    def run_ids(self) -> list[int]:
        return list(self.runs)

    def column(self, run_id: int) -> RunColumn:
        return self.runs[run_id].column

    def busy(self) -> bool:
        """Whether anything is still on its way (for --save and tests)."""
        return any(not r.polled or r.trace_pending or r.samples_pending for r in self.runs.values()) or \
            (self._loader is not None and self._loader.busy())

    # ---- live data -------------------------------------------------------------------------------
    def poll(self) -> None:
        for run in self.runs.values():
            self._loader.poll(run.id, run.folder)

    def _on_polled(self, update: RunUpdate) -> None:
        run = self.runs.get(update.run_id)
        if run is None:
            return                                  # removed since
        if update.gone:                             # what it showed stays; its row says why it stopped
            run.polled = True
            self._update_row(run, "the run folder is gone")
            return
        self.plot.append(run.id, update.rows)
        self.plot.set_evals(run.id, update.evals)
        if update.settings and update.settings != run.settings:
            run.settings = update.settings
            self._update_noise_note()
        run.status = str(update.info.get("status", ""))
        if len(update.rows):
            run.step = int(update.rows.step[-1])
        if update.snapshot is not None:
            run.has_snapshot, run.trace_pending = True, False
            self._set_trace(run, update.snapshot.trace, f"snapshot at step {update.snapshot.step:,}")
        checkpoint_changed = update.checkpoint_mtime != run.checkpoint_mtime
        run.checkpoint_mtime = update.checkpoint_mtime
        if checkpoint_changed and update.checkpoint_mtime:
            if not run.has_snapshot:        # no snapshot.npz: the glimpses come from the checkpoint
                run.trace_pending = True
                self._loader.request_trace(run.id, run.folder)
            self._request_samples(run)
        elif not update.checkpoint_mtime and not run.polled:
            run.samples_pending = False
            run.column.set_samples(None, "no samples: no checkpoint.pt yet (it is written at the run's first save)", 8)
            if not run.has_snapshot:
                run.column.set_trace(None, "no glimpses yet: the run has written neither snapshot.npz nor "
                                           "checkpoint.pt", None)
        run.polled = True
        self._update_row(run, update.error)

    def _update_row(self, run: _Run, error: str = "") -> None:
        parts = [summary(run.settings) or "settings unknown"]
        if run.step:
            parts.append(f"step {run.step:,}" + (f", {run.status}" if run.status else ""))
        text = "\n".join(parts)
        run.row.summary.setText(text + (f"\n{error}" if error else ""))
        run.row.checkbox.setToolTip(f"{run.folder}\n{text}")

    def _set_trace(self, run: _Run, trace, source: str) -> None:
        run.column.set_trace(trace, source, self.example_combo.currentData())
        self._apply_view_options(run.column)
        self._update_timeline()

    def _show_traces(self) -> None:
        for run in self.runs.values():
            trace = run.column.trace()
            if trace is not None:
                run.column.set_trace(trace, run.column.source(), self.example_combo.currentData())
                self._apply_view_options(run.column)
        self._update_timeline()

    def _on_failed(self, failure: Failure) -> None:
        """A job of the loader failed: the run's row (a poll) or column (samples, glimpses) says
        why, and so does the window (`failed`)."""
        job: CompareJob = failure.subject
        run = self.runs.get(job.run_id)
        if run is not None and job.kind == "poll":
            if not run.polled:          # nothing is on its way until a poll succeeds
                run.samples_pending = False
                run.column.set_samples(None, f"no samples: the run could not be read ({failure.message})", 8)
            run.polled = True
            self._update_row(run, f"could not be read: {failure.message}")
        elif run is not None and job.kind in ("trace", "samples"):
            self._on_loaded(ModelResult(job.run_id, job.kind, error=failure.message))
        self.failed.emit(failure)

    def _on_loaded(self, result: ModelResult) -> None:
        run = self.runs.get(result.run_id)
        if run is None:
            return
        if result.kind == "trace":
            run.trace_pending = False
            if run.has_snapshot:
                return                              # a snapshot arrived meanwhile: it is newer
            if result.error:
                self._set_trace(run, None, f"no snapshot.npz, and no glimpses from the checkpoint: {result.error}")
            else:
                self._set_trace(run, result.trace, f"from checkpoint, step {result.step:,}{result.note}")
            return
        if result.seed != self.seed and not result.error:
            return                                  # an older seed's samples: the new ones are coming
        run.samples_pending = False
        per_row = int(round(len(result.images) ** 0.5)) if result.images is not None else 8
        if result.error:
            run.column.set_samples(None, f"no samples: {result.error}", per_row)
        else:
            run.column.set_samples(result.images, f"{len(result.images)} samples · seed {result.seed} · "
                                                  f"step {result.step:,}", per_row)

    # ---- samples ---------------------------------------------------------------------------------
    def new_seed(self) -> None:
        self.seed += 1
        self.request_samples()

    def request_samples(self, seed: int | None = None) -> None:
        """Every run's samples again, from `seed` (default: the current one)."""
        if seed is not None:
            self.seed = int(seed)
        for run in self.runs.values():
            if run.checkpoint_mtime:
                self._request_samples(run)

    def _request_samples(self, run: _Run) -> None:
        run.samples_pending = True
        self._loader.request_samples(run.id, run.folder, self.seed, self.count_combo.currentData())

    def _update_noise_note(self) -> None:
        note = noise_note([r.settings for r in self.runs.values()])
        self.noise_label.setText(note)
        self.noise_label.setVisible(bool(note))

    # ---- the shared timeline ---------------------------------------------------------------------
    def max_glimpses(self) -> int:
        return max((r.column.glimpse_count() for r in self.runs.values()), default=0)

    def _update_timeline(self) -> None:
        T = self.max_glimpses()
        self.timeline.set_count(T)
        for run in self.runs.values():      # one t axis for all KL bars, so glimpse t lines up
            run.column.glimpses.kl_plot.setXRange(0.5, max(T, 1) + 0.5, padding=0)
        self.set_t(min(self._t, max(T, 1)), force=True)

    def set_t(self, t: int, force: bool = False) -> None:
        """Glimpse t in every run (a run with T < t shows its final canvas and says so)."""
        T = self.max_glimpses()
        t = min(max(int(t), 1), max(T, 1))
        if t == self._t and not force:
            return
        self._t = t
        self.timeline.show_t(t, T)
        for run in self.runs.values():
            run.column.show_t(t)

    def set_box_palette(self, name: str) -> None:
        """Every run's glimpses draw their boxes in core.export.BOX_PALETTES[name]."""
        box_palette(name)                      # ValueError for an unknown name, before any change
        self._box_palette = name
        for run in self.runs.values():
            run.column.glimpses.set_box_palette(name)

    def _on_view_option(self) -> None:
        for run in self.runs.values():
            self._apply_view_options(run.column)

    def _apply_view_options(self, column: RunColumn) -> None:
        column.glimpses.boxes_checkbox.setChecked(self.boxes_checkbox.isChecked())
        column.glimpses.error_checkbox.setChecked(self.error_checkbox.isChecked())
        column.show_t(self._t)

    # ---- drops and closing -----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.add_runs([u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()])

    def shutdown(self) -> None:
        self.poll_timer.stop()
        self.timeline.play_timer.stop()
        if self._loader is not None:
            self._loader.shutdown()
