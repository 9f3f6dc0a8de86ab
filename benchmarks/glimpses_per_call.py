"""The compiled training step with 1 glimpse per compiled call against several (core.model's
compile_glimpse(glimpses_per_call=k)), on 1 and 2 threads, alternating in one process.

    python benchmarks/glimpses_per_call.py [--per-call 1,8] [--rounds 6] [--warm-cache] [--profile]

Each compiled call costs torch.compile's own bookkeeping (its forward and backward wrappers,
~0.35 ms a glimpse on a 2-core CPU); k glimpses per call pay it T/k times. The price is a longer
first compilation: printed for each k and thread count (inductor compiles each thread count
apart), from an empty inductor cache (the first launch ever) unless --warm-cache, and again in a
new process once the cache holds the step (every later launch). Then the paper's
configuration at batch 64 trains with each k in turn, 3 steps at a time, and the medians are
printed as images/s and as ratios to k = 1 within the same thread count. --profile then prints,
for each k on 1 thread, where 3 steps' time goes (torch.profiler, self time per operator).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-call", default="1,8", help="glimpses per compiled call to compare (default 1,8)")
    p.add_argument("--rounds", type=int, default=6, help="rounds of 3 steps per variant and thread count")
    p.add_argument("--warm-cache", action="store_true", help="keep the user's inductor cache (default: an empty one)")
    p.add_argument("--profile", action="store_true", help="also profile 3 steps of each k on 1 thread")
    p.add_argument("--child", metavar="K,THREADS", help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.warm_cache and not args.child:   # before torch is imported: inductor reads it once
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
    import torch
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step

    per_call = [int(k) for k in args.per_call.split(",")]
    threads = [1, 2] if (os.cpu_count() or 1) >= 2 else [1]
    cfg, tcfg, batch = DrawConfig(), TrainConfig(), 64
    x = (torch.rand(batch, 1, 28, 28) < 0.13).float()

    def compiled_model(k):
        torch.manual_seed(0)
        model = DRAW(cfg)
        model.compile_glimpse(glimpses_per_call=k)
        return model, make_optimizer(model, tcfg)

    if args.child:   # first_step_in_a_new_process: print the first step's seconds
        k, n = (int(v) for v in args.child.split(","))
        torch.set_num_threads(n)
        model, opt = compiled_model(k)
        t = time.perf_counter()
        train_step(model, opt, x, tcfg)
        print(time.perf_counter() - t)
        return

    steps, first, again = {}, {}, {}
    for n in threads:
        torch.set_num_threads(n)
        for k in per_call:
            model, opt = compiled_model(k)
            t = time.perf_counter()
            train_step(model, opt, x, tcfg)
            first[k, n] = time.perf_counter() - t
            steps[k, n] = (lambda m, o: lambda: train_step(m, o, x, tcfg))(model, opt)
            again[k, n] = first_step_in_a_new_process(k, n)
            print(f"compiled {k} glimpse(s) per call, {n} thread(s): first step {first[k, n]:.1f} s "
                  f"({'the user' + chr(39) + 's' if args.warm_cache else 'an empty'} cache), "
                  f"{again[k, n]:.1f} s in a new process once cached", flush=True)
    print(f"paper configuration, batch {batch}, median images/s of {3 * args.rounds} steps each, alternating:")
    for n in threads:
        torch.set_num_threads(n)
        rates = alternating_rates({k: steps[k, n] for k in per_call}, args.rounds, batch)
        for k in per_call:
            print(f"  {n} thread(s), {k:2d} glimpse(s) per call: {rates[k]:6.1f} img/s   "
                  f"{rates[k] / rates[per_call[0]]:.2f}x")
    if args.profile:
        torch.set_num_threads(1)
        profiles = {k: profile_steps(steps[k, 1]) for k in per_call}
        names = sorted({name for rows in profiles.values() for name in rows},
                       key=lambda name: -max(rows.get(name, (0, 0))[0] for rows in profiles.values()))[:14]
        print("where a step's time goes, 1 thread (ms per step, calls per step):")
        print("  " + " " * 44 + "".join(f"{f'{k} per call':>22s}" for k in per_call))
        for name in names:
            cells = "".join(f"{profiles[k].get(name, (0, 0))[0]:13.1f} ms {profiles[k].get(name, (0, 0))[1]:5.0f}"
                            for k in per_call)
            print(f"  {name[:44]:44s}{cells}")
        print("  " + f"{'all':44s}" + "".join(f"{sum(r[0] for r in profiles[k].values()):13.1f} ms      "
                                              for k in per_call))


def alternating_rates(steps: dict, rounds: int, batch: int) -> dict:
    """{name: median images/s}: each step function runs 3 steps at a time, in turn, `rounds`
    times, so that a change of machine speed hits all of them alike."""
    rates = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            t = time.perf_counter()
            for _ in range(3):
                step()
            rates[name].append(3 * batch / (time.perf_counter() - t))
    return {name: statistics.median(r) for name, r in rates.items()}


def profile_steps(step, steps: int = 3) -> dict:
    """{operator: (self ms per step, calls per step)} over `steps` steps; inductor's compiled
    graphs are named by what they are, not by their hash."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    rows = {}
    for e in prof.key_averages():
        name = "compiled graph (inductor's fused kernels)" if e.key.startswith("## Call CompiledFxGraph") else e.key
        ms, calls = rows.get(name, (0.0, 0))
        rows[name] = (ms + e.self_cpu_time_total / 1000 / steps, calls + e.count / steps)
    return rows


def first_step_in_a_new_process(k: int, threads: int) -> float:
    """Seconds of the first compiled training step in a fresh process (this script, --child) that
    shares this one's inductor cache: what every launch after the first pays."""
    import subprocess
    out = subprocess.run([sys.executable, __file__, "--child", f"{k},{threads}"],
                         capture_output=True, text=True, check=True, timeout=900).stdout
    return float(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
