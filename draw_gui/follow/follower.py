"""Follow a run folder that `draw-gui train --out DIR` is writing, here or on a server (a synced
or mounted folder): the loss plot, test bounds, glimpses and latent explorer of that run, live.

`FollowPoller` reads the folder (plain Python, one background thread); `RunFollower` polls it
every second and whenever QFileSystemWatcher reports a change (synced and network folders often
report none, hence the timer too), and hands the window plain data. Nothing here blocks the UI
thread: every file read and the checkpoint load happen in the poller's thread. A damaged or
half-synced file is skipped and named in the status bar; the next poll tries again.
"""
from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer, Signal, Slot

from core.runfolder import CHECKPOINT_NAME, INFO_NAME, RUN_FILES, SNAPSHOT_NAME, MetricsRows, RunReader
from draw_gui.workers.messages import Evaluation, FailureKind, Snapshot, failure_from

if TYPE_CHECKING:
    from core.trace import GlimpseTrace
    from draw_gui.workers.training import ModelWeights

POLL_INTERVAL_MS = 1000
STALE_AFTER_S = 300          # "no update for 5 min": a running run writes metrics every ~5 s
WATCHED = ("metrics.csv", "eval.csv", INFO_NAME, SNAPSHOT_NAME, CHECKPOINT_NAME)


def check_run_folder(path) -> str | None:
    """None for a folder a follower can open; else what is wrong and how to fix it."""
    p = Path(path).expanduser()
    if not p.exists():
        return f"{p} does not exist. Give the folder that `draw-gui train --out DIR` writes (or its synced copy)."
    if not p.is_dir():
        if p.name in RUN_FILES + (SNAPSHOT_NAME, "eval.csv"):
            return f"{p} is a file of a run; follow the folder that holds it: {p.parent}"
        return f"{p} is a file, not a run folder. Give the folder that `draw-gui train --out DIR` writes."
    if not RunReader(p).looks_like_run():
        return (f"{p} is not a run folder: it has no run.json, metrics.csv or checkpoint.pt. Choose the folder "
                f"given to `draw-gui train --out` (it holds run.json once training starts), or start a run "
                f"there with `draw-gui train --out {p}`.")
    return None


def _whole(v) -> bool:
    """A step a run can have written: a whole number 0 <= v < 2**53 (a float holds it exactly)."""
    return not isinstance(v, bool) and isinstance(v, (int, np.integer)) and 0 <= v < 2**53


def _check_trace(trace: GlimpseTrace) -> None:
    """A snapshot the glimpse viewer can draw, or ValueError (a foreign or damaged file)."""
    c = trace.canvases
    if c.ndim != 5 or c.shape[0] < 1 or c.shape[1] < 1:
        raise ValueError(f"canvases of shape {c.shape}")
    T, B = c.shape[:2]
    for name in ("read", "write"):
        a = getattr(trace, name)
        if a is not None and (a.ndim != 3 or a.shape[:2] != (T, B)):
            raise ValueError(f"{name} boxes of shape {a.shape}")
    if trace.images is not None and trace.images.shape != (B,) + c.shape[2:]:
        raise ValueError(f"images of shape {trace.images.shape}")
    if trace.kl_steps is not None and trace.kl_steps.shape != (T,):
        raise ValueError(f"KL of shape {trace.kl_steps.shape}")


@dataclass
class FollowUpdate:
    """One poll's news, plain data for the window."""
    metrics: MetricsRows
    info: dict | None = None            # run.json when it changed
    evals: list[Evaluation] | None = None  # every eval.csv row, when they changed
    snapshot: Snapshot | None = None    # when snapshot.npz changed
    weights: ModelWeights | None = None  # when checkpoint.pt changed
    problems: list[str] = field(default_factory=list)
    newest_mtime: float = 0.0           # the newest run file's modification time
    changed: bool = False
    gone: bool = False                  # the folder is not there (deleted, moved, unmounted)


