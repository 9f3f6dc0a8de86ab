"""Screenshots of the window as a new user meets it, at one screen size: every tab on the shipped
model, then the open-checkpoint flow after training (a run trained in the window and stopped, a
checkpoint being opened with its load stages in the status bar, the checkpoint shown).

Run it in a real X server of the size to check, so that the window fits that screen itself:

    xvfb-run -a -s "-screen 0 1024x768x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/window_tour.py --out docs/tour/1024x768

It writes OUT-glimpses.png, OUT-latent.png, OUT-compare.png, OUT-runs.png, OUT-trained.png,
OUT-history.png (the run's training history), OUT-shipped-history.png (the shipped
model's training replayed, at --history-step), OUT-opening.png and OUT-opened.png (the whole
screen, so a window too large for it shows cut off),
and prints the window's size beside the screen's.
"""
import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def spin_events(app, seconds=0.0, until=None, limit=120.0):
    """Let the window work for `seconds`, or until `until()` holds (at most `limit` seconds)."""
    from PySide6.QtCore import QEventLoop
    start = time.perf_counter()
    while True:
        app.processEvents(QEventLoop.AllEvents, 20)
        elapsed = time.perf_counter() - start
        if (until is None and elapsed >= seconds) or (until is not None and until()) or elapsed > limit:
            return


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="docs/tour/window", help="path prefix of the PNGs")
    p.add_argument("--history-step", type=int, default=200,
                   help="the shipped model's training step its replay is shown at (the first recorded at or after it)")
    args = p.parse_args()
    home = Path(tempfile.mkdtemp())
    os.environ["DRAW_GUI_CONFIG_DIR"] = str(home / "config")   # a new user: no settings ...
    os.environ["DRAW_GUI_DATA"] = str(home / "data")           # ... no data folder (the embedded sample)
    os.environ["DRAW_GUI_RUNS_DIR"] = str(home / "runs")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from PySide6.QtWidgets import QApplication, QMessageBox
    app = QApplication([])
    from draw_gui.window.main_window import MainWindow
    w = MainWindow()
    w._exec = lambda box: QMessageBox.Ok     # no modal dialog may stop the tour

    spin = functools.partial(spin_events, app)

    def shot(name, settle=0.3):
        spin(settle)
        path = f"{args.out}-{name}.png"
        app.primaryScreen().grabWindow(0).save(path)
        print(path)

    w.show()
    screen = app.primaryScreen().availableGeometry()
    spin(until=lambda: w.shown is not None and w.latent_view.grid_images() is not None)
    print(f"screen {screen.width()}x{screen.height()}, window {w.frameGeometry().width()}x"
          f"{w.frameGeometry().height()} at ({w.x()}, {w.y()})")
    for name in ("glimpses", "latent", "compare", "runs"):
        w.tabs.setCurrentIndex([w.tabs.tabText(i).lower() for i in range(w.tabs.count())].index(name))
        spin(1.5)
        shot(name)
    w.tabs.setCurrentIndex(0)
    # Training replayed on the shipped model: its own history, a step where the strokes form
    history = w.glimpse_view.history
    w.glimpse_view.history_checkbox.setChecked(True)
    spin(until=lambda: history.entries() > 0, limit=10)
    if history.entries():
        history.slider.setValue(0)
        while history.slider.value() < history.entries() - 1 and history.shown_step() < args.history_step:
            history.slider.setValue(history.slider.value() + 1)
    shot("shipped-history")
    w.glimpse_view.history_checkbox.setChecked(False)

    # Train a small model on the embedded sample for a few seconds, then stop it.
    w.config_panel.set_values({**w.config_panel.values(), "glimpses": 16, "hidden": 128, "z_size": 20,
                               "batch_size": 64})
    w.start_button.click()
    spin(until=lambda: w.state == "running")
    spin(8)
    w.stop_button.click()
    spin(until=lambda: w.state == "stopped")
    spin(until=lambda: w.glimpse_view.trace() is not None, limit=10)
    shot("trained")
    w.glimpse_view.history_checkbox.setChecked(True)        # training replayed: the run's recorded steps
    spin(until=lambda: w.glimpse_view.history.entries() >= 3, limit=10)
    w.glimpse_view.history.slider.setValue(w.glimpse_view.history.entries() // 2)
    shot("history")
    w.glimpse_view.history_checkbox.setChecked(False)
    trained = next(Path(os.environ["DRAW_GUI_RUNS_DIR"]).glob("*/checkpoint.pt"))
    # Open the shipped model's file as a user would with File → Open checkpoint.
    from draw_gui.models.shipped import DEFAULT, shipped_model
    def on_message(text):      # caught as it is shown: opening takes well under a second once torch is loaded
        if "reading the checkpoint" in text:
            w.statusBar().repaint()
            shot("opening", settle=0)
    w.statusBar().messageChanged.connect(on_message)
    w.open_checkpoint(str(shipped_model(DEFAULT).checkpoint))
    spin(until=lambda: w.state != "loading" and w.glimpse_view.trace() is not None, limit=60)
    spin(2)
    shot("opened")
    print(f"the trained run stays in {trained.parent}")
    w.shutdown()


if __name__ == "__main__":
    main()
