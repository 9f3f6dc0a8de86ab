"""Python's cyclic garbage collector, run in the GUI thread only.

The collector runs in whichever thread happens to allocate when its thresholds are crossed. In
draw-gui that is usually the training thread, which allocates all the time. A cycle holding a Qt
object (a closed window or dialog, a widget and a lambda connected to it) is then destroyed from
that thread while the GUI thread may be deleting another Qt object, and the two wait on each
other's locks: the window hangs (seen in the test suite, the training thread inside
`gc_collect_main` -> `QObject::~QObject`, the GUI thread inside `QObject::~QObject` waiting).

So the automatic collector is switched off and a timer in the GUI thread collects instead, each
generation when its count passes gc's own threshold, as the automatic collector would. Reference
counting still frees everything that is not in a cycle at once, in any thread.

A full collection walks every object Python tracks, and once torch.compile has built a step
those are many: ~0.35 s each, a GUI stall every ~100 s of training (the automatic collector
skips most full collections while few objects are new; this timer cannot know that). So what
survives a full collection is frozen (gc.freeze: left out of later collections, still freed by
reference counting), and later full collections walk only what came since. Every
THAW_INTERVAL_S the frozen objects are thawed first, so that cycles which died among them (an
old run's model) are freed too: one long collection per that interval at most.
"""
from __future__ import annotations

import gc
import time

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 500
THAW_INTERVAL_S = 600.0


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject, clock=time.monotonic):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self._clock = clock
        self._thawed_at = clock()
        self._timer = QTimer(self, interval=INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    def collect_due(self) -> None:
        """Collect the oldest generation whose count is past its threshold (and the younger ones)."""
        counts = gc.get_count()
        due = -1
        for generation in range(3):
            if counts[generation] > self.thresholds[generation]:
                due = generation
            else:
                break
        if due >= 0:
            self.collect(due)

    def collect(self, generation: int) -> None:
        """gc.collect(generation); after a full one, what survived is frozen (module docstring)."""
        if generation == 2 and self._clock() - self._thawed_at >= THAW_INTERVAL_S:
            gc.unfreeze()
            self._thawed_at = self._clock()
        gc.collect(generation)
        if generation == 2:
            gc.freeze()


def collect_in_gui_thread() -> GuiThreadCollector | None:
    """Install the collector on the running QApplication, once; returns it (None without an app)."""
    app = QCoreApplication.instance()
    if app is None:
        return None
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(app)
