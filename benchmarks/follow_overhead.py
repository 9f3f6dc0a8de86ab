"""What keeping a run folder followable costs training (core/live_run.py), paper model.

Times each write a follower needs, on the model after a few steps, and turns them into a share
of training time at draw-gui train's default intervals (metrics + run.json every 5 s, snapshot
every 30 s, checkpoint every 10 min), against the measured training speed:

    python benchmarks/follow_overhead.py [--data-dir ../shared/data] [--steps 20]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from core.config import DrawConfig, TrainConfig
    from core.data import Batches, load_dataset
    from core.live_run import LiveRun
    from core.loop import Trainer
    from core.runfolder import RunFolder
    from draw_gui.cli.live import CHECKPOINT_MINUTES, FOLLOW_INTERVAL_S, SNAPSHOT_INTERVAL_S

    data = load_dataset("mnist", data_dir=a.data_dir, download=False)
    train = TrainConfig(max_steps=a.steps, device="cpu")
    batches = Batches(data, train.batch_size)
    trainer = Trainer(DrawConfig(), train, batches)
    t = time.perf_counter()
    trainer.run()
    step_s = (time.perf_counter() - t) / a.steps
    run = RunFolder(tempfile.mkdtemp(prefix="follow-overhead-"))
    live = LiveRun(run, trainer, batches.examples(8), {"dataset": "mnist"})
    live.start()

    def timed(fn):
        times = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times)
    costs = {"metrics + run.json": (timed(live._metrics), FOLLOW_INTERVAL_S),
             "snapshot.npz": (timed(live._snapshot), SNAPSHOT_INTERVAL_S),
             "checkpoint.pt": (timed(lambda: run.save_checkpoint(trainer.checkpoint())), 60 * CHECKPOINT_MINUTES)}
    print(f"training: {step_s * 1000:.0f} ms per step, {train.batch_size / step_s:.0f} images/s (1 thread)")
    total = 0.0
    for name, (cost, every) in costs.items():
        share = cost / every
        total += share
        print(f"{name:20s} {cost * 1000:7.1f} ms every {every:4.0f} s  -> {share:.3%} of training time")
    print(f"all together: {total:.3%} of training time (throughput falls by that share)")


if __name__ == "__main__":
    main()
