"""How long the shipped MNIST model takes to draw 1 and 64 samples (what the Latent tab redraws).

    python benchmarks/generation.py [--threads 1] [--rounds 10]

One thread, as the window decodes. Also times, alternating with it in the same process, the
Gaussian write as it was before: the H x W update divided by 1/gamma^ (eq. 29) instead of the
N x N patch, i.e. 784 divisions per image and glimpse instead of 25.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    import core.attention as attention
    from core.checkpoint import load_model
    from draw_gui.models.shipped import shipped_model

    model, _, _ = load_model(str(shipped_model("mnist").checkpoint), "cpu")
    model.eval()
    current = attention.GaussianWrite.forward

    def update_divided(self, h_dec, glimpse=None):   # the write before: the whole update / gamma
        g_x, g_y, delta, sigma2, gamma = self.glimpse(h_dec) if glimpse is None else glimpse
        F_x, F_y = attention.filterbank(g_x, g_y, delta, sigma2, self.N, self.W, self.H)
        w = self.patch(h_dec).view(-1, self.C, self.N, self.N)
        update = F_y.transpose(1, 2).unsqueeze(1) @ w @ F_x.unsqueeze(1)
        return update / gamma.view(-1, 1, 1, 1), (g_x, g_y, delta, sigma2, gamma)

    writes = {"draw-gui": current, "update divided by gamma (before)": update_divided}
    times = {(name, n): [] for name in writes for n in (1, 64)}
    with torch.inference_mode():
        for n in (1, 64):
            for _ in range(3):
                model.generate(n)
        for _ in range(args.rounds):
            for name, forward in writes.items():
                attention.GaussianWrite.forward = forward
                for n in (1, 64):
                    for _ in range(3):
                        t = time.perf_counter()
                        model.generate(n)
                        times[name, n].append(time.perf_counter() - t)
    attention.GaussianWrite.forward = current
    print(f"shipped mnist model, {args.threads} thread(s), median of {3 * args.rounds} draws, alternating:")
    for name in writes:
        one, many = (1000 * statistics.median(times[name, n]) for n in (1, 64))
        print(f"  {name:34s} 1 sample {one:5.1f} ms   64 samples {many:5.1f} ms")


if __name__ == "__main__":
    main()
