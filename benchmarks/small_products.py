"""The compiled training step with the Gaussian filterbank's small batched products (eq. 27, 29)
as external bmm calls against the same products written as multiply and sum, which inductor fuses
into its own kernels (core.attention.batched_product; DRAW.compile_glimpse's
small_products_as_sums), on 1 and 2 threads, alternating in one process.

    python benchmarks/small_products.py [--rounds 12] [--warm-cache] [--profile]

Each variant compiles its own graph (the printed graph count says so: torch.compile would
otherwise reuse one variant's graph for the other), from an empty inductor cache unless
--warm-cache. The paper's configuration at batch 64 then trains with each in turn, 3 steps at a
time; printed: median images/s, the ratio to the bmm variant on the same thread count, and the
bmm calls per step (torch.profiler) that are left. --profile then prints, for both variants on
1 thread, where 3 steps' time goes (self time per operator, as glimpses_per_call.py does).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=12, help="rounds of 3 steps per variant and thread count")
    p.add_argument("--warm-cache", action="store_true", help="keep the user's inductor cache (default: an empty one)")
    p.add_argument("--profile", action="store_true", help="also profile 3 steps of each variant on 1 thread")
    args = p.parse_args()
    if not args.warm_cache:   # before torch is imported: inductor reads it once
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
    import torch
    from torch._dynamo.utils import counters
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step
    from glimpses_per_call import alternating_rates, profile_steps

    threads = [1, 2] if (os.cpu_count() or 1) >= 2 else [1]
    tcfg, batch = TrainConfig(), 64
    x = (torch.rand(batch, 1, 28, 28) < 0.13).float()
    variants = {"bmm": False, "multiply and sum": True}
    print(f"paper configuration, batch {batch}, compiled (8 glimpses per call), median images/s "
          f"of {3 * args.rounds} steps each, alternating:")
    for n in threads:
        torch.set_num_threads(n)
        steps = {}
        for name, as_sums in variants.items():
            torch.manual_seed(0)
            model = DRAW(DrawConfig())
            model.compile_glimpse(small_products_as_sums=as_sums)
            opt = make_optimizer(model, tcfg)
            graphs, t = counters["stats"]["unique_graphs"], time.perf_counter()
            train_step(model, opt, x, tcfg)
            print(f"  {n} thread(s), {name}: first step {time.perf_counter() - t:.1f} s, "
                  f"{counters['stats']['unique_graphs'] - graphs} graph(s) compiled", flush=True)
            steps[name] = (lambda m, o: lambda: train_step(m, o, x, tcfg))(model, opt)
        rates = alternating_rates(steps, args.rounds, batch)
        for name, step in steps.items():
            rate = rates[name]
            print(f"  {n} thread(s), {name:16s}: {rate:6.1f} img/s   {rate / rates['bmm']:.2f}x   "
                  f"bmm calls per step: {bmm_calls(step):.0f}", flush=True)
        if args.profile and n == 1:
            profiles = {name: profile_steps(step) for name, step in steps.items()}
    if args.profile:
        names = sorted({k for rows in profiles.values() for k in rows},
                       key=lambda k: -max(rows.get(k, (0, 0))[0] for rows in profiles.values()))[:8]
        print("where a step's time goes, 1 thread (ms per step):")
        print("  " + " " * 44 + "".join(f"{name:>18s}" for name in profiles))
        for k in names:
            print(f"  {k[:44]:44s}" + "".join(f"{profiles[name].get(k, (0, 0))[0]:15.1f} ms" for name in profiles))
        print(f"  {'all':44s}" + "".join(f"{sum(r[0] for r in rows.values()):15.1f} ms" for rows in profiles.values()))


def bmm_calls(step) -> float:
    """aten::bmm calls in one training step (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return sum(e.count for e in prof.key_averages() if e.key == "aten::bmm")


if __name__ == "__main__":
    main()