class FollowPoller:
    """Reads what changed in a run folder since the last call (one thread at a time). Everything
    in the folder is untrusted: a damaged file is named in `problems`, never raised."""

    def __init__(self, path):
        self.path = Path(path)
        self.reader: RunReader | None = None   # made when the folder is there
        self.gone = False                      # the folder was missing at the last poll
        self._examples: np.ndarray | None = None  # the snapshot's images: the latent tab's principal directions
        self._forget()

    def _forget(self) -> None:
        """Read every file afresh at the next poll (a new folder, or one that came back)."""
        self._info_mtime = self._ckpt_key = None
        self._evals_key = object()          # eval.csv's (mtime, size) when last read: read at once
        self._evals: list | None = None

    def _gone(self) -> FollowUpdate:
        self.gone = True
        return FollowUpdate(metrics=MetricsRows.empty(), gone=True, problems=[
            f"the run folder is gone: {self.path} was deleted, moved or unmounted; what it held last stays shown"])

    def poll(self) -> FollowUpdate:
        if not self.path.is_dir():   # one stat a poll while it is gone: cheap, and it may come back
            return self._gone()
        came_back = self.reader is not None and self.gone
        if self.reader is None or came_back:
            self.reader = RunReader(self.path)   # positions in the old files mean nothing now
            self._forget()
        self.gone = False
        update = self._poll()
        if not self.path.is_dir():
            # Deleted while it was read: the reads saw missing files. Keep what is shown (a
            # missing metrics.csv reads as "start over") and read it all again if it comes back.
            return self._gone()
        if came_back:
            update.metrics.reset = update.changed = True   # shown again from the start
        return update

    def _poll(self) -> FollowUpdate:
        problems = []
        try:
            metrics = self.reader.new_metrics()
        except (OSError, UnicodeError) as e:
            metrics, problems = MetricsRows.empty(), [f"metrics.csv could not be read ({e})"]
        update = FollowUpdate(metrics=metrics, problems=problems, changed=len(metrics) > 0 or metrics.reset)
        stats = self._stats()
        mtimes = {name: st.st_mtime for name, st in stats.items()}
        update.newest_mtime = max(mtimes.values(), default=0.0)
        if mtimes.get(INFO_NAME) != self._info_mtime:
            info = self.reader.info()
            if isinstance(info, dict) and info:
                self._info_mtime = mtimes.get(INFO_NAME)
                update.info, update.changed = info, True
            elif INFO_NAME in mtimes:
                update.problems.append("run.json is damaged or half written; waiting for the next one")
        evals_key = self._key(stats.get("eval.csv"))   # unchanged: no need to open it (a slow mount)
        if evals_key != self._evals_key:
            evals = self.reader.evals()
            self._evals_key = evals_key
            if evals != self._evals:
                self._evals = update.evals = evals
                update.changed = True
        try:
            read = self.reader.new_snapshot()
            if read is not None:
                step, trace = read
                if not _whole(step):
                    raise ValueError(f"its step is {step!r}, not a whole number")
                _check_trace(trace)
                update.snapshot, update.changed = Snapshot(int(step), trace), True
                self._examples = trace.images
        except Exception as e:  # noqa: BLE001 - a damaged snapshot must never reach the viewer
            update.problems.append(f"snapshot.npz is damaged ({type(e).__name__}: {e}); keeping the last one")
        key = self._key(stats.get(CHECKPOINT_NAME))
        if key is not None and key != self._ckpt_key:
            self._ckpt_key = key
            try:
                update.weights = self._weights()
                update.changed = True
            except Exception as e:  # noqa: BLE001 - same for a checkpoint
                update.problems.append(f"checkpoint.pt could not be loaded: {e}")
        return update

    def _stats(self) -> dict:
        """os.stat of each run file there is: one stat per file and poll."""
        out = {}
        for name in WATCHED:
            try:
                out[name] = (self.reader.path / name).stat()
            except OSError:
                pass
        return out

    @staticmethod
    def _key(st) -> tuple | None:
        """What tells a changed file from the one last read: (mtime, size), None when absent."""
        return None if st is None else (st.st_mtime, st.st_size)

    def _weights(self) -> ModelWeights:
        from core.checkpoint import checkpoint_configs, load_checkpoint
        from draw_gui.workers.training import ModelWeights
        path = self.reader.checkpoint_path
        ckpt = load_checkpoint(path)
        # Settings within bounds and weights that fit them, or CheckpointError: the latent
        # explorer builds a model from these (glimpses = 10**7 must never reach it).
        config, _ = checkpoint_configs(ckpt, path)
        return ModelWeights(config=config, state=ckpt["model"], step=int(ckpt.get("step", 0)),
                            examples=self._examples)


class RunFollower(QObject):
    """Polls a run folder off the UI thread: `updated` carries a FollowUpdate to the UI thread."""

    updated = Signal(object)        # FollowUpdate
    _done = Signal(object)          # FollowUpdate, from the poll thread

    def __init__(self, path, parent=None):
        super().__init__(parent)
        self.path = Path(path).expanduser().resolve()
        self._poller = FollowPoller(self.path)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="draw-gui follow")
        self._future = None
        self._again = False
        self._closed = False
        self._done.connect(self._deliver, Qt.QueuedConnection)
        self.timer = QTimer(self, interval=POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.poll_now)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self.poll_now)
        self.watcher.fileChanged.connect(self.poll_now)

    def start(self):
        self._watch_files()
        self.timer.start()
        self.poll_now()

    @Slot()
    def poll_now(self):
        if self._closed:
            return
        if self._future is not None:
            self._again = True          # one poll at a time; one more after it
            return
        self._future = self._pool.submit(self._poll)

    def _poll(self):
        try:
            update = self._poller.poll()
        except Exception as e:  # noqa: BLE001 - following must survive anything on disk
            failure = failure_from(e, "follow", kind=FailureKind.ERROR)   # said in the status bar
            update = FollowUpdate(metrics=MetricsRows.empty(),
                                  problems=[f"the run folder could not be read ({failure.message})"])
        self._done.emit(update)

    @Slot(object)
    def _deliver(self, update: FollowUpdate):
        self._future = None
        if self._closed:
            # The poll under way at close has ended: this may go now, but not from inside its
            # own slot (a QObject destroyed while Qt delivers to it crashes the process).
            QTimer.singleShot(0, partial(_closing.discard, self))
            return
        self._watch_files()
        self.updated.emit(update)
        if self._again:
            self._again = False
            self.poll_now()

    def _watch_files(self):
        # Files replaced atomically drop out of the watcher: add them again; and the folder
        # itself once it is back after it was gone (the timer's polls notice that).
        if not self.path.is_dir():
            return
        if str(self.path) not in self.watcher.directories():
            self.watcher.addPath(str(self.path))
        watched = set(self.watcher.files())
        for name in WATCHED:
            f = self.path / name
            if str(f) not in watched and f.exists():
                self.watcher.addPath(str(f))

    def close(self):
        self._closed = True
        self.timer.stop()
        for p in self.watcher.files() + self.watcher.directories():
            self.watcher.removePath(p)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._future is not None:
            # A poll still loading a checkpoint (a slow network folder) emits when it ends: keep
            # this object alive until _deliver has it, on this thread, rather than wait for it
            # here (dropped by the poll thread, a QObject would be destroyed on the wrong thread).
            _closing.add(self)


_closing: set = set()   # RunFollowers closed while a poll was under way, until it is delivered
