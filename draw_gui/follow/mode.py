"""The window while it follows a run folder (File → Follow run folder…, `draw-gui follow DIR`).

The window shows that run instead of training locally: the loss plot grows from metrics.csv,
eval.csv gives the test-bound markers, the Glimpses tab shows the latest snapshot.npz (keeping
the user's t), the Latent tab gets checkpoint.pt's weights whenever it changes, and the title and
status bar say whose run it is, its step and state, and how long ago it last changed. Local
training controls are disabled until Stop following.

Follow mode uses only the window's public API (FollowHost, which MainWindow implements): it never
touches the window's private names or its status-bar widgets.
"""
from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QWidget

from draw_gui.follow import follower as run_follower
from draw_gui.text import format_duration
from draw_gui.widgets.slots import weakly
from draw_gui.workers.messages import TRAINING_STATES, RunState, StatusLine

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from draw_gui.glimpses.view import GlimpseView
    from draw_gui.latent.view import LatentView
    from draw_gui.widgets.loss_plot import LossPlot
    from draw_gui.window.config_panel import ConfigPanel
    from draw_gui.window.settings import Settings

MAX_RECENT_RUNS = 8


class FollowHost(Protocol):
    """What follow mode uses of the window (draw_gui.window.main_window.MainWindow), and nothing
    else. The window must be a QObject: a FollowMode is its child."""

    settings: Settings             # follow_dir and recent_runs are remembered there
    follow: FollowMode | None      # the followed run, set and cleared by follow() and stop()
    config_panel: ConfigPanel      # shows the followed run's settings (values kept and given back)
    loss_plot: LossPlot            # its curves and test bounds
    glimpse_view: GlimpseView      # its latest snapshot.npz
    latent_view: LatentView        # its checkpoint.pt's weights
    follow_recent_menu: QMenu      # File → Follow recent run

    @property
    def state(self) -> RunState: ...
    def set_state(self, state: RunState) -> None: ...
    def follow_run(self, path: str | None = None) -> bool: ...
    def show_error(self, title: str, message: str) -> None: ...
    def show_message(self, text: str, timeout_ms: int = 0) -> None: ...
    def show_run_status(self, status: StatusLine) -> None: ...
    def clear_run_status(self) -> None: ...
    def set_glimpse_refresh(self, source: Callable[[], None] | None) -> None: ...


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return format_duration(seconds)


