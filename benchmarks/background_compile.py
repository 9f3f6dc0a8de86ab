"""Does the window's background compilation pay, and does training ever stand still for it?

    python benchmarks/background_compile.py [--data-dir ../shared/data] [--seconds 150] [--fresh-cache] [--json]

The real window (offscreen unless QT_QPA_PLATFORM says otherwise) starts the paper's MNIST
configuration (T 64, LSTM 256, z 100, read 2, write 5, batch 64) as a user's Start does, with
Run > Compile the training step in the background on (the default), and trains for --seconds.
From the worker's own metrics and compile-status signals, in this one run:

- the first step's delay after Start, and the longest gap between two reported steps (the step
  that switches to the compiled code traces it from the cache: this is what a user waits);
- images/s of the plain step alone (a first run of --plain-seconds with the menu item off), of the
  plain step while the child process compiles, and of the compiled step after the switch: the
  ratio compiled / plain alone is what compiling gains in the window;
- how long the child took (--fresh-cache: an empty inductor cache, as on a first launch ever;
  otherwise the user's cache, as on every later launch);
- the GUI thread's responsiveness: how late a 20 ms timer fires (p95, max) while the child
  compiles and after, i.e. whether the window stays smooth meanwhile.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--seconds", type=float, default=150.0, help="the run with the background compilation")
    p.add_argument("--plain-seconds", type=float, default=45.0, help="the run before it, plain step only")
    p.add_argument("--fresh-cache", action="store_true", help="an empty inductor cache (a first launch ever)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["DRAW_GUI_CONFIG_DIR"] = tempfile.mkdtemp()
    os.environ["DRAW_GUI_RUNS_DIR"] = tempfile.mkdtemp()
    os.environ.pop("DRAW_GUI_NO_BACKGROUND_COMPILE", None)
    if args.fresh_cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from draw_gui.window.main_window import MainWindow
    from draw_gui.workers.messages import CompilePhase

    w = MainWindow(open_model=False)
    w.show()
    steps: list[tuple[float, int]] = []       # (time, step) of each metrics report
    phases: dict[str, float] = {}
    texts: list[str] = []
    w.worker.metrics.connect(lambda u: steps.append((time.perf_counter(), int(u.progress.step))))

    def on_status(status):
        phases.setdefault(str(status.phase), time.perf_counter())
        texts.append(status.text)
    w.worker.compile_status.connect(on_status)

    lateness: list[tuple[float, float]] = []  # (time, ms late) of a 20 ms GUI timer
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(20)
    last = [0]

    def tick():
        now = clock.elapsed()
        lateness.append((time.perf_counter(), max(0.0, now - last[0] - 20)))
        last[0] = now
    timer.timeout.connect(tick)

    w.config_panel.set_values({"data_dir": args.data_dir})   # the paper's configuration is the default

    def train(seconds: float) -> float:
        started = time.perf_counter()
        w.start()
        while time.perf_counter() - started < seconds:
            app.processEvents()
            time.sleep(0.002)
        w.stop()
        deadline = time.monotonic() + 30
        while (w.worker.running or w.state in ("loading", "running")) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        w.worker.dirty = False
        return started

    plain_alone = None
    if args.plain_seconds > 0:
        w.set_background_compile(False)
        train(args.plain_seconds)
        plain_alone = steps[len(steps) // 3:]   # past the start-up
        batch = w.run_info.train.batch_size
        plain_alone = batch * (plain_alone[-1][1] - plain_alone[0][1]) / (plain_alone[-1][0] - plain_alone[0][0])
        steps.clear()
        w.set_background_compile(True)
    clock.start()
    timer.start()
    started = train(args.seconds)
    timer.stop()
    batch = w.run_info.train.batch_size if w.run_info else 64

    def rate(t0, t1):
        inside = [(t, s) for t, s in steps if t0 <= t <= t1]
        if len(inside) < 2:
            return None
        (ta, sa), (tb, sb) = inside[0], inside[-1]
        return batch * (sb - sa) / (tb - ta)

    def late(t0, t1):
        values = [ms for t, ms in lateness if t0 <= t <= t1]
        return (round(float(np.percentile(values, 95)), 1), round(max(values), 1)) if values else None

    built = phases.get(str(CompilePhase.SWITCHING)) or phases.get(str(CompilePhase.FAILED))
    compiled = phases.get(str(CompilePhase.COMPILED))
    end = steps[-1][0] if steps else time.perf_counter()
    gaps = [b[0] - a[0] for a, b in zip(steps, steps[1:])]
    first_step = steps[0][0] - started if steps else None
    report = {
        "seconds": args.seconds, "fresh_cache": args.fresh_cache,
        "first_step_after_start_s": round(first_step, 2) if first_step else None,
        "child_compile_s": round(built - phases[str(CompilePhase.BUILDING)], 1)
        if built and str(CompilePhase.BUILDING) in phases else None,
        "longest_gap_between_steps_s": round(max(gaps), 2) if gaps else None,
        "plain_alone_img_s": plain_alone and round(plain_alone, 1),
        "plain_while_compiling_img_s": rate(started, built or end) and round(rate(started, built or end), 1),
        "compiled_img_s": rate(compiled, end) and round(rate(compiled, end), 1) if compiled else None,
        "gui_timer_late_ms_while_compiling_p95_max": late(started + 5, built or end),
        "gui_timer_late_ms_after_p95_max": late(compiled, end) if compiled else None,
        "status_texts": texts,
    }
    if report["plain_alone_img_s"] and report["compiled_img_s"]:
        report["compiled_over_plain_alone"] = round(report["compiled_img_s"] / report["plain_alone_img_s"], 2)
    w.close()
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for key, value in report.items():
        print(f"{key:45s} {value}")


if __name__ == "__main__":
    main()
