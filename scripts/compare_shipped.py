"""The Compare tab on the shipped models, for the README: a new user's window (fresh settings, no
data folder) whose empty Compare tab's "Compare the 2 shipped models" was pressed, held at one t.

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/compare_shipped.py --out docs/tour/compare-shipped.png [--size 1280x800] [--t 40]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="docs/tour/compare-shipped.png")
    p.add_argument("--size", default="1280x800")
    p.add_argument("--t", type=int, default=40, help="the glimpse every run shows")
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

    def spin(seconds, until=lambda: False):
        start = time.perf_counter()
        while time.perf_counter() - start < seconds and not until():
            app.processEvents(QEventLoop.AllEvents, 20)

    spin(60, lambda: w.shown is not None)
    view = w.compare_view
    w.tabs.setCurrentWidget(view)
    view.shipped_button.click()
    spin(120, lambda: len(view.run_ids()) >= 2 and not view.busy()
         and all(view.column(i).trace() is not None for i in view.run_ids()))
    view.set_t(args.t)
    spin(2)
    w.grab().save(args.out)
    print(f"{args.out}: {', '.join(view.runs[i].name for i in view.run_ids())} at t = {args.t}")
    w.shutdown()


if __name__ == "__main__":
    main()
