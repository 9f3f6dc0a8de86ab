"""Does the window stay responsive while the paper's model trains? And how fast does it open?

    python benchmarks/ui_latency.py --data-dir ../shared/data [--seconds 20] [--json]
    DRAW_GUI_THREADS=2 OMP_WAIT_POLICY=PASSIVE python benchmarks/ui_latency.py ...   (other thread settings)

A QTimer probe fires every 10 ms on the GUI thread while the worker trains MNIST with the
paper's configuration; how late each tick arrives is the event-loop latency a user feels.
Startup is timed from launching a fresh `python -m draw_gui` to its window being shown.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PROBE_MS = 10

def startup_seconds(repeats: int = 3) -> list[float]:
    times = []
    env = {**os.environ, "DRAW_GUI_CONFIG_DIR": tempfile.mkdtemp(), "DRAW_GUI_STARTUP_PROBE": "1"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    for _ in range(repeats):
        t = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "draw_gui"], cwd=REPO, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in child.stdout:
            if line.startswith("shown"):
                times.append(time.perf_counter() - t)
                break
        child.wait(30)
    return times


def percentile(values, q):
    import numpy as np
    return float(np.percentile(values, q))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["DRAW_GUI_CONFIG_DIR"] = tempfile.mkdtemp()

    startup = startup_seconds()
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from draw_gui.window.main_window import MainWindow
    w = MainWindow()
    w.config_panel.set_values({"data_dir": args.data_dir})  # the paper's configuration is the default
    w.show()
    w.start()
    deadline = time.monotonic() + 120
    while w.loss_plot.point_count() < 5 and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    lateness, last = [], [time.perf_counter()]
    steps_at_start = w.loss_plot.point_count()

    def tick():
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - PROBE_MS))
        last[0] = now

    probe = QTimer()
    probe.setTimerType(Qt.PreciseTimer)
    probe.timeout.connect(tick)
    probe.start(PROBE_MS)
    t0 = time.perf_counter()
    loop = QEventLoop()  # not app.quit(): in Qt 6 that closes the window, which asks to save
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    loop.exec()
    elapsed = time.perf_counter() - t0
    steps = w.loss_plot.point_count() - steps_at_start
    info = w.run_info
    w.shutdown()
    result = {
        "seconds": round(elapsed, 1), "ticks": len(lateness), "probe_ms": PROBE_MS,
        "latency_p50_ms": round(percentile(lateness, 50), 2), "latency_p95_ms": round(percentile(lateness, 95), 2),
        "latency_p99_ms": round(percentile(lateness, 99), 2), "latency_max_ms": round(max(lateness), 2),
        "train_images_per_s": round(steps * info.train.batch_size / elapsed, 1),
        "worker_threads": info.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
        "startup_s": [round(s, 2) for s in startup],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"paper configuration on MNIST, {info.threads} worker thread(s), OMP_WAIT_POLICY {result['omp_wait_policy']}")
    print(f"  event-loop latency over {result['seconds']} s ({result['ticks']} ticks of {PROBE_MS} ms): "
          f"p50 {result['latency_p50_ms']} ms, p95 {result['latency_p95_ms']} ms, p99 {result['latency_p99_ms']} ms, "
          f"max {result['latency_max_ms']} ms")
    print(f"  training meanwhile: {result['train_images_per_s']} images/s")
    print(f"  window shown after launch: {', '.join(f'{s:.2f} s' for s in startup)}")


if __name__ == "__main__":
    main()
