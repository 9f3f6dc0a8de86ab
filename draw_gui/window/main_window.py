"""The draw-gui main window: configure, train live, watch every glimpse, plot the loss.

Widgets hold only what they show; the TrainingWorker in its QThread owns the model and sends
plain data. The Run panel docks at the left; the tabs (Glimpses, Latent, Compare, Runs) sit above
the loss plot; the status bar names the device, the step and the rate.
"""
from __future__ import annotations

import enum
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QByteArray, QEvent, QSize, QThread, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractButton, QApplication, QDockWidget, QFileDialog, QFrame, QGridLayout,
                               QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton, QScrollArea, QSplitter,
                               QStyle, QTabWidget, QToolBar, QVBoxLayout, QWidget)

from core.export import BOX_PALETTES, DEFAULT_BOX_PALETTE
from draw_gui.follow import mode as follow_mode

from draw_gui.window import menus as window_menus
from draw_gui.text import format_duration
from draw_gui.compare.view import CompareView
from draw_gui.window.config_panel import ConfigPanel
from draw_gui.glimpses.view import GlimpseView
from draw_gui.workers.job_thread import keep_until_finished
from draw_gui.latent.view import LatentView
from draw_gui.widgets.loss_plot import LossPlot
from draw_gui.models.card import ShownModel, about_details, about_html, attention_text, best_eval
from draw_gui.models.chooser import TIP as CHOOSER_TIP, ModelChooser
from draw_gui.window.settings import Settings
from draw_gui.models.shipped import DEFAULT, is_shipped, model_of, shipped_model, shipped_models
from draw_gui.widgets.focus_ring import FocusRing
from draw_gui.widgets.slots import weakly
from draw_gui.widgets.theme import Banner, WarningLabel
from draw_gui.runs.runs_list import RunsList
from draw_gui.workers.messages import (BUSY_STATES, ENDED_STATES, TRAINING_STATES, CompilePhase, CompileStatus,
                                      Evaluation, Failure, FailureKind, LoadStage, RunState, StatusLine)
from draw_gui.workers.training import AUTOSAVE_MINUTES, RunSetup, TrainingWorker

if TYPE_CHECKING:
    from core.trace import GlimpseTrace
    from draw_gui.follow.mode import FollowMode
    from draw_gui.workers.training import MetricsUpdate, ModelWeights, RunInfo


class _Unchanged(enum.Enum):
    """A save target a request leaves as it is (Continue training of the model trained here)."""
    KEEP = "keep"


# The smallest size a new window opens at, where the screen allows (see _fit_to_screen), and what a window
# manager's frame adds (title bar, borders) to keep off the screen's edge.
PREFERRED_SIZE = QSize(1280, 820)
SCREEN_SHARE = 0.85          # ... or this share of a larger screen, so the pictures grow with it
FRAME_ALLOWANCE = QSize(16, 40)
_KEEP = _Unchanged.KEEP  # _Load.save_path: leave the save target as it is

# What a request to the worker is: Start, `train --display`, Open checkpoint (or a run to continue
# in its folder), a model shown read-only, Continue training.
LoadKind = Literal["start", "display", "open", "view", "continue"]

FAILURE_TITLES = {FailureKind.CHECKPOINT: "Unusable checkpoint",
                  FailureKind.NAN: "Training paused: loss is not a number",
                  FailureKind.SAVE: "Could not save", FailureKind.CONFIG: "Impossible configuration",
                  FailureKind.ERROR: "Error"}

COMPILING = " · compiling…"   # the device field while a background compilation builds the step
# The status bar's last field once a run of the window's own stops training (images/s and ETA meanwhile)
STATE_WORDS = {RunState.PAUSED: "paused: Space or Resume goes on", RunState.STOPPED: "stopped",
               RunState.FINISHED: "finished", RunState.FAILED: "failed"}


@dataclass
class _Load:
    """A request to the worker, until its model is ready (or it failed)."""
    token: int
    kind: LoadKind
    shown: ShownModel         # what the window shows once it is ready
    previous_state: RunState  # the state a failed load goes back to
    save_path: str | None | _Unchanged = None  # what Ctrl+S saves to once it is ready (_KEEP: unchanged)
    quiet: bool = False       # the start-up model: a failure is a status-bar message, not a dialog


