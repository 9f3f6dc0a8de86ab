"""A QObject that lives in a QThread of its own and works through the newest pending jobs.

The pattern of the latent decoder and the compare loader: the GUI thread puts a job in `_pending`
under a key (a newer job with the same key replaces the older one, so a fast stream of requests
skips the ones in between) and calls `_schedule`; the thread's `_work` (the subclass's) takes jobs
until none is left. At most one wake-up signal is in flight.

Qt aborts the whole process when a QThread object is destroyed while its thread still runs
("QThread: Destroyed while thread ... is still running"). So no thread here is destroyed before
it was joined: every started thread is held in a module-level list until it has finished, whoever
owned it (a widget closed while a long job ran, an owner that never called shutdown), and the
threads still running when Python exits are joined first (atexit).

Every background worker (the training worker and the JobThreads) is a BackgroundWorker: a failure
in its thread goes out through its `failed` signal as a messages.Failure, built by
report_failure, never a print or a silent drop; the window tells the user.
"""
from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from PySide6.QtCore import QObject, QThread, Signal

from draw_gui.workers.messages import Failure, FailureKind, failure_from


class _Unjoined(NamedTuple):
    thread: QThread
    objects: tuple                   # what must outlive the thread (the worker living in it)
    stop: Callable[[], None] | None  # ends the work under way (join_all)


_unjoined: list[_Unjoined] = []   # started, not yet seen finished


def keep_until_finished(thread: QThread, *objects, stop=None) -> None:
    """Hold `thread` (and `objects`, e.g. the worker living in it) until the thread has finished,
    so that dropping its owner can never destroy it while it runs. `stop`: what ends the work
    under way when Python exits (join_all). Call from the GUI thread, before thread.start()."""
    _sweep()
    _unjoined.append(_Unjoined(thread, objects, stop))


def _sweep() -> None:
    """Let go of the threads that have finished (their objects may now be freed)."""
    _unjoined[:] = [entry for entry in _unjoined if not entry.thread.isFinished()]


def unjoined() -> int:
    """How many threads are held because they have not finished yet (tests)."""
    _sweep()
    return len(_unjoined)


@atexit.register
def join_all(timeout_ms: int = 30000) -> None:
    """Ask every thread still running to end and wait for it (at exit: before Python destroys
    them). A job under way finishes first: the JobThreads end theirs early when asked to."""
    for entry in list(_unjoined):
        if entry.stop is not None:
            entry.stop()
        entry.thread.quit()
    for entry in list(_unjoined):
        entry.thread.wait(timeout_ms)
    _sweep()


class BackgroundWorker(QObject):
    """A QObject working in a thread of its own. Its failures reach the GUI thread one way: a
    messages.Failure through `failed`, made by report_failure."""

    failed = Signal(object)          # messages.Failure
    source = "background worker"     # names the worker in its failures ("training", ...)

    def report_failure(self, error: BaseException | Failure, subject: Any = None,
                       kind: FailureKind | None = None, message: str | None = None) -> Failure:
        """Send `error` (an exception being handled, or a Failure made already) through `failed`,
        and return the Failure. kind and message: as messages.failure_from."""
        failure = error if isinstance(error, Failure) else failure_from(error, self.source, subject, kind, message)
        self.failed.emit(failure)
        return failure


class JobThread(BackgroundWorker):
    _wake = Signal()

    def __init__(self, name: str):
        super().__init__()
        self.source = name.removeprefix("draw-gui ")
        self._lock = threading.Lock()
        self._pending: dict = {}
        self._scheduled = False
        self._stopping = False       # shutdown asked: long jobs end early (they check stopping())
        self._thread = QThread()
        self._thread.setObjectName(name)
        self.moveToThread(self._thread)
        self._wake.connect(self._work)
        keep_until_finished(self._thread, self, stop=self._stop_jobs)
        self._thread.start()

    def _work(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def busy(self) -> bool:
        """Whether jobs are pending or being worked on."""
        with self._lock:
            return self._scheduled

    def stopping(self) -> bool:
        """Whether shutdown was asked for: a long job checks this between its parts."""
        return self._stopping

    def _stop_jobs(self) -> None:
        with self._lock:
            self._stopping = True
            self._pending.clear()

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Drop pending jobs, end the one under way early, and join the thread; the owner calls
        this before dropping it. False when the thread is still finishing a job after timeout_ms:
        it is then kept (keep_until_finished) and ends by itself, never destroyed while it runs."""
        self._stop_jobs()
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        done = self._thread.wait(timeout_ms)
        if done:
            _sweep()
        return done

    def _pop_next(self, kinds, kind_of=lambda key: key):
        """With the lock held: the pending job of the earliest kind in `kinds` (the oldest first
        within a kind), or None after marking the thread idle when nothing is left. `kind_of`
        names the kind a pending key stands for; the key is the kind itself by default."""
        if self._stopping:
            self._pending.clear()
        for kind in kinds:
            for key in self._pending:
                if kind_of(key) == kind:
                    return self._pending.pop(key)
        self._scheduled = False
        return None

    def _schedule(self) -> None:
        # Called with the lock held: one wake-up in flight is enough, _work drains everything.
        if self._stopping:
            self._pending.clear()    # shut down: nothing more is worked on
            return
        if not self._scheduled:
            self._scheduled = True
            self._wake.emit()
