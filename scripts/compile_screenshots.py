"""Screenshots of the window's background compilation: training on the plain step while the
compiled one is built ("cpu · 1 thread · compiling…"), then training compiled.

    xvfb-run -a -s "-screen 0 1024x768x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/compile_screenshots.py --data-dir ../shared/data --out docs/tour/1024x768

It writes OUT-compiling.png and OUT-compiled.png (the whole screen). The paper's configuration,
as a user's Start trains it; it takes the child's compilation time (seconds with a filled
inductor cache, about a minute on a first launch ever).
"""
import argparse
import functools
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from window_tour import spin_events  # noqa: E402  (scripts/ is this script's own folder on sys.path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    p.add_argument("--out", default="docs/tour/window", help="path prefix of the PNGs")
    args = p.parse_args()
    home = Path(tempfile.mkdtemp())
    os.environ["DRAW_GUI_CONFIG_DIR"] = str(home / "config")
    os.environ["DRAW_GUI_RUNS_DIR"] = str(home / "runs")
    os.environ.pop("DRAW_GUI_NO_BACKGROUND_COMPILE", None)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from draw_gui.window.main_window import MainWindow
    w = MainWindow(open_model=False)
    w.show()

    spin = functools.partial(spin_events, app, limit=300.0)

    def shot(name):
        spin(0.5)
        path = f"{args.out}-{name}.png"
        w.screen().grabWindow(0).save(path)
        print(f"{path}: {w.device_label.text()!r} · {w.statusBar().currentMessage()!r}")

    w.config_panel.set_values({"data_dir": args.data_dir})
    w.start()
    spin(until=lambda: w.device_label.text().endswith("compiling…") and "img/s" in w.rate_label.text())
    spin(6)   # a few steps: the speed field settles
    shot("compiling")
    spin(until=lambda: w.device_label.text().endswith("· compiled"))
    spin(4)   # its message stays 10 s
    shot("compiled")
    w.stop()
    spin(until=lambda: not w.worker.running, limit=30)
    w.worker.dirty = False
    w.close()


if __name__ == "__main__":
    main()
