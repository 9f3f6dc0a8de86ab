"""Training images/s of each of the paper's presets, on this machine, in one run.

    python benchmarks/preset_speed.py [--threads 1] [--batch 64] [--rounds 3] [--steps 3] [--json]

Each preset's model (core.presets: T, LSTM units, z, read and write N) takes plain training steps
(no torch.compile) on a batch of its own image size: binary pixels for the MNIST sets, grey levels
in [0, 1] for the colour ones. The presets take turns, --steps timed steps each per round (after
one untimed step per round), so a machine that slows down during the run slows every preset
alike; each preset's figure is the median step over its rounds, and "x MNIST" divides the MNIST
preset's images/s by it: how many times longer an image of that preset takes. Minutes per epoch
use each dataset's number of training images.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TRAIN_IMAGES = {"mnist": 60_000, "two-digit-mnist": 60_000, "cifar10": 50_000, "svhn": 73_257}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=3, help="timed steps per preset per round")
    p.add_argument("--presets", default="mnist,two-digit-mnist,cifar10,svhn")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.presets import get_preset
    from core.train import TrainConfig, make_optimizer, train_step

    torch.manual_seed(0)
    tcfg = TrainConfig()
    runs = {}
    for name in args.presets.split(","):
        preset = get_preset(name)
        channels = 1 if "mnist" in preset.dataset else 3
        shape = (channels, preset.size, preset.size)
        model = DRAW(DrawConfig(image_shape=shape, **preset.model).validate())
        x = torch.rand(args.batch, *shape)
        x = (x < 0.13).float() if channels == 1 else x
        runs[preset.name] = (preset, model, make_optimizer(model, tcfg), x, [])

    for _ in range(args.rounds):
        for _, model, opt, x, times in runs.values():
            train_step(model, opt, x, tcfg)                  # untimed: the allocator settles
            for _ in range(args.steps):
                t = time.perf_counter()
                train_step(model, opt, x, tcfg)
                times.append(time.perf_counter() - t)

    rows = []
    for preset, _, _, _, times in runs.values():
        per_s = args.batch / statistics.median(times)
        rows.append({"preset": preset.name, "images": f"{preset.size}x{preset.size}", "images_per_s": per_s,
                     "epoch_min": TRAIN_IMAGES[preset.dataset] / per_s / 60})
    base = next((r["images_per_s"] for r in rows if r["preset"] == "mnist"), None)
    for r in rows:
        r["x_mnist"] = base / r["images_per_s"] if base else None
    if args.json:
        print(json.dumps({"threads": args.threads, "batch": args.batch, "rows": rows}, indent=1))
        return
    print(f"plain training step, batch {args.batch}, {args.threads} thread(s), median of "
          f"{args.rounds} x {args.steps} steps per preset, presets in turn")
    print(f"{'preset':<16} {'images':>7} {'images/s':>9} {'x MNIST':>8} {'min/epoch':>10}")
    for r in rows:
        ratio = f"{r['x_mnist']:.2f}" if r["x_mnist"] else "n/a"
        print(f"{r['preset']:<16} {r['images']:>7} {r['images_per_s']:>9.1f} {ratio:>8} {r['epoch_min']:>10.1f}")


if __name__ == "__main__":
    main()
