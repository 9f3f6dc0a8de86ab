"""Where a model's glimpses go and how strongly they read and write, on its first test images.

    python benchmarks/glimpse_stats.py CHECKPOINT [CHECKPOINT ...] [--images 16] [--data-dir DIR]

For each checkpoint (a path, or a shipped model's name): the read intensity γ (eq. 27) and the
write's 1/γ̂ (eq. 29) over all T glimpses of its first --images test images (min, median, max),
and how far the glimpse centres g_X, g_Y (eq. 22-23) go outside the canvas [1, A] in pixels.
A run that diverged shows here what ran away (README, Two digits on a 60×60 canvas). The
posterior's noise is seeded (0), so a run prints the same figures. Gaussian attention only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--images", type=int, default=16)
    p.add_argument("--data-dir", default=None, help="where the checkpoint's data set is (default: its own)")
    args = p.parse_args()

    import numpy as np
    import torch

    from core.checkpoint import load_model
    from core.compare import example_images
    from core.data import Batches, DataUnavailable
    from draw_gui.cli.common import checkpoint_arg
    from draw_gui.resources import embedded_stand_in

    torch.set_num_threads(1)
    print(f"{'checkpoint':<44} {'step':>6} {'read γ min/median/max':>28} {'write 1/γ̂ median/max':>24} "
          f"{'centres off the canvas (px)':>28}")
    for name in args.checkpoints:
        path = checkpoint_arg(name, "CHECKPOINT")
        model, ckpt, _ = load_model(path, "cpu")
        if model.config.attention != "gaussian":
            print(f"{name:<44} not Gaussian attention: skipped")
            continue
        try:
            x = torch.from_numpy(example_images(ckpt, args.images, args.data_dir))
        except DataUnavailable:
            stand_in = embedded_stand_in(ckpt.get("dataset", "mnist"))
            if stand_in is None:
                raise
            x = Batches(stand_in, 1).examples(args.images)
        torch.manual_seed(0)                                                # the posterior's noise: the same each run
        with torch.inference_mode():
            trace = model(x, trace=True).trace
        read, write = np.asarray(trace.read), np.asarray(trace.write)     # (T, B, 5): g_x, g_y, δ, σ², γ
        _, H, W = model.config.image_shape
        centres = np.concatenate([read[..., :2], write[..., :2]]).reshape(-1, 2)
        off = np.maximum(np.maximum(1 - centres, centres - np.array([W, H])), 0).max()
        g, inv = read[..., 4], 1 / write[..., 4]
        print(f"{str(name)[-44:]:<44} {int(ckpt.get('step', 0)):>6} "
              f"{f'{g.min():.3g} / {np.median(g):.3g} / {g.max():.3g}':>28} "
              f"{f'{np.median(inv):.3g} / {inv.max():.3g}':>24} {off:>28.1f}")


if __name__ == "__main__":
    main()