class FollowMode(QObject):
    def __init__(self, window: FollowHost, path: Path):
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
        self._newest_mtime: float | None = None
        self.user_config = window.config_panel.values()  # the user's own settings: restored on stop, and
        # what the window saves as the user's defaults meanwhile (a followed run's are not theirs)
        self.snapshot_step: int | None = None
        self.weights_step: int | None = None
        self.follower = run_follower.RunFollower(path)
        self.follower.updated.connect(self._on_update)
        self.clock = QTimer(self, interval=1000)   # "updated 4 s ago" ticks without new data
        self.clock.timeout.connect(self.show_status)

    @property
    def window(self) -> FollowHost | None:
        return self._window()

    # ---- lifetime --------------------------------------------------------------------------
    def start(self):
        w = self.window
        w.loss_plot.clear()
        w.glimpse_view.set_trace(None)
        w.config_panel.show_model(None)   # the panel shows the followed run's settings, locked
        # Refresh (button, F5) re-reads the folder instead of asking the idle local worker.
        w.set_glimpse_refresh(self.follower.poll_now)
        self.show_status()   # with a banner that says why Start is disabled and how to get it back
        self.follower.start()
        self.clock.start()

    def stop(self):
        w = self.window
        self.clock.stop()
        self.follower.close()
        w.set_glimpse_refresh(None)
        w.config_panel.set_values(self.user_config)
        w.clear_run_status()
        w.loss_plot.clear()
        w.glimpse_view.set_trace(None)

    # ---- what the poller found ---------------------------------------------------------------
    def _on_update(self, u: run_follower.FollowUpdate):
        w = self.window
        if w is None:
            return
        if u.gone:   # the follower polls on, cheaply: a remounted or re-synced folder comes back
            if not self.gone:
                self.gone = True
                w.show_message(u.problems[-1])   # until something else is said
            self.problem = u.problems[-1]
            self.show_status()
            return
        if self.gone:
            self.gone = False
            w.show_message(f"the run folder is back: {self.path}", 10000)
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
                w.glimpse_view.set_trace(u.snapshot.trace)   # keeps the user's t
                self.step = max(self.step, int(u.snapshot.step))
                self.snapshot_step = int(u.snapshot.step)
            except Exception as e:  # noqa: BLE001 - a snapshot the viewer cannot draw is skipped
                u.problems.append(f"snapshot.npz could not be shown ({type(e).__name__}: {e})")
        if u.weights is not None:
            w.latent_view.set_weights(u.weights)
            self.weights_step = u.weights.step
        self.problem = u.problems[-1] if u.problems else (None if u.changed else self.problem)
        if u.problems:
            w.show_message(u.problems[-1], 10000)
        self.show_status()

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
        return str(self.info.get("status") or (RunState.RUNNING if self.info else "no run.json"))

    def age_s(self) -> float | None:
        return None if self.last_change is None else time.time() - self.last_change

    def stale(self) -> bool:
        age = self.age_s()
        return self.status() == RunState.RUNNING and age is not None and age > run_follower.STALE_AFTER_S

    def show_status(self):
        """The window's title, status bar and banner say whose run this is, its step and state,
        and how long ago it last changed (every second, and at every update)."""
        w = self.window
        if w is not None:
            w.show_run_status(self.status_line())

    def status_line(self) -> StatusLine:
        """What show_status shows."""
        info = self.info
        name = self.path.name
        total = int(info.get("total_steps") or 0)
        spe = int(info.get("steps_per_epoch") or 0)
        title_state = self.status()
        world = int(info.get("world_size") or 1)
        where = info.get("device", "")
        if world > 1:
            where = f"{where} × {world} processes"
        host = info.get("host")
        step = f"step {self.step:,}" + (f" / {total:,}" if total else "")
        fraction = None
        if spe:
            epoch = max(self.step - 1, 0) // spe
            epochs = -(-total // spe) if total else None
            step += f" · epoch {epoch + 1}" + (f"/{epochs}" if epochs else "")
            fraction = (self.step - epoch * spe) / spe
        age = self.age_s()
        parts = [title_state]
        if title_state == RunState.RUNNING and info.get("images_per_s"):
            parts.append(f"{info['images_per_s']:,.0f} img/s")
        if age is not None:
            parts.append(f"updated {_ago(age)} ago")
        stale = self.stale()
        rate = f"no update for {_ago(age)}: is the run still going?" if stale else " · ".join(parts)
        shown = [f"glimpses at step {self.snapshot_step:,}" if self.snapshot_step is not None
                 else "no snapshot.npz yet",
                 f"Latent tab at step {self.weights_step:,}" if self.weights_step is not None
                 else "no checkpoint.pt yet"]
        if self.gone:
            banner = (f"Following {self.path}: the run folder is gone (deleted, moved or unmounted). What it held "
                      "last stays shown, and it is shown again if the folder comes back. "
                      "File → Stop following to train here.")
        else:
            banner = (f"Following {self.path}" + (f", written on {host}" if host else "") + f": {', '.join(shown)}. "
                      "File → Stop following to train here.")
        return StatusLine(
            title=f"draw-gui — following {name} · step {self.step:,} · {title_state}",
            where=f"following {name}" + (f" · {host}" if host else "") + (f" · {where}" if where else ""),
            where_tip=str(self.path), step=step, epoch_fraction=fraction, rate=rate,
            rate_tip="run.json status and the last change seen in the run folder"
                     + (f"\n{self.problem}" if self.problem else ""),
            warning=stale, banner=banner)


# ---- the window's entry points (MainWindow.follow_run / stop_following call these) -----------
def follow(window: FollowHost, path: str | Path | None = None) -> bool:
    """Start following `path` (asks for a folder when None). False when nothing changed."""
    if window.state in TRAINING_STATES:
        window.show_error("Follow run folder", "This window is training a run of its own. Stop it (Run → Stop) "
                                               "before following another run.")
        return False
    if not path:
        parent = window if isinstance(window, QWidget) else None
        path = QFileDialog.getExistingDirectory(parent, "Follow run folder", window.settings.get("follow_dir", ""))
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
    window.set_state(RunState.FOLLOWING)
    window.follow.start()
    return True


def stop(window: FollowHost) -> None:
    if window.follow is None:
        return
    mode, window.follow = window.follow, None
    mode.stop()
    mode.deleteLater()
    window.set_state(mode.state_before)


def fill_recent(window: FollowHost) -> None:
    menu = window.follow_recent_menu
    menu.clear()
    runs = window.settings.get("recent_runs", [])
    for p in runs:
        a = menu.addAction(p)
        a.triggered.connect(lambda _=False, p=p, go=weakly(window.follow_run): go(p))  # never holds the window
    menu.setEnabled(bool(runs))