def _scrolling(view: QWidget) -> QScrollArea:
    """`view` in a scroll area: a tab that needs more room than a small screen has scrolls rather
    than making the window wider than the screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(view)
    return area


class _WholeHeightScroll(QScrollArea):
    """A scroll area that asks for its widget's whole height: given the room it shows all of it and
    what follows it in a layout sits just below; short of room it shrinks and scrolls."""

    def sizeHint(self) -> QSize:
        widget = self.widget()
        if widget is None:
            return super().sizeHint()
        hint = widget.sizeHint()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(), hint.height() + 2 * self.frameWidth())

    def eventFilter(self, watched, event) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()     # its height changed (a note shown or hidden): ask again
        return super().eventFilter(watched, event)


class MainWindow(QMainWindow):
    """The window. Besides its commands (start, open_checkpoint, follow_run, ...), what other
    modules use of it (follow mode: draw_gui.follow.mode.FollowHost) is public and documented:

    - state, settings, follow, and the views config_panel, loss_plot, glimpse_view, latent_view
      (and follow_recent_menu, made by window.menus);
    - set_state, show_error, show_message, show_failure, show_run_status, clear_run_status and
      set_glimpse_refresh.
    """

    start_requested = Signal(object)  # RunSetup, to the worker thread

    def __init__(self, settings: Settings | None = None, open_model: bool = True):
        """open_model: once shown, show the shipped model draw-gui opens on (shipped_models.DEFAULT)
        unless something else was asked for first."""
        super().__init__()
        from draw_gui.workers.gui_gc import collect_in_gui_thread
        collect_in_gui_thread()   # never a Qt object freed by the training thread's garbage collection
        self.settings = settings or Settings()
        self.setWindowTitle("draw-gui")
        self._state = RunState.IDLE   # the state property; set_state changes it
        self.run_info: RunInfo | None = None      # of the model shown (view_only: shown, not training)
        self.shown: ShownModel | None = None      # which model that is (title, chooser, About this model)
        self.checkpoint_path: str | None = None   # where Ctrl+S saves without asking
        self.follow: FollowMode | None = None     # while following a run folder
        self._token = 0                           # the newest request to the worker
        self._pending: _Load | None = None        # that request, until its model is ready
        self._stale = False                       # the worker's last ready answered an older request
        self._restore_state: RunState | None = None  # where a failed load leaves the window
        self._open_model_on_show = open_model
        self._autoplay = False                    # play the next snapshot's glimpses once (start-up)
        self._previewing = False                  # the start-up model's shipped glimpses play meanwhile
        self.snapshot_pending = False             # the model shown has not sent its glimpses yet
        self._startup_token = -1                  # the request of the model the window opened on
        self._closed = False
        self._remembered: set[str] = set()        # run folders this window listed in the Runs tab
        self._build_worker()
        self._build_widgets()
        window_menus.build_menus(self)    # also connects the Run panel's buttons
        # A button clicked with the mouse does not keep the keyboard focus (Tab still reaches it): the
        # window's keys (Space: pause / resume) then work after clicking Play, Start or a checkbox.
        for button in self.findChildren(QAbstractButton):
            if button.focusPolicy() & Qt.ClickFocus:
                button.setFocusPolicy(Qt.TabFocus)
        self._build_toolbar()
        self.focus_ring = FocusRing(self)   # where Tab has put the keyboard focus
        self._restore_settings()
        self._update_controls()
        self.setAcceptDrops(True)  # a checkpoint or a run folder dropped anywhere opens (the Compare tab adds runs)

    # ---- construction --------------------------------------------------------------------------
    def _build_worker(self):
        # Not a child of the window: a closed window is freed while a step or a data set still
        # loading may keep the thread busy, and a running QThread destroyed with it aborts the
        # process. job_thread holds the thread and its worker until the thread has finished.
        self.thread = QThread()
        self.thread.setObjectName("draw-gui training")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        keep_until_finished(self.thread, self.worker, stop=self.worker.stop)
        self.start_requested.connect(self.worker.start)
        self.worker.ready.connect(self._on_ready)
        self.worker.metrics.connect(self._on_metrics)
        self.worker.snapshot.connect(self._on_snapshot)
        self.worker.evaluated.connect(self._on_evaluated)
        self.worker.state_changed.connect(self._on_state)
        self.worker.stage.connect(self._on_stage)
        self.worker.failed.connect(self._on_failed)
        self.worker.saved.connect(self._on_saved)
        self.worker.autosaved.connect(self._on_autosaved)
        self.worker.compile_status.connect(self._on_compile_status)
        self.worker.weights.connect(self._on_weights)
        self._glimpse_refresh: Callable[[], None] = self.worker.request_snapshot  # set_glimpse_refresh
        self.thread.start()

    def _build_widgets(self):
        self.config_panel = ConfigPanel()
        # Slots that name the window are bound methods or weakly(...): a lambda holding the window,
        # connected to a widget's signal, is held by Qt for the widget's life and keeps a closed
        # window (and its models) from ever being freed.
        self.config_panel.validity_changed.connect(lambda _, update=weakly(self._update_controls): update())
        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.SP_MediaPlay), "Start")
        self.pause_button = QPushButton(style.standardIcon(QStyle.SP_MediaPause), "Pause")
        self.step_button = QPushButton(style.standardIcon(QStyle.SP_MediaSkipForward), "Step")
        self.stop_button = QPushButton(style.standardIcon(QStyle.SP_MediaStop), "Stop")
        self.continue_button = QPushButton(style.standardIcon(QStyle.SP_MediaSeekForward), "Continue training")
        buttons = QGridLayout()
        buttons.addWidget(self.start_button, 0, 0)
        buttons.addWidget(self.continue_button, 0, 1, 1, 2)
        for column, b in enumerate((self.pause_button, self.step_button, self.stop_button)):
            buttons.addWidget(b, 1, column)
        # Its 16 fields (and the note beside a model shown read-only) are taller than a 768-pixel
        # screen leaves: they scroll rather than set the window's minimum height. The buttons
        # follow them outside the scrolling, so Start and Continue training are always in sight.
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.config_panel)
        side_layout.addStretch(1)
        scroll = _WholeHeightScroll()
        scroll.setAccessibleName("Run settings")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.NoFocus)    # Tab goes to the fields, not to the area around them
        scroll.setWidget(side)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(side.minimumSizeHint().width() + bar)
        dock_body = QWidget()
        dock_layout = QVBoxLayout(dock_body)
        dock_layout.setContentsMargins(0, 0, 0, 0)
        dock_layout.addWidget(scroll)
        margin = side_layout.contentsMargins()
        buttons.setContentsMargins(margin.left(), 0, margin.right(), margin.bottom())
        dock_layout.addLayout(buttons)
        dock_layout.addStretch(1)
        dock_body.setMaximumWidth(330 + bar)
        self.config_dock = QDockWidget("Run", self)
        self.config_dock.setObjectName("run_dock")
        self.config_dock.setWidget(dock_body)
        # Closable: View → Run hides and shows it (a small screen needs the room)
        self.config_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                                     | QDockWidget.DockWidgetClosable)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.config_dock)

        self.banner = Banner("warning")   # its colours follow the system's light or dark scheme
        self.banner.hide()
        self.glimpse_view = GlimpseView()
        self.glimpse_view.refresh_requested.connect(self._glimpse_refresh)
        self.glimpse_view.settings = self.settings  # save dialogs remember their folder
        self.glimpse_view.history.settings = self.settings
        self.tabs = QTabWidget()
        self.tabs.addTab(self.glimpse_view, "Glimpses")
        self.latent_view = LatentView(self.settings)
        self.latent_view.failed.connect(self._on_view_failed)
        self.tabs.addTab(self.latent_view, "Latent")
        from draw_gui.sketch.view import SketchView
        self.sketch_view = SketchView()       # draw a digit, watch the model read it
        self.sketch_view.glimpse_view.settings = self.settings
        self.sketch_view.anchor_requested.connect(self._on_sketch_anchor)
        self.sketch_tab = _scrolling(self.sketch_view)
        self.tabs.addTab(self.sketch_tab, "Sketch")
        self.compare_view = CompareView(self.settings)
        self.compare_view.failed.connect(self._on_view_failed)
        self.tabs.addTab(self.compare_view, "Compare")
        from draw_gui.runs.paths import runs_root
        self.runs_list = RunsList(roots=[runs_root()], remembered=self._run_folders(),
                                  hidden=self._hidden_runs())
        self.runs_list.open_requested.connect(self.open_run)
        self.runs_list.continue_requested.connect(self.continue_run)
        self.runs_list.compare_requested.connect(lambda folder, compare=weakly(self.compare_runs): compare([folder]))
        self.runs_list.follow_requested.connect(self.follow_run)
        self.runs_list.remove_requested.connect(self._hide_run)
        self.tabs.addTab(self.runs_list, "Runs")
        from draw_gui.playground.filterbank import FilterbankPlayground
        self.filterbank_view = FilterbankPlayground()
        self.filterbank_view.settings = self.settings   # the image-file dialog remembers its folder
        self.filterbank_view.model_canvas = self.glimpse_view.current_canvas
        self.filterbank_tab = _scrolling(self.filterbank_view)
        self.tabs.addTab(self.filterbank_tab, "Filterbank")
        self.tabs.currentChanged.connect(self._on_tab)
        self.loss_plot = LossPlot()
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.loss_plot)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([560, 300])  # the glimpses are the show; the plot gets the rest
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter)
        self.setCentralWidget(central)

        status = self.statusBar()
        self.device_label = QLabel("no run")
        self.step_label = QLabel("")
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setRange(0, 1000)
        self.epoch_bar.setMaximumWidth(160)
        self.epoch_bar.setFormat("epoch %p%")
        self.epoch_bar.setToolTip("progress through the current epoch")
        self.rate_label = WarningLabel("", warning=False, bold=True)   # amber while status.warning
        self.load_bar = QProgressBar()    # while a model loads: its stage of all (LoadStage)
        self.load_bar.setMaximumWidth(90)
        self.load_bar.setFormat("%v/%m")
        self.load_bar.setToolTip("what is loading: this stage of all its stages")
        self.load_bar.hide()
        self.epoch_bar.hide()   # until something trains
        for w in (self.load_bar, self.device_label, self.step_label, self.epoch_bar, self.rate_label):
            status.addPermanentWidget(w)

    def _on_tab(self, _index):
        # The loss plot below is the live run's. Comparing runs (it has its own plot), drawing a digit
        # and playing with a filterbank need the room more than the training curves.
        current = self.tabs.currentWidget()
        self.loss_plot.setVisible(current not in (self.compare_view, self.sketch_tab, self.filterbank_tab))

    def _build_toolbar(self):
        """Model: [chooser] (i): the model every tab shows, and its card."""
        bar = self.model_toolbar = QToolBar("Model", self)
        bar.setObjectName("model_toolbar")
        bar.setMovable(False)
        label = QLabel(" Model ")
        label.setToolTip(CHOOSER_TIP)
        self.model_chooser = ModelChooser()
        self.model_chooser.refresh = weakly(self._fill_models)
        self.model_chooser.chosen.connect(self._on_model_chosen)
        bar.addWidget(label)
        bar.addWidget(self.model_chooser)
        bar.addAction(self.about_model_action)
        self.addToolBar(Qt.TopToolBarArea, bar)

    # ---- settings --------------------------------------------------------------------------------
    def _restore_settings(self):
        self.config_panel.set_values(self.settings.get("config", {}))
        self.set_box_palette(self.box_palette())
        geometry = self.settings.get("geometry")
        if not (geometry and self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))):
            screen = self.screen() or QGuiApplication.primaryScreen()
            room = screen.availableGeometry().size() * SCREEN_SHARE if screen is not None else PREFERRED_SIZE
            self.resize(PREFERRED_SIZE.expandedTo(room))   # _fit_to_screen shrinks it where the screen is small
        self._fit_to_screen()
        state = self.settings.get("window_state")
        if state:
            self.restoreState(QByteArray.fromBase64(state.encode()))
        splitter = self.settings.get("splitter")
        if splitter:
            self.splitter.restoreState(QByteArray.fromBase64(splitter.encode()))
        self._fill_recent()
        if self.settings.problem:
            QTimer.singleShot(0, self, lambda: self.show_error("Settings", self.settings.problem))

    def _fit_to_screen(self):
        """Keep the whole window, title bar and status bar included, on the screen it opens on: a
        1024×768 laptop gets a smaller window, and a size saved on a larger monitor shrinks."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        available = screen.availableGeometry()
        size = self.size().boundedTo(available.size() - FRAME_ALLOWANCE).expandedTo(self.minimumSizeHint())
        self.resize(size)
        if not available.contains(self.geometry()):
            # centred in what the screen leaves, then (if the frame still overhangs) its top left on screen
            x = available.x() + max(0, (available.width() - size.width()) // 2)
            y = available.y() + max(0, (available.height() - size.height() - FRAME_ALLOWANCE.height()) // 2)
            self.move(x, y)

    def save_settings(self):
        # While following, the Run panel shows another run's settings: the user's own are kept.
        self.settings.set("config", self.follow.user_config if self.follow is not None else self.config_panel.values())
        self.settings.set("geometry", bytes(self.saveGeometry().toBase64()).decode())
        self.settings.set("window_state", bytes(self.saveState().toBase64()).decode())
        self.settings.set("splitter", bytes(self.splitter.saveState().toBase64()).decode())
        self.settings.save()

    def _fill_recent(self):
        self.recent_menu.clear()
        for path in self.settings.get("recent", []):
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path, open_=weakly(self.open_checkpoint): open_(p))
        self.recent_menu.setEnabled(bool(self.settings.get("recent")))
        if hasattr(self, "model_chooser"):
            self._fill_models()

    def _fill_models(self):
        """The chooser's entries: shipped models, recent checkpoints, recent runs that have one."""
        runs = [r for r in self.settings.get("recent_runs", []) if (Path(r) / "checkpoint.pt").is_file()]
        self.model_chooser.fill(shipped_models(), self.settings.get("recent", []), runs)
        self._sync_chooser()

    def _sync_history(self):
        folder = self._history_folder()
        self.glimpse_view.history.set_folder(folder)
        self.latent_view.history.set_folder(folder)

    def _history_folder(self) -> Path | None:
        """The run folder whose training history the Glimpses tab replays: the followed run's,
        the window's run's, or the run folder a checkpoint shown came from."""
        from core.runfolder import is_run_folder
        if self.follow is not None:
            return Path(self.follow.path)
        if self.run_info is not None and self.run_info.run_folder:
            return Path(self.run_info.run_folder)
        if self.shown is not None and self.shown.path and is_run_folder(Path(self.shown.path).parent):
            return Path(self.shown.path).parent
        return None

    def _sync_chooser(self):
        """The chooser, and the training history the tabs replay, follow the model shown."""
        self._sync_history()
        shown = self.shown
        if self.follow is not None:
            shown = ShownModel(f"following {self.follow.path.name}")
        self.model_chooser.show_model(shown)

    # ---- commands --------------------------------------------------------------------------------
    def showEvent(self, event):
        super().showEvent(event)
        if self._open_model_on_show:
            self._open_model_on_show = False
            QTimer.singleShot(0, self, self._open_startup_model)  # after the first paint

    def _open_startup_model(self):
        """The shipped model the window opens on, unless the user (or the command line) asked
        for something else first."""
        if self._closed or self._token or self.follow is not None or self.state is not RunState.IDLE:
            return
        model = shipped_model(DEFAULT) or next(iter(shipped_models()), None)
        if model is None:
            return  # a build without models opens on an empty window
        self._show_preview(model)
        # The model loads once the preview is on screen: the worker's torch import would otherwise
        # compete with painting it for the interpreter.
        QTimer.singleShot(0, self, lambda: self._load_startup_model(model.name))

    def _load_startup_model(self, name: str):
        if self._closed or self._token or self.follow is not None or self.state is not RunState.IDLE:
            return  # the user asked for something else meanwhile
        if self.open_shipped(name, quiet=True):
            self._startup_token = self._token
            self.model_chooser.show_model(ShownModel(f"loading {name} (shipped)…"))

    def _show_preview(self, model):
        """The shipped model's own glimpses (its snapshot.npz) play at once, and its loss curves
        (metrics.csv, eval.csv) are drawn, all read with numpy alone, while torch and the model
        load in the worker (seconds, more on a cold start); what the worker sends is the same."""
        from core.runfolder import RunReader, load_trace
        try:
            _, trace = load_trace(model.folder / "snapshot.npz")
            self.glimpse_view.set_trace(trace)
        except Exception:  # noqa: BLE001 - no preview: the glimpses come with the model as before
            return
        reader = RunReader(model.folder)
        m, evals = reader.new_metrics(), reader.evals()
        self.loss_plot.set_history(m.step, m.loss, m.recon, m.kl, [e["step"] for e in evals],
                                   [e["nll_bound"] for e in evals])
        # the status bar gives its figures from its card too, rather than "no run" while it loads
        training = model.card.get("training", {})
        step = training.get("steps", int(m.step[-1]) if len(m.step) else 0)
        self._show_model_figures(step, training.get("epochs"), best_eval(evals))
        self.device_label.setText("loading…")
        self.device_label.setToolTip("its weights are loading; the figures beside come from its card")
        self.glimpse_view.set_t(1)
        self.glimpse_view.timeline.play_button.setChecked(True)
        self._previewing = True

    def start(self, out: str | None = None):
        """Train a new model with the Run panel's settings, in the run folder `out` (None: a new
        folder under the runs folder, draw_gui.runs.paths)."""
        if not self.start_action.isEnabled():
            return
        if not self._keep_unsaved("starting a new model"):
            return
        model, train = self.config_panel.configs()
        v = self.config_panel.values()
        setup = RunSetup(model=model, train=train, dataset=v["dataset"],
                         data_dir=(v["data_dir"] or None) if v["dataset"] != "folder" else None,
                         folder=v["data_dir"] if v["dataset"] == "folder" else None,
                         image_size=v["image_size"] if v["dataset"] == "folder" else None,
                         checkpoint=None, out=out or None)
        self.checkpoint_path = None  # a new run must never be saved over the last one's file
        self.loss_plot.clear()
        self.glimpse_view.set_trace(None)
        self.save_settings()
        self._request(setup, "start", ShownModel("new model"), save_path=None)
        where = "your image folder" if v["dataset"] == "folder" else self.config_panel.dataset.currentText()
        self.show_message(f"loading {where} and building the model… (the first time, a data set may download)")
        self.set_state(RunState.LOADING)

    def start_with(self, setup: RunSetup):
        """Start a run prepared elsewhere (the command line's --display), showing its settings."""
        self.config_panel.show_configs(setup.model, setup.train, setup.dataset,
                                       setup.folder or setup.data_dir or "", setup.image_size)
        path = setup.checkpoint
        shown = ShownModel("new model")
        if path and is_shipped(path):  # `train --display --restore mnist`: a copy trains here
            shipped = model_of(path)
            base = f"{shipped.name} (shipped)" if shipped else Path(path).name
            shown = ShownModel(f"{base}, continued", None, shipped, continued_from=base)
            path = None
        elif path:
            shown = ShownModel(Path(path).name, path)
        self.checkpoint_path = path
        self.loss_plot.clear()
        self._request(setup, "display", shown, save_path=path)
        self.set_state(RunState.LOADING)

    def continue_training(self):
        """Train the model shown further (RunSetup.continue_training): a model shown read-only
        from its file, one that trained or was opened here from the worker's copy in memory."""
        if not self.continue_action.isEnabled():
            return
        base, info = self.shown, self.run_info
        _, train = self.config_panel.configs()
        v = self.config_panel.values()
        view = info.view_only
        setup = RunSetup(model=info.model, train=train, checkpoint=base.path if view else None,
                         data_dir=(v["data_dir"] or None) if v["dataset"] != "folder" else None,
                         continue_training=True, from_current=not view)
        if view:  # a copy trains: the file shown is never written (Ctrl+S asks where)
            shown = ShownModel(f"{base.name}, continued", None, base.shipped, continued_from=base.name)
            save_path = None
        else:
            shown, save_path = base, _KEEP
        self.statusBar().showMessage(
            f"continuing {base.name} from step {info.step:,}: {train.epochs} more epoch"
            f"{'s' if train.epochs != 1 else ''} at batch size {train.batch_size:,} (the Run panel's)…")
        self._request(setup, "continue", shown, save_path=save_path)
        self.set_state(RunState.LOADING)

    def toggle_pause(self):
        focused = QApplication.focusWidget()
        if self.sender() is self.pause_action and isinstance(focused, QAbstractButton):
            focused.click()  # Space on a focused button or checkbox means that control
            return
        if self.state is RunState.RUNNING:
            self.worker.pause()
        elif self.state is RunState.PAUSED:
            self.worker.resume()

    def step_once(self):
        if self.state is RunState.PAUSED:
            self.worker.step_once()

    def stop(self):
        if self.state in (RunState.RUNNING, RunState.PAUSED):
            self.worker.stop()
            if not self.worker.running:  # paused after a NaN: no loop to end
                self.set_state(RunState.STOPPED)

    def open_checkpoint(self, path: str | None = None):
        """Open a checkpoint to train on: paused, Resume continues it, Ctrl+S saves over it. The
        file of a shipped model is shown read-only instead (open_shipped)."""
        if self.state in (RunState.RUNNING, RunState.LOADING):
            self.show_error("Open checkpoint", "Stop the current run before opening a checkpoint.")
            return
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", self.settings.get("checkpoint_dir", ""),
                                                  "draw-gui checkpoints (*.pt);;All files (*)")
            if not path:
                return
        if model_of(path) is not None:
            self.open_shipped(model_of(path).name)
            return
        if not self._keep_unsaved("opening another model"):
            return
        self.settings.set("checkpoint_dir", str(Path(path).parent))
        model, train = self.config_panel.configs() if self.config_panel.is_valid() else (None, None)
        from core.config import DrawConfig, TrainConfig
        setup = RunSetup(model=model or DrawConfig(), train=train or TrainConfig(), checkpoint=path,
                         data_dir=self.config_panel.values()["data_dir"] or None, paused=True)
        self._request(setup, "open", ShownModel(Path(path).name, path), save_path=path)
        self.show_message(f"opening {path} and loading its data set…")
        self.set_state(RunState.LOADING)

    def open_shipped(self, name: str, quiet: bool = False) -> bool:
        """Show a model that ships with draw-gui (shipped_models.py), read-only."""
        model = shipped_model(name)
        if model is None:
            self.show_error("Open shipped model", f"There is no shipped model called {name!r}.")
            return False
        shown = ShownModel(f"{model.name} (shipped)", str(model.checkpoint), model, read_only=True)
        return self.view_checkpoint(str(model.checkpoint), shown, quiet=quiet)

    def view_checkpoint(self, path: str, shown: ShownModel | None = None, quiet: bool = False) -> bool:
        """Show a checkpoint's model read-only in every tab (RunSetup.view_only): nothing trains
        and nothing is written; Continue training trains a copy. False when nothing was asked for."""
        if self.state in (RunState.RUNNING, RunState.LOADING):
            if not quiet:
                self.show_error("Open model", "Stop the current run before opening another model.")
            return False
        if self.follow is not None:
            self.stop_following(reopen=False)
        if not self._keep_unsaved("opening another model"):
            return False
        shown = shown or ShownModel(Path(path).name, str(path), read_only=True)
        from core.config import DrawConfig, TrainConfig
        v = self.config_panel.values()
        setup = RunSetup(model=DrawConfig(), train=TrainConfig(), checkpoint=str(path), view_only=True,
                         data_dir=(v["data_dir"] or None) if v["dataset"] != "folder" else None)
        if not quiet:
            self.statusBar().showMessage(f"loading {shown.name}…")
        self._request(setup, "view", shown, save_path=None, quiet=quiet)
        return True

    def _on_model_chosen(self, kind: str, value: str):
        token = self._token
        if kind == "shipped":
            self.open_shipped(value)
        elif kind == "file":
            self.open_checkpoint(value)
        elif kind == "run":
            path = str(Path(value) / "checkpoint.pt")
            self.view_checkpoint(path, ShownModel(f"run {Path(value).name}", path, read_only=True))
        elif kind == "browse":
            self.open_checkpoint()
        if self._token == token:  # refused or cancelled: the chooser names the model shown again
            self._sync_chooser()

    def _request(self, setup: RunSetup, kind: LoadKind, shown: ShownModel,
                 save_path: str | None | _Unchanged = None, quiet: bool = False):
        """Send `setup` to the worker; whatever was asked for before stays silent from now on."""
        self._token += 1
        setup.token = self._token
        setup.autosave_minutes = self.autosave_minutes()
        setup.tensorboard = setup.tensorboard or self.tensorboard_enabled()
        setup.background_compile = self.background_compile_enabled()
        self.worker.newest = self._token
        self._pending = _Load(self._token, kind, shown, self.state, save_path, quiet)
        if self.worker.running:  # paused: end that run's loop so the worker can load this one
            self.worker.stop()
        self.start_requested.emit(setup)
        self._update_controls()

    def _supersede(self):
        """Nothing asked for so far may change the window any more (following a run)."""
        self._token += 1
        self.worker.newest = self._token
        self._pending = None
        self.load_bar.hide()

    def start_in_folder(self):
        """Start, writing the run into a folder the user picks (File → Start in folder…)."""
        if not self.start_action.isEnabled():
            return
        from draw_gui.runs.paths import runs_root
        folder = QFileDialog.getExistingDirectory(self, "Run folder for the new run", str(runs_root()))
        if folder:
            self.start(out=folder)

    def autosave_minutes(self) -> float:
        """The run folder's checkpoint is written this often while training (File → Autosave)."""
        minutes = self.settings.get("autosave_minutes", AUTOSAVE_MINUTES)
        return float(minutes) if isinstance(minutes, (int, float)) and 0 <= minutes <= 24 * 60 else AUTOSAVE_MINUTES

    def box_palette(self) -> str:
        """The attention boxes' colours (a name in core.export.BOX_PALETTES), as View ▸ Box colours
        chose them; an unknown name in the settings file gives the classic green / red."""
        name = self.settings.get("box_colours", DEFAULT_BOX_PALETTE)
        return name if name in BOX_PALETTES else DEFAULT_BOX_PALETTE

    def tensorboard_enabled(self) -> bool:
        """Whether runs started here write TensorBoard events too (Run > Write TensorBoard logs)."""
        return self.settings.get("tensorboard", False) is True

    def background_compile_enabled(self) -> bool:
        """Whether long CPU runs started here build the compiled training step in another process
        and switch to it (Run > Compile the training step in the background; on by default)."""
        return self.settings.get("background_compile", True) is not False

    def set_background_compile(self, on: bool):
        self.settings.set("background_compile", bool(on))
        self.settings.save()
        self.statusBar().showMessage("runs started from now on " + (
            "switch to a compiled training step once it is built in the background" if on else
            "train the plain step only"), 8000)

    def set_tensorboard(self, on: bool):
        """Write TensorBoard events in the run folders of runs started from now on; said at once
        when the tensorboard package is missing."""
        from core import tensorboard
        problem = tensorboard.missing() if on else None
        if problem:
            self.tensorboard_action.setChecked(False)
            self.show_error("TensorBoard", problem + ".")
            return
        self.settings.set("tensorboard", bool(on))
        self.settings.save()

    def set_box_palette(self, name: str):
        """Draw the read and write boxes in BOX_PALETTES[name] in every view and saved image, and
        remember the choice."""
        if name not in BOX_PALETTES:
            raise ValueError(f"unknown box colours {name!r}")
        self.settings.set("box_colours", name)
        for view in (self.glimpse_view, self.latent_view.drawing, self.compare_view, self.sketch_view.glimpse_view):
            view.set_box_palette(name)
        action = getattr(self, "box_colour_actions", {}).get(name)
        if action is not None and not action.isChecked():
            action.setChecked(True)

    def set_autosave_minutes(self, minutes: float):
        """Takes effect for the next run (the one training keeps its interval)."""
        self.settings.set("autosave_minutes", minutes)
        self.statusBar().showMessage(f"runs started from now on autosave every {minutes:g} min "
                                     "(and at every Pause, Stop and close)", 8000)

    def _keep_unsaved(self, doing: str) -> bool:
        """True when the model may be replaced: nothing unsaved, or it is now saved in its run
        folder, or the user saved or discarded it."""
        if self.run_info is None or not self.worker.dirty:
            return True
        if self.run_info.run_folder and self.worker.autosave_and_wait():
            return True  # everything trained is in its run folder: nothing to ask
        box = QMessageBox(QMessageBox.Question, "Save progress?",
                          f"The model has trained since it was last saved. Save a checkpoint before {doing}?",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
        answer = self._exec(box)
        if answer == QMessageBox.Cancel:
            return False
        if answer == QMessageBox.Save:
            self.worker.pause()
            path = self.checkpoint_path or self._ask_save_path()
            if not path or not self.worker.save_and_wait(path):
                return False  # not saved: keep the model (the error dialog says why)
        return True

    def about_model(self):
        """Help → About this model: the model card of the model shown."""
        if self.shown is None or self.run_info is None:
            self.show_error("About this model", "No model is shown yet.")
            return
        box = QMessageBox(QMessageBox.Information, "About this model", about_html(self.shown, self.run_info),
                          QMessageBox.Ok, self)
        box.setTextFormat(Qt.RichText)
        details = about_details(self.shown)
        if details:
            box.setDetailedText(details)
        self._exec(box)

    def save_checkpoint(self, ask: bool = False):
        if self.run_info is None:
            self.show_error("Save checkpoint", "There is no model to save yet: press Start first.")
            return
        if self.run_info.view_only:
            self.show_error("Save checkpoint", f"{self.shown.name} is shown read-only and already saved in "
                                               "its file. Continue training trains a copy you can save.")
            return
        path = self.checkpoint_path
        if ask or not path:
            path = self._ask_save_path(path)
            if not path:
                return
        self.checkpoint_path = path
        self.worker.save(path)

    def _ask_save_path(self, current: str | None = None) -> str | None:
        """The save dialog; never a shipped model's file (those are package data)."""
        folder = self.settings.get("checkpoint_dir") or os.getcwd()
        if is_shipped(Path(folder) / "x.pt"):
            folder = str(Path.home())
        name = f"{self.shown.shipped.name}-continued.pt" if self.shown and self.shown.shipped else "draw-checkpoint.pt"
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", current or str(Path(folder) / name),
                                              "draw-gui checkpoints (*.pt)")
        if path and is_shipped(path):
            self.show_error("Save checkpoint", f"{path} belongs to a model that ships with draw-gui, and shipped "
                                               "models are never overwritten. Choose another file.")
            return None
        return path or None

    def compare_runs(self, paths=None):
        """The Compare tab, with `paths` (run folders or checkpoints) added, or a dialog asking."""
        self.tabs.setCurrentWidget(self.compare_view)
        if paths is None:
            self.compare_view.add_runs_dialog()
        else:
            self.compare_view.add_runs(paths)

    def follow_run(self, path: str | None = None) -> bool:
        """Show a run folder another process writes, live, instead of training here (follow_mode.py)."""
        return follow_mode.follow(self, path)

    def stop_following(self, reopen: bool = True):
        follow_mode.stop(self)
        if reopen and self.run_info is not None and self.run_info.view_only and self.shown and self.shown.path:
            self.view_checkpoint(self.shown.path, self.shown, quiet=True)  # what was shown before

    # ---- worker signals --------------------------------------------------------------------------
    def _on_ready(self, info: RunInfo):
        if info.token != self._token:  # an older request's model: a newer one is on its way
            self._stale = True
            return
        self._stale = False
        self._loaded()   # "loading …" is over: what follows says what is shown
        load, self._pending = self._pending, None
        load = load or _Load(info.token, "start", ShownModel("new model"), self.state)
        finished_run = load.kind == "open" and info.view_only   # its last epoch had trained: shown instead
        if finished_run:
            load = replace(load, shown=replace(load.shown, read_only=True), save_path=None)
        self.run_info, self.shown = info, load.shown
        if load.save_path is not _KEEP:
            self.checkpoint_path = load.save_path
        if load.kind == "open":
            self.settings.add_recent(load.shown.path)
            self._fill_recent()
        if load.kind in ("start", "open", "display"):
            self.config_panel.show_configs(info.model, info.train, info.dataset)
        # A model shown read-only keeps the user's settings in the Run panel (they are Start's):
        # the panel says so, and where they differ from the model shown.
        self.config_panel.show_model(load.shown.name if info.view_only else None, info.model, info.dataset)
        m = info.model
        parts = [load.shown.name, info.dataset, attention_text(m), f"T {m.glimpses}"]
        if info.view_only:
            parts.append(f"step {info.step:,}")
        self.setWindowTitle("draw-gui — " + " · ".join(parts))
        h = info.history
        empty = []
        self.loss_plot.set_history(h.get("step", empty), h.get("loss", empty), h.get("recon", empty),
                                   h.get("kl", empty), [e["step"] for e in info.evals],
                                   [e["nll_bound"] for e in info.evals])
        startup = load.token == self._startup_token
        if not (startup and self._previewing):  # the start-up preview plays on: the same glimpses follow
            self.glimpse_view.timeline.play_button.setChecked(False)
        self._autoplay = startup and not self._previewing  # watch the first model draw, once
        self._previewing = False
        self.snapshot_pending = True
        self.epoch_bar.setVisible(not info.view_only)
        if info.view_only:
            self.device_label.setText("shown read-only")
            self.device_label.setToolTip("nothing trains: Continue training trains it further")
            # Epochs of images seen (a shipped model's card, else the checkpoint's count): the
            # epoch counter counts steps at the last run's batch size, which for a model continued
            # at another batch size is not what it saw (the shipped mnist went on at batch 128 after 1,024)
            card = load.shown.shipped.card.get("training", {}) if load.shown.shipped is not None else {}
            seen = card.get("epochs", info.epochs_seen)
            self._show_model_figures(info.step, seen if seen is not None else info.epoch or None,
                                     best_eval(info.evals))
            self.set_state(RunState.IDLE)  # nothing trains: Start and Continue training are offered
            hint = ("Continue training trains it further; Start, a new one"   # short: it shares the bar
                    if load.shown.shipped is not None else "Continue training trains a copy of it")
            if finished_run:
                hint = f"its run ended at step {info.step:,}, so it is shown read-only; {hint} for more epochs"
            self.statusBar().showMessage(f"{load.shown.name}: {hint}", 15000)
        else:
            self.device_label.setText(f"{info.device} · {info.threads} thread{'s' if info.threads > 1 else ''}")
            self.rate_label.setText("")
            self._show_step(info.step, info.total_steps, info.steps_per_epoch)
        if load.kind == "continue" and info.trained_batch:
            self.statusBar().showMessage(
                f"continuing {load.shown.continued_from or load.shown.name} from step {info.step:,} at batch size "
                f"{info.train.batch_size:,} (the Run panel's; it was trained at {info.trained_batch:,}), its "
                f"learning rate schedule where it left off; {info.total_steps - info.step:,} steps to go", 15000)
        self._sync_chooser()
        self._update_controls()
        if info.sample_data:
            self.banner.set_kind("warning")
            what = ("10,000 two-digit images made from the embedded MNIST sample" if info.dataset == "two-digit-mnist"
                    else "the embedded MNIST sample (10,000 digits)")
            self.banner.setText(f"Training on {what}: the full MNIST was not "
                                f"found in {self._data_folder_shown()} and could not be downloaded. Choose a data folder "
                                "holding MNIST/raw, or connect to the internet, for the full 60,000.")
        self.banner.setVisible(info.sample_data)

    def _data_folder_shown(self) -> str:
        """The folder the run looked in for its data: the Run panel's, else the default cache."""
        folder = self.config_panel.values()["data_dir"]
        if folder:
            return folder
        from core.data import default_data_dir   # torch is loaded by now: a run was built
        return f"the default cache folder {default_data_dir()}"

    def _on_metrics(self, update: MetricsUpdate):
        if self._stale:
            return
        self.loss_plot.append(update.steps, update.loss, update.recon, update.kl)
        p = update.progress
        info = self.run_info
        if info is not None and not info.view_only:   # it trains on: what About and Continue say of it
            self.run_info = replace(info, step=p.step, epoch=p.step // max(info.steps_per_epoch, 1),
                                    last_lr=p.lr, elapsed_s=p.elapsed_s)
        self._show_step(p.step, p.total_steps, None, p.epoch, p.epochs, p.epoch_fraction)
        if self.state is RunState.RUNNING:   # speed and ETA only while training: a step while paused says paused
            self.rate_label.setText(f"{p.images_per_s:,.0f} img/s · ETA {format_duration(p.eta_s)}")

    def _show_step(self, step, total, steps_per_epoch=None, epoch=None, epochs=None, fraction=None):
        if steps_per_epoch:
            epoch, epochs = max(step - 1, 0) // steps_per_epoch, math.ceil(total / steps_per_epoch)
            fraction = (step - epoch * steps_per_epoch) / steps_per_epoch
        self.step_label.setText(f"step {step:,} / {total:,} · epoch {epoch + 1}/{epochs}")
        self.epoch_bar.setValue(int(1000 * (fraction or 0)))

    def _on_snapshot(self, trace: GlimpseTrace):
        if self._stale:
            return
        self.snapshot_pending = False
        self.glimpse_view.set_trace(trace)
        if self._autoplay:  # the model the window opened on: watch it draw, once
            self._autoplay = False
            self.glimpse_view.set_t(1)
            self.glimpse_view.timeline.play_button.setChecked(True)

    def _on_weights(self, weights: ModelWeights):
        if not self._stale and not self._closed:  # closed: no decoder may start after shutdown
            self.latent_view.set_weights(weights)
            self.sketch_view.set_weights(weights)

    def _on_evaluated(self, e: Evaluation):
        if self._stale:
            return
        self.loss_plot.add_evaluation(e["step"], e["nll_bound"])
        if self.run_info is not None:
            self.run_info = replace(self.run_info, evals=[*self.run_info.evals, dict(e)])
        self.statusBar().showMessage(f"test NLL bound at step {e['step']:,}: {e['nll_bound']:.2f} nats", 10000)

    def _on_sketch_anchor(self, which: str, means):
        """The Sketch tab's drawing becomes the Latent tab's interpolation end A or B."""
        self.latent_view.interpolation.set_end(which, means)
        self.statusBar().showMessage(f"your drawing is the Latent tab's interpolation end {which}", 5000)

    def _show_model_figures(self, step: int, epochs: float | None, best: dict | None):
        """A model that does not train, in the status bar: its step, epochs and best test bound
        ("step 26,208 · 107.88 epochs", "test NLL bound 87.51 nats"); no epoch progress."""
        self.epoch_bar.hide()
        epochs = f" · {round(epochs, 2):,g} epochs" if epochs else ""
        self.step_label.setText(f"step {step:,}{epochs}")
        self.rate_label.set_warning(False)
        self.rate_label.setText(f"test NLL bound {best['nll_bound']:.2f} nats" if best else "")

    def _on_stage(self, stage: LoadStage):
        """What the model asked for last is doing while it loads: said in the status bar with a
        stage bar, until it is ready or fails. The start-up model says so too: on a cold start
        torch's first import alone takes seconds, and a silent window looks stuck."""
        load = self._pending
        if load is None or stage.token != load.token:
            return
        subject = {"start": "new model", "display": "new model",
                   "continue": f"continuing {load.shown.name}"}.get(load.kind, f"opening {load.shown.name}")
        self.load_bar.setRange(0, stage.count)
        self.load_bar.setValue(stage.index)
        self.load_bar.show()
        self.show_message(f"{subject}: {stage.text}… ({stage.index}/{stage.count})")

    def _loaded(self):
        """A load is over (ready or failed): its stage message and bar go."""
        self.load_bar.hide()
        self.statusBar().clearMessage()

    def _on_state(self, state: RunState):
        state = RunState(state)
        if state is RunState.FAILED and self._restore_state is not None:
            state, self._restore_state = self._restore_state, None
        self.set_state(state)

    def _on_failed(self, failure: Failure):
        """The training worker failed: what it was loading is dropped, then the user is told."""
        load = self._pending if failure.kind is not FailureKind.SAVE else None
        if load is not None:
            self._loaded()   # the "loading …" it was showing
        if load is not None:  # the worker could not load what was asked for last
            self._pending = None
            if load.kind in ("start", "display"):
                self.run_info = self.shown = None  # the setup failed: there is no run to save
                self.setWindowTitle("draw-gui")
                self.device_label.setText("no run")
                self.step_label.setText("")
                self.rate_label.setText("")
            else:  # a failed load changes nothing: the model shown stays, and so does its state,
                # at once (the worker's FAILED state follows this signal: it is mapped to the same)
                self._restore_state = {RunState.PAUSED: RunState.STOPPED,
                                       RunState.LOADING: RunState.IDLE}.get(load.previous_state, load.previous_state)
                self.set_state(self._restore_state)
            self._sync_chooser()
            self._update_controls()
            if load.quiet:
                if load.token == self._startup_token and self._previewing:   # its preview goes too
                    self._previewing = False
                    self.glimpse_view.set_trace(None)
                    self.loss_plot.clear()
                    self.clear_run_status()
                self.show_message(f"{load.shown.name} could not be shown: {failure.message}", 20000)
                return
        elif failure.kind in (FailureKind.DATA, FailureKind.CHECKPOINT, FailureKind.CONFIG):
            self.run_info = None  # the run failed: there is no run to save
        self.show_failure(failure)

    def _on_view_failed(self, failure: Failure):
        """A tab's background job failed (a decode, a compared run's files): the tab says so where
        it happened, the status bar says what. Not a dialog: it may fail again at every move."""
        self.show_failure(failure, modal=False)

    def _on_compile_status(self, status: CompileStatus):
        """The background compilation of the run's training step: said in the status bar, and in
        the device field while it lasts (\"cpu · 1 thread · compiled\")."""
        if self._stale or self.run_info is None or status.token != self.run_info.token:
            return
        info = self.run_info
        device = f"{info.device} · {info.threads} thread{'s' if info.threads > 1 else ''}"
        suffix = {CompilePhase.BUILDING: COMPILING, CompilePhase.SWITCHING: COMPILING,
                  CompilePhase.COMPILED: " · compiled"}.get(status.phase, "")
        self.device_label.setText(device + suffix)
        self.device_label.setToolTip(status.text)
        self.statusBar().showMessage(status.text, 0 if status.phase is CompilePhase.BUILDING else 10000)

    def _on_autosaved(self, path):
        folder = str(Path(path).parent)
        self._remember_run(folder)
        self.statusBar().showMessage(f"autosaved in {folder}", 4000)

    def _remember_run(self, folder: str):
        """A run folder outside the runs folder is listed in the Runs tab too."""
        from draw_gui.runs.paths import remember_run_folder, runs_root
        if folder in self._remembered:
            return
        self._remembered.add(folder)
        remember_run_folder(folder)
        self.runs_list.set_folders([runs_root()], self._run_folders(), self._hidden_runs())

    def _run_folders(self) -> list[str]:
        """Run folders outside the runs folder: those this window and `draw-gui train` wrote."""
        from draw_gui.runs.paths import remembered_run_folders
        return remembered_run_folders()

    def _hidden_runs(self) -> list[str]:
        hidden = self.settings.get("hidden_runs", [])
        return [f for f in hidden if isinstance(f, str)] if isinstance(hidden, list) else []

    def _hide_run(self, folder: str):
        """Runs → Remove from list: hidden from now on; its files stay where they are."""
        self.settings.set("hidden_runs", ([folder] + [f for f in self._hidden_runs() if f != folder])[:1000])

    def open_run(self, folder: str):
        """Runs → Open: a run another process is training is followed; any other is shown
        read-only from its checkpoint (Continue training trains it further in its folder)."""
        from core.run_index import summarize
        run = summarize(folder)
        if run is not None and run.live and not self._is_own_run(folder):
            self.follow_run(folder)
            return
        path = Path(folder) / "checkpoint.pt"
        if not path.is_file():
            self.show_error("Open run", f"{folder} has no checkpoint.pt yet: its first autosave has not happened. "
                                        "Follow shows its curves and glimpses meanwhile.")
            return
        self.view_checkpoint(str(path), ShownModel(f"run {Path(folder).name}", str(path), read_only=True))

    def continue_run(self, folder: str):
        """Runs → Continue training: train the run further in its own folder: to the end of its
        epochs if it was stopped or interrupted, else for the Run panel's epochs more."""
        if self.state in (RunState.RUNNING, RunState.LOADING, RunState.FOLLOWING):
            self.show_error("Continue training", "Stop the current run (or stop following) before continuing another.")
            return
        from core.run_index import summarize
        run = summarize(folder)
        path = Path(folder) / "checkpoint.pt"
        if run is None or not run.can_continue or not path.is_file():
            self.show_error("Continue training", f"{folder} cannot be continued: it has no checkpoint, or a "
                                                 "process is still training it (Follow shows it).")
            return
        if not self._keep_unsaved("continuing another run"):
            return
        model, train = self.config_panel.configs() if self.config_panel.is_valid() else (None, None)
        from core.config import DrawConfig, TrainConfig
        finished = run.total_steps is not None and run.step >= run.total_steps
        setup = RunSetup(model=model or DrawConfig(), train=train or TrainConfig(), checkpoint=str(path),
                         out=folder, continue_training=finished)
        self.loss_plot.clear()
        self.tabs.setCurrentWidget(self.glimpse_view)
        self._request(setup, "open", ShownModel(f"run {Path(folder).name}", str(path)), save_path=str(path))
        self.set_state(RunState.LOADING)

    def _is_own_run(self, folder: str) -> bool:
        return bool(self.run_info and self.run_info.run_folder and Path(self.run_info.run_folder) == Path(folder))

    def _on_saved(self, path):
        self.checkpoint_path = path
        if self.shown is not None:
            self.shown = replace(self.shown, path=path, read_only=False)
        self.settings.add_recent(path)
        self._fill_recent()
        self.statusBar().showMessage(f"saved {path}", 5000)

    # ---- state and dialogs (public: follow mode uses these, draw_gui.follow.mode.FollowHost) -----
    @property
    def state(self) -> RunState:
        """What the window's run is doing; set_state changes it."""
        return self._state

    def set_state(self, state: RunState):
        """What the window's run is doing now: enables the commands that make sense then.
        FOLLOWING silences whatever the worker was asked for (it must not cover the followed run)."""
        state = RunState(state)
        if state is RunState.FOLLOWING:
            self._supersede()  # a model still loading must not cover the followed run
            self.epoch_bar.show()
        self._state = state
        if state in STATE_WORDS and self.run_info is not None and not self.run_info.view_only:
            self.rate_label.setText(STATE_WORDS[state])   # no speed or ETA once nothing trains
        if state in ENDED_STATES and self.device_label.text().endswith(COMPILING):
            # the worker cancels a background compilation when its run ends
            self.device_label.setText(self.device_label.text().removesuffix(COMPILING))
            self.device_label.setToolTip("The run ended before its compiled training step was ready")
        self._update_controls()
        if hasattr(self, "model_chooser"):
            self._sync_chooser()

    def _update_controls(self):
        state = self.state
        live = state in BUSY_STATES
        self.follow_action.setEnabled(state not in TRAINING_STATES)
        self.stop_follow_action.setEnabled(state is RunState.FOLLOWING)
        valid = self.config_panel.is_valid()
        self.start_action.setEnabled(not live and valid)  # while paused, Pause/Resume continues
        self.start_button.setEnabled(self.start_action.isEnabled())
        self.pause_action.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        self.pause_button.setEnabled(self.pause_action.isEnabled())
        self.pause_button.setText("Resume" if state is RunState.PAUSED else "Pause")
        self.pause_button.setIcon(self.style().standardIcon(
            QStyle.SP_MediaPlay if state is RunState.PAUSED else QStyle.SP_MediaPause))
        self.step_action.setEnabled(state is RunState.PAUSED)
        self.step_button.setEnabled(state is RunState.PAUSED)
        self.stop_action.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        self.stop_button.setEnabled(self.stop_action.isEnabled())
        self.config_panel.set_locked(live)
        self.open_action.setEnabled(not live or state is RunState.PAUSED)
        if hasattr(self, "model_chooser"):
            self.model_chooser.setEnabled(self.open_action.isEnabled())
        self.shipped_menu.setEnabled(self.open_action.isEnabled())
        trainable = self.run_info is not None and not self.run_info.view_only
        self.save_action.setEnabled(trainable)
        self.save_as_action.setEnabled(trainable)
        viewing = self.run_info is not None and self.run_info.view_only and bool(self.shown and self.shown.path)
        self.continue_action.setEnabled(valid and state in ENDED_STATES + (RunState.PAUSED,)
                                        and (viewing or trainable))
        self.continue_button.setEnabled(self.continue_action.isEnabled())
        self.about_model_action.setEnabled(self.run_info is not None and self.shown is not None)

    def show_error(self, title: str, message: str):
        """A modal warning (logged too)."""
        import logging
        logging.getLogger(__name__).info("told the user %r: %s", title, message)
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        self._exec(box)

    def show_message(self, text: str, timeout_ms: int = 0):
        """A message in the status bar, for timeout_ms (0: until another replaces it)."""
        self.statusBar().showMessage(text, timeout_ms)

    def show_failure(self, failure: Failure, modal: bool = True):
        """Where every background failure (messages.Failure) reaches the user. modal: a dialog
        titled by its kind, its traceback (an unexpected error's) under Show Details; a missing
        data set offers to choose its folder. Else a status-bar message naming the worker.
        Every failure goes to the log too (draw_gui.logs), an unexpected error's with its traceback."""
        import logging
        from draw_gui.logs import FILE_ONLY
        said = (failure.kind, failure.source, failure.message)
        if modal or said != getattr(self, "_last_logged_failure", None):  # a view's may repeat at every move
            self._last_logged_failure = said
            logging.getLogger(__name__).log(
                logging.ERROR if failure.kind is FailureKind.ERROR else logging.WARNING, "%s failure%s: %s",
                failure.kind, f" ({failure.source})" if failure.source else "", failure.text(), extra=FILE_ONLY)
        if not modal:
            self.show_message(f"{failure.source}: {failure.message}" if failure.source else failure.message, 15000)
            return
        if failure.kind is FailureKind.DATA:
            box = QMessageBox(QMessageBox.Warning, "No data", failure.message, QMessageBox.Cancel, self)
            choose = box.addButton("Choose folder…", QMessageBox.AcceptRole)
            self._exec(box)
            if box.clickedButton() is choose:
                folder = QFileDialog.getExistingDirectory(self, "Choose the data folder")
                if folder:
                    self.config_panel.data_dir.setText(folder)
            return
        box = QMessageBox(QMessageBox.Warning, FAILURE_TITLES.get(failure.kind, "Error"), failure.message,
                          QMessageBox.Ok, self)
        if failure.details:
            box.setDetailedText(failure.details)
        self._exec(box)

    def show_run_status(self, status: StatusLine):
        """The title, status bar fields and banner say `status` (a run shown from elsewhere)."""
        self.setWindowTitle(status.title)
        self.device_label.setText(status.where)
        self.device_label.setToolTip(status.where_tip)
        self.step_label.setText(status.step)
        if status.epoch_fraction is not None:
            self.epoch_bar.setValue(int(1000 * status.epoch_fraction))
        self.rate_label.set_warning(status.warning)
        self.rate_label.setText(status.rate)
        self.rate_label.setToolTip(status.rate_tip)
        if status.banner is None:
            self.banner.hide()
            return
        self.banner.set_kind("follow")
        if self.banner.text() != status.banner:
            self.banner.setText(status.banner)
        self.banner.show()

    def clear_run_status(self):
        """The title and status bar say no run is shown; the banner is hidden."""
        for label in (self.device_label, self.step_label, self.rate_label):
            label.setText("")
        self.rate_label.set_warning(False)
        self.device_label.setText("no run")
        self.device_label.setToolTip("")
        self.epoch_bar.setValue(0)
        self.epoch_bar.hide()   # until something trains
        self.setWindowTitle("draw-gui")
        self.banner.hide()
        self.banner.set_kind("warning")

    def set_glimpse_refresh(self, source: Callable[[], None] | None):
        """What Refresh glimpses (its button, F5) asks for new glimpses: `source` (a followed run
        folder's poll), or None for the training worker."""
        self.glimpse_view.refresh_requested.disconnect(self._glimpse_refresh)
        self._glimpse_refresh = source or self.worker.request_snapshot
        self.glimpse_view.refresh_requested.connect(self._glimpse_refresh)

    def _exec(self, box):
        """Modal dialogs go through here, so tests can answer them."""
        self.last_dialog = (box.windowTitle(), box.text())
        return box.exec()

    # ---- dropped files ---------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if any(openable_path(p) for p in _dropped_paths(event)):
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = [p for p in _dropped_paths(event) if openable_path(p)]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    def open_path(self, path: str) -> bool:
        """Open what a file manager hands over (dropped, or `draw-gui PATH`): a run folder as Runs →
        Open does, a checkpoint as Open checkpoint does. False when it is neither."""
        kind = openable_path(path)
        if kind == "run":
            self.open_run(str(path))
        elif kind == "checkpoint":
            self.open_checkpoint(str(path))
        return kind is not None

    def open_from_desktop(self, paths: list[str]) -> None:
        """Files the desktop hands to the running app (macOS: Finder's Open With, the Dock icon;
        draw_gui.window.application), in front: the first that opens, as a drop does, and a box
        says that the others stayed closed (one model at a time); a dialog when none of them opens."""
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()
        opened = next((p for p in paths if self.open_path(p)), None)
        if opened is None:
            self.show_error("Cannot open", f"{', '.join(paths)}: neither a draw-gui checkpoint (.pt) nor a run "
                            "folder (a folder with run.json, metrics.csv or checkpoint.pt in it, as draw-gui train "
                            "--out writes). Open a checkpoint or a run folder.")
            return
        if len(paths) > 1:  # said once, in a box: a status message would give way to the load's own
            others = [Path(p).name for p in paths if p != opened]
            box = QMessageBox(QMessageBox.Information, "One model at a time",
                              f"The window shows one model at a time: it opens {Path(opened).name}. "
                              f"{', '.join(others)} stayed closed; to compare runs, drop them on the Compare tab.",
                              QMessageBox.Ok, self)
            self._exec(box)

    # ---- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event):
        if not self._keep_unsaved("closing"):
            event.ignore()  # cancelled, or not saved: keep the window (the error dialog says why)
            return
        self.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop training and join the worker thread; True when it ended in time."""
        self._closed = True
        loading = self.state is RunState.LOADING or self._pending is not None
        try:
            self.focus_ring.shutdown()
            self._supersede()  # a model still loading stops before it runs the model, and stays quiet
            self.worker.stop()
            follow_mode.stop(self)
        finally:  # whatever failed above, every thread is asked to end and joined
            try:
                self.latent_view.shutdown()
                self.sketch_view.shutdown()
            finally:
                self.compare_view.shutdown()
        if loading:  # a dataset or model still loading cannot be interrupted: wait for it
            timeout_ms = max(timeout_ms, 30000)
        deadline = time.monotonic() + timeout_ms / 1000
        while self.worker.running and time.monotonic() < deadline:
            QThread.msleep(10)
        self.thread.quit()
        return self.thread.wait(max(1, int((deadline - time.monotonic()) * 1000)))


def _dropped_paths(event) -> list[str]:
    data = event.mimeData()
    return [u.toLocalFile() for u in data.urls() if u.isLocalFile()] if data.hasUrls() else []


def openable_path(path: str) -> Literal["run", "checkpoint"] | None:
    """What dropping `path` on the window opens: a run folder (run.json, metrics.csv or
    checkpoint.pt in it), a checkpoint (.pt, .pth), or nothing."""
    from core.runfolder import CHECKPOINT_NAME, is_run_folder
    p = Path(path)
    if p.is_dir():
        return "run" if is_run_folder(p) or (p / CHECKPOINT_NAME).is_file() else None
    return "checkpoint" if p.is_file() and p.suffix.lower() in (".pt", ".pth") else None
