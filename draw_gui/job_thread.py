"""A QObject that lives in a QThread of its own and works through the newest pending jobs.

The pattern of the latent decoder and the compare loader: the GUI thread puts a job in `_pending`
under a key (a newer job with the same key replaces the older one, so a fast stream of requests
skips the ones in between) and calls `_schedule`; the thread's `_work` (the subclass's) takes jobs
until none is left. At most one wake-up signal is in flight.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Signal


class JobThread(QObject):
    _wake = Signal()

    def __init__(self, name: str):
        super().__init__()
        self._lock = threading.Lock()
        self._pending: dict = {}
        self._scheduled = False
        self._thread = QThread()
        self._thread.setObjectName(name)
        self.moveToThread(self._thread)
        self._wake.connect(self._work)
        self._thread.start()

    def _work(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def busy(self) -> bool:
        """Whether jobs are pending or being worked on."""
        with self._lock:
            return self._scheduled

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Drop pending jobs and join the thread; the owner must call this before dropping it."""
        if not self._thread.isRunning():
            return True
        with self._lock:
            self._pending.clear()
        self._thread.quit()
        return self._thread.wait(timeout_ms)

    def _pop_next(self, kinds, kind_of=lambda key: key):
        """With the lock held: the pending job of the earliest kind in `kinds` (the oldest first
        within a kind), or None after marking the thread idle when nothing is left. `kind_of`
        names the kind a pending key stands for; the key is the kind itself by default."""
        for kind in kinds:
            for key in self._pending:
                if kind_of(key) == kind:
                    return self._pending.pop(key)
        self._scheduled = False
        return None

    def _schedule(self) -> None:
        # Called with the lock held: one wake-up in flight is enough, _work drains everything.
        if not self._scheduled:
            self._scheduled = True
            self._wake.emit()
