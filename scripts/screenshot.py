"""Screenshot of the real window mid-training, for the README.

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshot.py --data-dir ../shared/data --seconds 150 --out docs/screenshot.png
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--seconds", type=float, default=150)
    p.add_argument("--t", type=int, default=24, help="glimpse shown in the screenshot")
    p.add_argument("--out", default="docs/screenshot.png")
    args = p.parse_args()
    os.environ.setdefault("DRAW_GUI_CONFIG_DIR", tempfile.mkdtemp())
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from draw_gui.window.main_window import MainWindow
    w = MainWindow()
    w.resize(1360, 860)
    w.config_panel.set_values({"data_dir": args.data_dir})
    w.show()
    w.start()
    loop = QEventLoop()
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    loop.exec()
    w.worker.request_snapshot()
    loop = QEventLoop()
    QTimer.singleShot(1500, loop.quit)
    loop.exec()
    w.glimpse_view.set_t(args.t)
    app.processEvents()
    shot = w.screen().grabWindow(w.winId())
    shot.save(args.out)
    print(f"saved {args.out} ({shot.width()}x{shot.height()}) at step {w.loss_plot.point_count()}")
    w.shutdown()


if __name__ == "__main__":
    main()
