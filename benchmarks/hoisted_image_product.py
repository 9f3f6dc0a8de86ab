"""The no-attention model's training step with the encoder's image product hoisted out of the
glimpse loop (DRAW._hoisted_image_product) against eq. 5 taken literally at every glimpse.

    python benchmarks/hoisted_image_product.py [--threads 1] [--batch 64 128] [--steps 8] [--no-compile]

Without attention the encoder reads [x, x_hat_t] at each of the T glimpses; the part of its
product that depends on x alone is the same every time, so draw-gui computes it once per batch.
This times both ways in one process on the same weights and batch, alternating step by step so
that both see the same machine, for the plain and the torch.compile'd training step (the CLI's
--compile; each variant compiles once, ~1 min on a CPU), and prints images/s and their ratio.
It first checks that both give the same bound.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, nargs="+", default=[64, 128])
    p.add_argument("--steps", type=int, default=8, help="timed training steps of each way, per batch size")
    p.add_argument("--no-compile", action="store_true", help="time the plain step only")
    p.add_argument("--glimpses", type=int, default=64, help="T (the paper's MNIST model: 64)")
    args = p.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step

    torch.manual_seed(0)
    base = DRAW(DrawConfig(attention="none", glimpses=args.glimpses))   # the paper's MNIST sizes
    tcfg = TrainConfig()
    ways = {"literal": False, "hoisted": True}
    x = (torch.rand(8, 1, 28, 28) < 0.13).float()
    eps = torch.randn(args.glimpses, 8, base.config.z_size)
    bounds = {}
    for name, hoist in ways.items():
        base.hoist_image_product = hoist
        with torch.no_grad():
            bounds[name] = base(x, eps=eps).loss.item()
    print(f"bound on 8 images: literal {bounds['literal']:.4f}, hoisted {bounds['hoisted']:.4f} nats")
    print(f"no attention, T {args.glimpses}, LSTM 256/256, z 100; {args.threads} thread(s), torch {torch.__version__}")
    print(f"{'step':10} {'batch':>5} {'literal img/s':>14} {'hoisted img/s':>14} {'ratio':>6}")
    for compiled in ([False] if args.no_compile else [False, True]):
        models = {}
        for name, hoist in ways.items():
            m = copy.deepcopy(base)
            m.hoist_image_product = hoist
            if compiled:
                m.compile_glimpse()
            models[name] = (m, make_optimizer(m, tcfg))
        for batch in args.batch:
            x = (torch.rand(batch, 1, 28, 28) < 0.13).float()
            times = {name: [] for name in ways}
            for m, opt in models.values():      # untimed: compiles, wakes the allocator
                for _ in range(2):
                    train_step(m, opt, x, tcfg)
            for _ in range(args.steps):
                for name, (m, opt) in models.items():
                    t = time.perf_counter()
                    train_step(m, opt, x, tcfg)
                    times[name].append(time.perf_counter() - t)
            rate = {name: batch / statistics.median(ts) for name, ts in times.items()}
            print(f"{'compiled' if compiled else 'plain':10} {batch:5d} {rate['literal']:14.1f} {rate['hoisted']:14.1f} "
                  f"{rate['hoisted'] / rate['literal']:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
