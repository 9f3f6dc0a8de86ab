"""Python's cyclic garbage collection runs in the GUI thread only (draw_gui/workers/gui_gc.py):
a Qt object freed by the training thread's collection once hung the window."""
from __future__ import annotations

import gc
import threading
import weakref

from tests.test_window_first_hour import SMALL


def test_while_the_window_trains_every_collection_runs_in_the_gui_thread(qtbot, new_window, mnist_dir):
    w = new_window()
    assert not gc.isenabled()          # the window switched the automatic collector off
    threads = []

    def seen(phase, info):
        if phase == "start":
            threads.append(threading.current_thread().name)
    gc.callbacks.append(seen)
    try:
        w.config_panel.set_values({"data_dir": str(mnist_dir), **SMALL})
        w.start_button.click()
        qtbot.waitUntil(lambda: w.state == "running" and w.loss_plot.point_count() >= 20, timeout=60000)
        qtbot.waitUntil(lambda: len(threads) >= 3, timeout=30000)   # training allocates: collections are due
        w.stop_button.click()
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    finally:
        gc.callbacks.remove(seen)
    assert set(threads) == {threading.main_thread().name}, threads


def test_a_cycle_is_freed_by_the_gui_threads_timer(qtbot, new_window):
    new_window()

    class Node:
        pass
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    kept = [[i] for i in range(5000)]    # live allocations past generation 0's threshold
    qtbot.waitUntil(lambda: gone() is None, timeout=5000)
    assert len(kept) == 5000


def test_full_collections_freeze_what_survives_and_thaw_it_at_intervals(qtbot):
    """After a full collection the survivors are frozen, so the next full collection is short; a
    cycle that dies among them is freed at the next thaw, THAW_INTERVAL_S later, not leaked."""
    import shiboken6
    from PySide6.QtCore import QObject

    from draw_gui.workers.gui_gc import THAW_INTERVAL_S, GuiThreadCollector
    now = [0.0]
    parent = QObject()
    collector = GuiThreadCollector(parent, clock=lambda: now[0])
    try:
        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        frozen = gc.get_freeze_count()
        collector.collect(2)
        assert gc.get_freeze_count() >= frozen + 2   # the cycle (still referenced) among them
        del a, b                                     # now garbage, but frozen
        collector.collect(2)
        assert gone() is not None and gc.get_freeze_count() > 0
        now[0] += THAW_INTERVAL_S
        collector.collect(2)                       # thawed first, then collected
        assert gone() is None
    finally:
        shiboken6.delete(parent)   # and its collector, whose timer must not fire in later tests
        gc.enable()
