"""How long from a mouse move on the Latent tab's 2-D pad to the new sample on screen?

    python benchmarks/latent_latency.py [--data-dir ../shared/data] [--moves 600] [--json]

The real window with the paper's MNIST configuration (DrawConfig defaults: T 64, LSTM 256,
z 100, read 2, write 5): mouse moves are sent to the pad every --interval-ms (a 125 Hz mouse by
default) along a figure-of-eight, and each move's latency runs from the moment it is sent to the
paint of the sample widget that shows its decode (or a newer one: moves the decoder skipped are
shown by the next image). Measured twice: with the run loaded and paused ("idle"), and with the
worker training in the background ("training"; a long run compiles its step in the background
first: measured once it trains on the compiled step). The mouse press that starts the drag counts
too.

On the 2-core development CPU, `--moves 1200` under Xvfb (README, "The window"): idle p95 5.9 ms,
training (compiled step, 148 images/s) p95 17.8 ms.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def percentile(values, q):
    import numpy as np
    return float(np.percentile(values, q))


def wait(app, condition, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        app.processEvents()
        time.sleep(0.005)


def drag(app, view, moves: int, interval_ms: int) -> dict:
    """Drag the pad's point around a figure-of-eight; returns the latencies in ms."""
    from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer
    from PySide6.QtGui import QMouseEvent

    pad = view.pad
    pending: list[tuple[int, float]] = []          # (request id, time sent) not yet on screen
    latencies: list[float] = []
    paints = []

    def on_painted(image_id, at):
        paints.append(image_id)
        while pending and pending[0][0] <= image_id:
            latencies.append((at - pending.pop(0)[1]) * 1000)

    def send(kind, x, y, buttons):
        local = pad.position_of(x, y)
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        event = QMouseEvent(kind, local, pad.mapToGlobal(local), button, buttons, Qt.KeyboardModifier.NoModifier)
        sent = time.perf_counter()
        app.sendEvent(pad, event)
        request = view.latest_request("image")
        if not pending or request > pending[-1][0]:
            pending.append((request, sent))

    view.sample.painted.connect(on_painted)
    loop, count = QEventLoop(), [0]
    send(QEvent.Type.MouseButtonPress, 0.0, 0.0, Qt.MouseButton.LeftButton)

    def tick():
        count[0] += 1
        angle = 2 * math.pi * count[0] / 240       # one figure-of-eight every ~2 s
        send(QEvent.Type.MouseMove, 2.8 * math.sin(angle), 2.8 * math.sin(2 * angle), Qt.MouseButton.LeftButton)
        if count[0] >= moves:
            timer.stop()
            QTimer.singleShot(500, loop.quit)     # let the last moves reach the screen

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(interval_ms)
    loop.exec()
    send(QEvent.Type.MouseButtonRelease, 0.0, 0.0, Qt.MouseButton.NoButton)
    view.sample.painted.disconnect(on_painted)
    return dict(events=moves + 1, measured=len(latencies), paints=len(set(paints)), latencies=latencies)


def summary(name: str, result: dict) -> dict:
    lat = result["latencies"]
    out = dict(phase=name, events=result["events"], measured=len(lat), images_shown=result["paints"],
               p50_ms=percentile(lat, 50), p95_ms=percentile(lat, 95), p99_ms=percentile(lat, 99),
               max_ms=max(lat))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--moves", type=int, default=600, help="mouse moves per phase")
    p.add_argument("--interval-ms", type=int, default=8, help="time between mouse moves")
    p.add_argument("--warmup-s", type=float, default=3.0, help="training before the 'training' phase")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["DRAW_GUI_CONFIG_DIR"] = tempfile.mkdtemp()

    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from draw_gui.window.main_window import MainWindow
    from draw_gui.workers.training import RunSetup
    w = MainWindow()
    w.config_panel.set_values({"data_dir": args.data_dir})    # the paper's configuration is the default
    model, train = w.config_panel.configs()
    w.show()
    w.tabs.setCurrentWidget(w.latent_view)
    view = w.latent_view
    w.start_with(RunSetup(model=model, train=train, data_dir=args.data_dir, paused=True))
    wait(app, lambda: view.image() is not None and view.up_to_date(), 120)
    view.lock_seed.setChecked(True)
    view.randomize()                                           # a latent like a sample's, not zeros
    wait(app, view.up_to_date, 10)

    results = [summary("idle", drag(app, view, args.moves, args.interval_ms))]
    w.worker.resume()
    steps = w.loss_plot.point_count()
    wait(app, lambda: w.loss_plot.point_count() > steps + 3, 60)
    # A long run compiles its step in the background and then switches to it: measured after that,
    # on the step a long run trains with (the switch itself is background_compile.py's subject).
    wait(app, lambda: "compiling" not in w.device_label.text(), 300)
    steps = w.loss_plot.point_count()
    wait(app, lambda: w.loss_plot.point_count() > steps + 3, 60)
    deadline = time.monotonic() + args.warmup_s
    wait(app, lambda: time.monotonic() > deadline, args.warmup_s + 5)
    results.append(summary("training", drag(app, view, args.moves, args.interval_ms)))
    results[-1]["training_rate"] = w.rate_label.text() + (", compiled step" if "compiled" in w.device_label.text()
                                                          else ", plain step")
    results[-1]["training_steps_during"] = w.loss_plot.point_count() - steps
    w.worker.dirty = False
    w.shutdown()

    if args.json:
        print(json.dumps(results, indent=2))
        return
    cfg = model
    print(f"Latent pad: mouse move -> new sample painted (T {cfg.glimpses}, LSTM {cfg.dec_size}, "
          f"z {cfg.z_size}, read {cfg.read_size}, write {cfg.write_size}); a move every {args.interval_ms} ms")
    for r in results:
        extra = f"  (training meanwhile: {r['training_rate']})" if "training_rate" in r else ""
        print(f"{r['phase']:>9}: {r['measured']}/{r['events']} mouse events on screen, {r['images_shown']} images; "
              f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
              f"max {r['max_ms']:.1f} ms{extra}")


if __name__ == "__main__":
    main()
