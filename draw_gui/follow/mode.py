"""The window while it follows a run folder (File → Follow run folder…, `draw-gui follow DIR`).

The window shows that run instead of training locally: the loss plot grows from metrics.csv,
eval.csv gives the test-bound markers, the Glimpses tab shows the latest snapshot.npz (keeping
the user's t), the Latent tab gets checkpoint.pt's weights whenever it changes, and the title and
status bar say whose run it is, its step and state, and how long ago it last changed. Local
training controls are disabled until Stop following.
"""
from __future__ import annotations

import time
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from draw_gui.follow import follower as run_follower
from draw_gui.text import format_duration

MAX_RECENT_RUNS = 8


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return format_duration(seconds)


class FollowMode(QObject):
    def __init__(self, window, path: Path):
        super().__init__(window)
        # A weak reference: this child of the window must never hold it. Were this object the
        # last to hold the window, deleting it (deleteLater on stop) would free the window in the
        # middle of its child's destructor, and the window would delete that child a second time.
        self._window = weakref.ref(window)
        self.path = path
        self.state_before = window.state          # given back on stop
        self.info: dict = {}
        self.step = 0
        self.problem: str | None = None
        self.gone = False                        # the folder is not there (deleted, moved, unmounted)
        self.last_change: float | None = None   # wall-clock time of the run's last change
        self._newest_mtime = None
        self._saved_config = window.config_panel.values()  # restored on stop
        self._banner_style = window.banner.styleSheet()
        self.snapshot_step = self.weights_step = None
        self.follower = run_follower.RunFollower(path)
        self.follower.updated.connect(self._on_update)
        self.clock = QTimer(self, interval=1000)   # "updated 4 s ago" ticks without new data
        self.clock.timeout.connect(self._show_status)

    @property
    def window(self):
        return self._window()

    # ---- lifetime --------------------------------------------------------------------------
    def start(self):
        w = self.window
        w.loss_plot.clear()
        w.glimpse_view.set_trace(None)
        # A banner says why Start is disabled and how to get it back.
        w.banner.setStyleSheet("background: #1d3b57; color: #d6ecff; padding: 6px;")
        w.banner.show()
        # Refresh (button, F5) re-reads the folder instead of asking the idle local worker.
        w.glimpse_view.refresh_requested.disconnect(w.worker.request_snapshot)
        w.glimpse_view.refresh_requested.connect(self.follower.poll_now)
        self._show_status()
        self.follower.start()
        self.clock.start()

    def stop(self):
        w = self.window
        self.clock.stop()
        self.follower.close()
        w.glimpse_view.refresh_requested.disconnect(self.follower.poll_now)
        w.glimpse_view.refresh_requested.connect(w.worker.request_snapshot)
        w.config_panel.set_values(self._saved_config)
        for label in (w.device_label, w.step_label, w.rate_label):
            label.setText("")
            label.setStyleSheet("")
        w.device_label.setText("no run")
        w.epoch_bar.setValue(0)
        w.setWindowTitle("draw-gui")
        w.banner.hide()
        w.banner.setStyleSheet(self._banner_style)
        w.loss_plot.clear()
        w.glimpse_view.set_trace(None)

    # ---- what the poller found ---------------------------------------------------------------
    def _on_update(self, u):
        w = self.window
        if w is None:
            return
        if u.gone:   # the follower polls on, cheaply: a remounted or re-synced folder comes back
            if not self.gone:
                self.gone = True
                w.statusBar().showMessage(u.problems[-1])   # until something else is said
            self.problem = u.problems[-1]
            self._show_status()
            return
        if self.gone:
            self.gone = False
            w.statusBar().showMessage(f"the run folder is back: {self.path}", 10000)
        if u.newest_mtime and u.newest_mtime != self._newest_mtime:
            # The first time the files' own times (the run may have ended long ago); later, when
            # the change was seen here, which a server clock that differs from ours cannot skew.
            self.last_change = min(u.newest_mtime, time.time()) if self._newest_mtime is None else time.time()
            self._newest_mtime = u.newest_mtime
        m = u.metrics
        if m.reset:  # rewritten from the start (the run was restored from an older checkpoint)
            w.loss_plot.clear()
        if len(m):
            w.loss_plot.append(m.step, m.loss, m.recon, m.kl)
            self.step = int(m.step[-1])
        if u.info is not None:
            self._set_info(u.info)
        if u.evals is not None:
            rows = [e for e in u.evals if "step" in e and "nll_bound" in e]
            w.loss_plot.set_evaluations([e["step"] for e in rows], [e["nll_bound"] for e in rows])
        if u.snapshot is not None:
            try:
                w.glimpse_view.set_trace(u.snapshot[1])   # keeps the user's t
                self.step = max(self.step, int(u.snapshot[0]))
                self.snapshot_step = int(u.snapshot[0])
            except Exception as e:  # noqa: BLE001 - a snapshot the viewer cannot draw is skipped
                u.problems.append(f"snapshot.npz could not be shown ({type(e).__name__}: {e})")
        if u.weights is not None:
            w.latent_view.set_weights(u.weights)
            self.weights_step = u.weights.step
        self.problem = u.problems[-1] if u.problems else (None if u.changed else self.problem)
        if u.problems:
            w.statusBar().showMessage(u.problems[-1], 10000)
        self._show_status()

    def _set_info(self, info: dict):
        self.info = info
        self.step = max(self.step, int(info.get("step") or 0))
        try:  # the Run panel shows the followed run's settings (locked); damaged ones are skipped
            from core.config import DrawConfig, TrainConfig
            self.window.config_panel.show_configs(DrawConfig.from_dict(info["model_config"]),
                                                  TrainConfig.from_dict(info["train_config"]),
                                                  str(info.get("dataset", "mnist")))
        except Exception:  # noqa: BLE001
            pass

    # ---- title and status bar ----------------------------------------------------------------
    def status(self) -> str:
        if self.gone:
            return "the run folder is gone"
        return str(self.info.get("status") or ("running" if self.info else "no run.json"))

    def age_s(self) -> float | None:
        return None if self.last_change is None else time.time() - self.last_change

    def stale(self) -> bool:
        age = self.age_s()
        return self.status() == "running" and age is not None and age > run_follower.STALE_AFTER_S

    def _show_status(self):
        w, info = self.window, self.info
        if w is None:
            return
        name = self.path.name
        total = int(info.get("total_steps") or 0)
        spe = int(info.get("steps_per_epoch") or 0)
        title_state = self.status()
        w.setWindowTitle(f"draw-gui — following {name} · step {self.step:,} · {title_state}")
        world = int(info.get("world_size") or 1)
        where = info.get("device", "")
        if world > 1:
            where = f"{where} × {world} processes"
        host = info.get("host")
        w.device_label.setText(f"following {name}" + (f" · {host}" if host else "") + (f" · {where}" if where else ""))
        w.device_label.setToolTip(str(self.path))
        step = f"step {self.step:,}" + (f" / {total:,}" if total else "")
        if spe:
            epoch = max(self.step - 1, 0) // spe
            epochs = -(-total // spe) if total else None
            step += f" · epoch {epoch + 1}" + (f"/{epochs}" if epochs else "")
            w.epoch_bar.setValue(int(1000 * (self.step - epoch * spe) / spe))
        w.step_label.setText(step)
        age = self.age_s()
        parts = [title_state]
        if title_state == "running" and info.get("images_per_s"):
            parts.append(f"{info['images_per_s']:,.0f} img/s")
        if age is not None:
            parts.append(f"updated {_ago(age)} ago")
        if self.stale():
            text = f"no update for {_ago(age)}: is the run still going?"
            w.rate_label.setStyleSheet("color: #ffb000; font-weight: bold;")
        else:
            text = " · ".join(parts)
            w.rate_label.setStyleSheet("")
        w.rate_label.setText(text)
        shown = [f"glimpses at step {self.snapshot_step:,}" if self.snapshot_step is not None else "no snapshot.npz yet",
                 f"Latent tab at step {self.weights_step:,}" if self.weights_step is not None else "no checkpoint.pt yet"]
        if self.gone:
            banner = (f"Following {self.path}: the run folder is gone (deleted, moved or unmounted). What it held "
                      "last stays shown, and it is shown again if the folder comes back. "
                      "File → Stop following to train here.")
        else:
            banner = (f"Following {self.path}" + (f", written on {host}" if host else "") + f": {', '.join(shown)}. "
                      "File → Stop following to train here.")
        if w.banner.text() != banner:
            w.banner.setText(banner)
        w.rate_label.setToolTip("run.json status and the last change seen in the run folder"
                                + (f"\n{self.problem}" if self.problem else ""))


# ---- the window's entry points (MainWindow.follow_run / stop_following call these) -----------
def follow(window, path=None) -> bool:
    """Start following `path` (asks for a folder when None). False when nothing changed."""
    if window.state in ("loading", "running", "paused"):
        window.show_error("Follow run folder", "This window is training a run of its own. Stop it (Run → Stop) "
                                               "before following another run.")
        return False
    if not path:
        path = QFileDialog.getExistingDirectory(window, "Follow run folder", window.settings.get("follow_dir", ""))
        if not path:
            return False
    problem = run_follower.check_run_folder(path)
    if problem:
        window.show_error("Not a run folder", problem)
        return False
    path = Path(path).expanduser().resolve()
    if window.follow is not None:
        stop(window)
    window.settings.set("follow_dir", str(path.parent))
    recent = [p for p in window.settings.get("recent_runs", []) if p != str(path)]
    window.settings.set("recent_runs", ([str(path)] + recent)[:MAX_RECENT_RUNS])
    fill_recent(window)
    window.follow = FollowMode(window, path)
    window._set_state("following")
    window.follow.start()
    return True


def stop(window) -> None:
    if window.follow is None:
        return
    mode, window.follow = window.follow, None
    mode.stop()
    mode.deleteLater()
    window._set_state(mode.state_before)


def fill_recent(window) -> None:
    menu = window.follow_recent_menu
    menu.clear()
    runs = window.settings.get("recent_runs", [])
    from draw_gui.window.menus import weakly   # (window_menus imports this module)
    for p in runs:
        a = menu.addAction(p)
        a.triggered.connect(lambda _=False, p=p, go=weakly(window.follow_run): go(p))  # never holds the window
    menu.setEnabled(bool(runs))
