"""The draw-gui main window: configure, train live, watch every glimpse, plot the loss.

Widgets hold only what they show; the TrainingWorker in its QThread owns the model and sends
plain data. Layout follows ../shared/docs/ui.md.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QThread, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractButton, QApplication, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QSplitter, QStyle, QTabWidget, QVBoxLayout, QWidget)

from draw_gui import follow_mode, window_menus
from draw_gui.cli_text import format_duration
from draw_gui.compare_view import CompareView
from draw_gui.config_panel import ConfigPanel
from draw_gui.glimpse_view import GlimpseView
from draw_gui.latent_view import LatentView
from draw_gui.loss_plot import LossPlot
from draw_gui.settings import Settings
from draw_gui.worker import RunSetup, TrainingWorker

class MainWindow(QMainWindow):
    start_requested = Signal(object)  # RunSetup, to the worker thread

    def __init__(self, settings: Settings | None = None):
        super().__init__()
        self.settings = settings or Settings()
        self.setWindowTitle("draw-gui")
        self.state = "idle"           # idle, loading, running, paused, stopped, finished, failed
        self.run_info = None
        self.checkpoint_path: str | None = None   # where Ctrl+S saves without asking
        self._opening: str | None = None          # a checkpoint being loaded
        self.follow = None                        # FollowMode while following a run folder
        self._build_worker()
        self._build_widgets()
        window_menus.build_menus(self)    # also connects the Run panel's buttons
        self._restore_settings()
        self._update_controls()

    # ---- construction --------------------------------------------------------------------------
    def _build_worker(self):
        self.thread = QThread(self)
        self.thread.setObjectName("draw-gui training")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        self.start_requested.connect(self.worker.start)
        self.worker.ready.connect(self._on_ready)
        self.worker.metrics.connect(self._on_metrics)
        self.worker.snapshot.connect(self._on_snapshot)
        self.worker.evaluated.connect(self._on_evaluated)
        self.worker.state_changed.connect(self._on_state)
        self.worker.failed.connect(self._on_failed)
        self.worker.saved.connect(self._on_saved)
        self.thread.start()

    def _build_widgets(self):
        self.config_panel = ConfigPanel()
        self.config_panel.validity_changed.connect(lambda _: self._update_controls())
        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.SP_MediaPlay), "Start")
        self.pause_button = QPushButton(style.standardIcon(QStyle.SP_MediaPause), "Pause")
        self.step_button = QPushButton(style.standardIcon(QStyle.SP_MediaSkipForward), "Step")
        self.stop_button = QPushButton(style.standardIcon(QStyle.SP_MediaStop), "Stop")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.step_button, self.stop_button):
            buttons.addWidget(b)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.config_panel)
        side_layout.addLayout(buttons)
        side_layout.addStretch(1)
        self.config_dock = QDockWidget("Run", self)
        self.config_dock.setObjectName("run_dock")
        self.config_dock.setWidget(side)
        side.setMaximumWidth(330)
        self.config_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.config_dock)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #5a4a10; color: #ffe9a8; padding: 6px;")
        self.banner.hide()
        self.glimpse_view = GlimpseView()
        self.glimpse_view.refresh_requested.connect(self.worker.request_snapshot)
        self.glimpse_view.settings = self.settings  # save dialogs remember their folder
        self.tabs = QTabWidget()
        self.tabs.addTab(self.glimpse_view, "Glimpses")
        self.latent_view = LatentView(self.settings)
        self.worker.weights.connect(self.latent_view.set_weights)
        self.tabs.addTab(self.latent_view, "Latent")
        self.compare_view = CompareView(self.settings)
        self.tabs.addTab(self.compare_view, "Compare")
        # The loss plot below is the live run's; comparing runs needs the room (it has its own plot).
        self.tabs.currentChanged.connect(lambda _: self.loss_plot.setVisible(
            self.tabs.currentWidget() is not self.compare_view))
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
        self.rate_label = QLabel("")
        for w in (self.device_label, self.step_label, self.epoch_bar, self.rate_label):
            status.addPermanentWidget(w)
        self.resize(1280, 820)

    # ---- settings --------------------------------------------------------------------------------
    def _restore_settings(self):
        self.config_panel.set_values(self.settings.get("config", {}))
        geometry = self.settings.get("geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        state = self.settings.get("window_state")
        if state:
            self.restoreState(QByteArray.fromBase64(state.encode()))
        splitter = self.settings.get("splitter")
        if splitter:
            self.splitter.restoreState(QByteArray.fromBase64(splitter.encode()))
        self._fill_recent()
        if self.settings.problem:
            QTimer.singleShot(0, lambda: self.show_error("Settings", self.settings.problem))

    def save_settings(self):
        self.settings.set("config", self.config_panel.values())
        self.settings.set("geometry", bytes(self.saveGeometry().toBase64()).decode())
        self.settings.set("window_state", bytes(self.saveState().toBase64()).decode())
        self.settings.set("splitter", bytes(self.splitter.saveState().toBase64()).decode())
        self.settings.save()

    def _fill_recent(self):
        self.recent_menu.clear()
        for path in self.settings.get("recent", []):
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.open_checkpoint(p))
        self.recent_menu.setEnabled(bool(self.settings.get("recent")))

    # ---- commands --------------------------------------------------------------------------------
    def start(self):
        if not self.start_action.isEnabled():
            return
        model, train = self.config_panel.configs()
        v = self.config_panel.values()
        setup = RunSetup(model=model, train=train, dataset=v["dataset"],
                         data_dir=(v["data_dir"] or None) if v["dataset"] != "folder" else None,
                         folder=v["data_dir"] if v["dataset"] == "folder" else None,
                         image_size=v["image_size"] if v["dataset"] == "folder" else None,
                         checkpoint=None)
        self.checkpoint_path = None  # a new run must never be saved over the last one's file
        self.loss_plot.clear()
        self.glimpse_view.set_trace(None)
        self.save_settings()
        self._set_state("loading")
        self.start_requested.emit(setup)

    def start_with(self, setup: RunSetup):
        """Start a run prepared elsewhere (the command line's --display), showing its settings."""
        self.config_panel.show_configs(setup.model, setup.train, setup.dataset,
                                       setup.folder or setup.data_dir or "", setup.image_size)
        self.checkpoint_path = setup.checkpoint
        self.loss_plot.clear()
        self._set_state("loading")
        self.start_requested.emit(setup)

    def toggle_pause(self):
        focused = QApplication.focusWidget()
        if self.sender() is self.pause_action and isinstance(focused, QAbstractButton):
            focused.click()  # Space on a focused button or checkbox means that control
            return
        if self.state == "running":
            self.worker.pause()
        elif self.state == "paused":
            self.worker.resume()

    def step_once(self):
        if self.state == "paused":
            self.worker.step_once()

    def stop(self):
        if self.state in ("running", "paused"):
            self.worker.stop()
            if not self.worker.running:  # paused after a NaN: no loop to end
                self._set_state("stopped")

    def open_checkpoint(self, path: str | None = None):
        if self.state in ("running", "loading"):
            self.show_error("Open checkpoint", "Stop the current run before opening a checkpoint.")
            return
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", self.settings.get("checkpoint_dir", ""),
                                                  "draw-gui checkpoints (*.pt);;All files (*)")
            if not path:
                return
        self.settings.set("checkpoint_dir", str(Path(path).parent))
        self.settings.add_recent(path)
        self._opening = path  # becomes the save target once it has loaded
        self._fill_recent()
        model, train = self.config_panel.configs() if self.config_panel.is_valid() else (None, None)
        from core.config import DrawConfig, TrainConfig
        setup = RunSetup(model=model or DrawConfig(), train=train or TrainConfig(), checkpoint=path,
                         data_dir=self.config_panel.values()["data_dir"] or None, paused=True)
        self.loss_plot.clear()
        if self.worker.running:  # paused: end that run's loop so the worker can load this one
            self.worker.stop()
        self._set_state("loading")
        self.start_requested.emit(setup)

    def save_checkpoint(self, ask: bool = False):
        if self.run_info is None:
            self.show_error("Save checkpoint", "There is no model to save yet: press Start first.")
            return
        path = self.checkpoint_path
        if ask or not path:
            default = path or str(Path(self.settings.get("checkpoint_dir", os.getcwd())) / "draw-checkpoint.pt")
            path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", default, "draw-gui checkpoints (*.pt)")
            if not path:
                return
        self.checkpoint_path = path
        self.worker.save(path)

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

    def stop_following(self):
        follow_mode.stop(self)

    # ---- worker signals --------------------------------------------------------------------------
    def _on_ready(self, info):
        self.run_info = info
        if getattr(self, "_opening", None):
            self.checkpoint_path, self._opening = self._opening, None
        self.config_panel.show_configs(info.model, info.train, info.dataset)
        m = info.model
        kind = (f"{m.attention} attention r{m.read_size} w{m.write_size}" if m.attention == "gaussian" else
                f"spatial transformer{' + rotation' if m.spatial_rotation else ''} r{m.read_size} w{m.write_size}"
                if m.attention == "spatial" else "no attention")
        self.setWindowTitle(f"draw-gui — {info.dataset} · {kind} · T {m.glimpses}")
        self.device_label.setText(f"{info.device} · {info.threads} thread{'s' if info.threads > 1 else ''}")
        h = info.history
        self.loss_plot.set_history(h["step"], h["loss"], h["recon"], h["kl"],
                                   [e["step"] for e in info.evals], [e["nll_bound"] for e in info.evals])
        self._show_step(info.step, info.total_steps, info.steps_per_epoch)
        if info.sample_data:
            self.banner.setText("Training on the embedded MNIST sample (10,000 digits): the full MNIST was not "
                                "found in the data folder and could not be downloaded. Choose a data folder "
                                "holding MNIST/raw, or connect to the internet, for the full 60,000.")
        self.banner.setVisible(info.sample_data)

    def _on_metrics(self, update):
        self.loss_plot.append(update.steps, update.loss, update.recon, update.kl)
        p = update.progress
        self._show_step(p.step, p.total_steps, None, p.epoch, p.epochs, p.epoch_fraction)
        self.rate_label.setText(f"{p.images_per_s:,.0f} img/s · ETA {format_duration(p.eta_s)}")

    def _show_step(self, step, total, steps_per_epoch=None, epoch=None, epochs=None, fraction=None):
        if steps_per_epoch:
            epoch, epochs = max(step - 1, 0) // steps_per_epoch, math.ceil(total / steps_per_epoch)
            fraction = (step - epoch * steps_per_epoch) / steps_per_epoch
        self.step_label.setText(f"step {step:,} / {total:,} · epoch {epoch + 1}/{epochs}")
        self.epoch_bar.setValue(int(1000 * (fraction or 0)))

    def _on_snapshot(self, trace):
        self.glimpse_view.set_trace(trace)

    def _on_evaluated(self, e):
        self.loss_plot.add_evaluation(e["step"], e["nll_bound"])
        self.statusBar().showMessage(f"test NLL bound at step {e['step']:,}: {e['nll_bound']:.2f} nats", 10000)

    def _on_state(self, state):
        self._set_state(state)

    def _on_failed(self, kind, message):
        if kind in ("data", "checkpoint", "config") or self.state == "loading":
            self.run_info = None  # the setup failed: there is no run to save
            self._opening = None
        if kind == "data":
            box = QMessageBox(QMessageBox.Warning, "No data", message, QMessageBox.Cancel, self)
            choose = box.addButton("Choose folder…", QMessageBox.AcceptRole)
            self._exec(box)
            if box.clickedButton() is choose:
                folder = QFileDialog.getExistingDirectory(self, "Choose the data folder")
                if folder:
                    self.config_panel.data_dir.setText(folder)
            return
        titles = {"checkpoint": "Unusable checkpoint", "nan": "Training paused: loss is not a number",
                  "save": "Could not save", "config": "Impossible configuration", "error": "Error"}
        self.show_error(titles.get(kind, "Error"), message)

    def _on_saved(self, path):
        self.checkpoint_path = path
        self.settings.add_recent(path)
        self._fill_recent()
        self.statusBar().showMessage(f"saved {path}", 5000)

    # ---- state and dialogs -----------------------------------------------------------------------
    def _set_state(self, state):
        self.state = state
        self._update_controls()

    def _update_controls(self):
        live = self.state in ("loading", "running", "paused", "following")
        self.follow_action.setEnabled(self.state not in ("loading", "running", "paused"))
        self.stop_follow_action.setEnabled(self.state == "following")
        valid = self.config_panel.is_valid()
        self.start_action.setEnabled(not live and valid)  # while paused, Pause/Resume continues
        self.start_button.setEnabled(self.start_action.isEnabled())
        self.pause_action.setEnabled(self.state in ("running", "paused"))
        self.pause_button.setEnabled(self.pause_action.isEnabled())
        self.pause_button.setText("Resume" if self.state == "paused" else "Pause")
        self.pause_button.setIcon(self.style().standardIcon(
            QStyle.SP_MediaPlay if self.state == "paused" else QStyle.SP_MediaPause))
        self.step_action.setEnabled(self.state == "paused")
        self.step_button.setEnabled(self.state == "paused")
        self.stop_action.setEnabled(self.state in ("running", "paused"))
        self.stop_button.setEnabled(self.stop_action.isEnabled())
        self.config_panel.set_locked(live)
        self.open_action.setEnabled(not live or self.state == "paused")
        self.save_action.setEnabled(self.run_info is not None)
        self.save_as_action.setEnabled(self.run_info is not None)

    def show_error(self, title: str, message: str):
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        self._exec(box)

    def _exec(self, box):
        """Modal dialogs go through here, so tests can answer them."""
        self.last_dialog = (box.windowTitle(), box.text())
        return box.exec()

    # ---- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event):
        if self.run_info is not None and self.worker.dirty:
            box = QMessageBox(QMessageBox.Question, "Save progress?",
                              "The model has trained since it was last saved. Save a checkpoint before closing?",
                              QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
            answer = self._exec(box)
            if answer == QMessageBox.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.Save:
                self.worker.pause()
                path = self.checkpoint_path or QFileDialog.getSaveFileName(
                    self, "Save checkpoint", str(Path(self.settings.get("checkpoint_dir", os.getcwd()))
                                                 / "draw-checkpoint.pt"), "draw-gui checkpoints (*.pt)")[0]
                if not path or not self.worker.save_and_wait(path):
                    event.ignore()  # not saved: keep the window (the error dialog says why)
                    return
        self.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop training and join the worker thread; True when it ended in time."""
        self.worker.stop()
        follow_mode.stop(self)
        self.latent_view.shutdown()
        self.compare_view.shutdown()
        if self.state == "loading":  # a dataset still loading cannot be interrupted: wait for it
            timeout_ms = max(timeout_ms, 30000)
        deadline = time.monotonic() + timeout_ms / 1000
        while self.worker.running and time.monotonic() < deadline:
            QThread.msleep(10)
        self.thread.quit()
        return self.thread.wait(max(1, int((deadline - time.monotonic()) * 1000)))
