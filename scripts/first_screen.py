"""The first screen a new user sees, for the README: the window opened with fresh settings and no
data folder, on the shipped MNIST model, caught while its glimpses play. Prints how long the window
and the glimpses took to appear.

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/first_screen.py --out docs/first-screen.png [--size 1280x800] [--t 40]
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


if __name__ == "__main__":
    main()
