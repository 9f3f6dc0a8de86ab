"""The first screen a new user sees, for the README: the window opened with fresh settings and no
data folder, on the shipped MNIST model, caught while its glimpses play. Prints how long the window
and the glimpses took to appear. With --compare: its Compare tab instead, once the empty tab's
"Compare the 2 shipped models" was pressed, every run held at glimpse --t.

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/first_screen.py --out docs/first-screen.png [--size 1280x800] [--t 40]
    ... scripts/first_screen.py --compare --out docs/tour/compare-shipped.png
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="docs/first-screen.png")
    p.add_argument("--size", default="1280x800")
    p.add_argument("--t", type=int, default=40, help="grab when the playing glimpses reach this t (0: at the end)")
    p.add_argument("--compare", action="store_true", help="the Compare tab on the shipped models instead")
    args = p.parse_args()
    os.environ["DRAW_GUI_CONFIG_DIR"] = tempfile.mkdtemp()    # a new user: no settings ...
    os.environ["DRAW_GUI_DATA"] = tempfile.mkdtemp()          # ... and no data folder
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from draw_gui.window.main_window import MainWindow
    w = MainWindow()
    w.resize(*(int(v) for v in args.size.split("x")))
    w.show()
    app.processEvents()
    shown = time.perf_counter()
    while w.glimpse_view.trace() is None and time.perf_counter() - shown < 60:
        app.processEvents(QEventLoop.AllEvents, 20)
    glimpses = time.perf_counter()
    print(f"window shown {shown - T0:.2f} s after start; glimpses {glimpses - shown:.2f} s later "
          f"({glimpses - T0:.2f} s after start)")
    if args.compare:
        compare_shipped(app, w, args)
        return
    deadline = time.perf_counter() + 15
    while time.perf_counter() < deadline:
        t = w.glimpse_view.t()
        if (args.t and t >= args.t) or (not args.t and not w.glimpse_view.timeline.play_button.isChecked()):
            break
        app.processEvents(QEventLoop.AllEvents, 10)
    w.glimpse_view.timeline.play_button.setChecked(False)     # hold the picture at this t
    for _ in range(10):
        app.processEvents(QEventLoop.AllEvents, 20)
    w.grab().save(args.out)
    print(f"{args.out}: {w.windowTitle()}, glimpse t = {w.glimpse_view.t()}")
    w.shutdown()


def compare_shipped(app, w, args):
    """Press the empty Compare tab's button; grab once every run shows its glimpses, at t."""
    from window_tour import spin_events  # scripts/ is this script's own folder on sys.path
    spin_events(app, until=lambda: w.shown is not None, limit=60)
    view = w.compare_view
    w.tabs.setCurrentWidget(view)
    view.shipped_button.click()
    spin_events(app, until=lambda: len(view.run_ids()) >= 2 and not view.busy()
                and all(view.column(i).trace() is not None for i in view.run_ids()))
    view.set_t(args.t or 64)
    spin_events(app, 2)
    w.grab().save(args.out)
    print(f"{args.out}: {', '.join(view.runs[i].name for i in view.run_ids())} at t = {args.t or 64}")
    w.shutdown()


if __name__ == "__main__":
    main()
