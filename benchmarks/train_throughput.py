"""Training images/s and generation time for the paper's MNIST configuration, on this machine.

    python benchmarks/train_throughput.py [--threads 1] [--steps 10] [--compile] [--json]
                                          [--attention gaussian|spatial|none] [--spatial-rotation]

Times draw-gui's DRAW and the literal implementation from the tests (tests/reference_draw.py)
in one run, on the same batch, so their ratio is meaningful whatever else the machine does; also
the matrix-product ceiling (torch.mm on the LSTMs' shapes, on 1 and 2 threads, beside one large
product's rate) and the fraction of it reached, the peak memory of the process, and with
--compile the torch.compile'd glimpse step. With
--attention spatial (or none) the model reads and writes that way at the same sizes; the literal
implementation is Gaussian only, so it is not timed then ("n/a").

The default path (threads chosen by timing, compiled with --compile) runs for --tuned-seconds in
6 parts, with 3 steps of the literal implementation on each of its thread counts before each
part; "the default path against it" divides by those, so a machine that speeds up or slows down
during the run moves both sides of that ratio alike.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INTERLEAVE_ROUNDS = 6   # parts of the default path's timed run, each after the literal's steps
sys.path.insert(0, str(REPO))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="timed training steps per implementation")
    p.add_argument("--compile", action="store_true", help="also time the torch.compile'd step (compiles ~40 s)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--tuned-seconds", type=float, default=30.0,
                   help="also run this long with the threads chosen by timing, as the CLI does (0: skip)")
    p.add_argument("--attention", default="gaussian", choices=("gaussian", "spatial", "none"),
                   help="attention kind of the timed model (default gaussian, the paper's)")
    p.add_argument("--spatial-rotation", action="store_true", help="spatial glimpses that may rotate")
    args = p.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step
    from tests.reference_draw import LiteralDRAW

    torch.manual_seed(0)
    # the paper's MNIST setting: T 64, LSTM 256, z 100, read 2, write 5
    cfg = DrawConfig(attention=args.attention, spatial_rotation=args.spatial_rotation)
    model = DRAW(cfg)
    tcfg = TrainConfig()
    x = (torch.rand(args.batch, 1, 28, 28) < 0.13).float()

    def step_times(step, n, warmup=2):
        """Seconds of each of n steps, after `warmup` untimed ones (allocator, first-call dispatch)."""
        for _ in range(warmup):
            step()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        return times

    def time_steps(step, n):
        return args.batch / statistics.median(step_times(step, n))

    opt = make_optimizer(model, tcfg)
    ours = time_steps(lambda: train_step(model, opt, x, tcfg), args.steps)

    literal = LiteralDRAW(model) if cfg.attention == "gaussian" else None
    opt2 = torch.optim.Adam(model.parameters(), lr=1e-3)

    def literal_step():
        eps = torch.randn(cfg.glimpses, args.batch, cfg.z_size)
        recon, kl = literal.forward(x, eps)
        loss = (recon + kl.sum(1)).mean()
        opt2.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt2.step()

    ref = time_steps(literal_step, args.steps) if cfg.attention == "gaussian" else None
    # The literal implementation at its best thread count too, so a tuned draw-gui is compared
    # with the best the literal one could do on this machine.
    ref_best, ref_threads = ref, args.threads
    if ref and args.tuned_seconds and (os.cpu_count() or 1) >= 2:
        torch.set_num_threads(2)
        ref2 = time_steps(literal_step, args.steps)
        torch.set_num_threads(args.threads)
        if ref2 > ref:
            ref_best, ref_threads = ref2, 2

    literal_threads = [args.threads] + ([2] if (os.cpu_count() or 1) >= 2 and args.threads != 2 else [])

    def tuned(step_fn):
        """Images/s of steps run the way the CLI runs them by default: threads chosen by timing
        (core.threads). Its first probe comes after 1 s; the rate is then taken over the next
        --tuned-seconds, the steady state of a long run (later probes come 1-10 minutes apart;
        with --compile the first step at a new thread count compiles that variant once).

        That time is cut into INTERLEAVE_ROUNDS parts, and before each part the literal
        implementation takes 3 timed steps on each of its thread counts, so that both sides of
        the ratio see the same machine (its speed moves by ±15% over a minute here). Returns
        (rate, the tuner's choice, {threads: the literal's median images/s in between})."""
        from core.threads import ThreadTuner
        tuner = ThreadTuner.for_machine(start=args.threads, first_probe_s=1.0)
        if tuner is None:
            return None, f"{torch.get_num_threads()} fixed", {}
        while not tuner.choices:                 # until its first choice is made
            t = time.perf_counter()
            step_fn()
            tuner.after_step(time.perf_counter() - t)
        images, busy = 0, 0.0
        between = {n: [] for n in literal_threads} if literal else {}
        for _ in range(INTERLEAVE_ROUNDS):
            if literal:
                chosen = torch.get_num_threads()         # the tuner's (or its probe's) threads
                for n in literal_threads:
                    torch.set_num_threads(n)
                    between[n] += [args.batch / t for t in step_times(literal_step, 3, warmup=1)]   # the untimed one wakes the threads
                torch.set_num_threads(chosen)
                step_fn()                                # wakes them again, untimed as above
            start = time.perf_counter()
            while time.perf_counter() - start < args.tuned_seconds / INTERLEAVE_ROUNDS:
                t = time.perf_counter()
                step_fn()
                tuner.after_step(time.perf_counter() - t)
                images += args.batch
            busy += time.perf_counter() - start
        torch.set_num_threads(args.threads)
        return images / busy, tuner.describe(), {n: statistics.median(r) for n, r in between.items()}

    tuned_plain, tuned_plain_note, between = tuned(lambda: train_step(model, opt, x, tcfg)) \
        if args.tuned_seconds else (None, "", {})

    compiled = tuned_compiled = None
    tuned_compiled_note = ""
    if args.compile:
        model.compile_glimpse()
        compiled = time_steps(lambda: train_step(model, opt, x, tcfg), args.steps)
        tuned_compiled, tuned_compiled_note, between = tuned(lambda: train_step(model, opt, x, tcfg)) \
            if args.tuned_seconds else (None, "", {})
        model.drop_compiled()
    default_path = tuned_compiled or tuned_plain or compiled or ours
    # the literal implementation timed in turn with the default path (the compiled one with --compile,
    # whose timings replace the plain one's)
    ref_between = between.get(args.threads)
    ref_best_between = max(between.values()) if between else None
    ref_best_between_threads = max(between, key=between.get) if between else None

    ceiling = matmul_ceiling(cfg, args.batch, args.threads)
    ceiling2 = matmul_ceiling(cfg, args.batch, 2) if (os.cpu_count() or 1) >= 2 and args.threads == 1 else None
    model.eval()

    def gen_ms(n, repeats=15):
        with torch.inference_mode():
            model.generate(n)
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                model.generate(n)
                ts.append(time.perf_counter() - t)
        return 1000 * statistics.median(ts)

    kind = "" if cfg.attention == "gaussian" else f", {cfg.attention} attention" + (
        " with rotation" if cfg.spatial_rotation else "")
    result = {
        "config": f"MNIST paper: T 64, LSTM 256/256, z 100, read 2, write 5{kind}",
        "attention": cfg.attention,
        "batch": args.batch, "threads": args.threads, "cpus": os.cpu_count(), "torch": torch.__version__,
        "train_images_per_s": round(ours, 1), "literal_images_per_s": round(ref, 1) if ref else None,
        "speedup_vs_literal": round(ours / ref, 2) if ref else None,
        "compiled_images_per_s": round(compiled, 1) if compiled else None,
        "literal_best_images_per_s": round(ref_best, 1) if ref_best else None, "literal_best_threads": ref_threads,
        "tuned_images_per_s": round(tuned_plain, 1) if tuned_plain else None, "tuned_threads": tuned_plain_note,
        "tuned_compiled_images_per_s": round(tuned_compiled, 1) if tuned_compiled else None,
        "tuned_compiled_threads": tuned_compiled_note,
        "default_path_vs_literal_best": round(default_path / ref_best, 2) if ref_best else None,
        "literal_between_images_per_s": round(ref_between, 1) if ref_between else None,
        "default_path_vs_literal_between": round(default_path / ref_between, 2) if ref_between else None,
        "literal_best_between_images_per_s": round(ref_best_between, 1) if ref_best_between else None,
        "literal_best_between_threads": ref_best_between_threads,
        "default_path_vs_literal_best_between": round(default_path / ref_best_between, 2) if ref_best_between else None,
        "matmul_gflops": round(ceiling["gflops"], 1), "ceiling_images_per_s": round(ceiling["images_per_s"], 1),
        "fraction_of_ceiling": round((compiled or ours) / ceiling["images_per_s"], 2),
        "large_product_gflops": round(ceiling["large_gflops"], 1),
        "lstm_products_of_large": round(ceiling["gflops"] / ceiling["large_gflops"], 2),
        "matmul_gflops_2_threads": round(ceiling2["gflops"], 1) if ceiling2 else None,
        "ceiling_2_threads_images_per_s": round(ceiling2["images_per_s"], 1) if ceiling2 else None,
        "default_path_of_ceiling_2_threads": round(default_path / ceiling2["images_per_s"], 2) if ceiling2 else None,
        "generate_1_ms": round(gen_ms(1), 2), "generate_64_ms": round(gen_ms(64), 2),
    }
    import resource
    result["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['config']}, batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}")
    if ref:
        print(f"  training   draw-gui {ours:7.1f} img/s   literal {ref:7.1f} img/s   ratio {ours / ref:.2f}x")
    else:
        print(f"  training   draw-gui {ours:7.1f} img/s   literal     n/a (Gaussian only)")
    if compiled:
        print(f"  compiled   draw-gui {compiled:7.1f} img/s   ({compiled / ours:.2f}x the plain step)")
    if ref_best and ref_threads != args.threads:
        print(f"  literal at its best, {ref_threads} threads: {ref_best:7.1f} img/s")
    if tuned_plain:
        print(f"  tuned      draw-gui {tuned_plain:7.1f} img/s   threads chosen by timing: {tuned_plain_note}")
    if tuned_compiled:
        print(f"  tuned+compiled      {tuned_compiled:7.1f} img/s   {tuned_compiled_note}")
    if ref_best:
        print(f"  the default path (the CLI's: {'compiled, ' if tuned_compiled else ''}threads by timing) "
              f"against the literal at its best: {result['default_path_vs_literal_best']:.2f}x")
    if ref_between:
        print(f"  the literal timed in turn with the default path: {ref_between:7.1f} img/s on {args.threads} thread(s), "
              f"{ref_best_between:.1f} at its best ({ref_best_between_threads} threads)\n"
              f"  the default path against it: {result['default_path_vs_literal_between']:.2f}x "
              f"({result['default_path_vs_literal_best_between']:.2f}x against its best)")
    print(f"  ceiling    {ceiling['gflops']:.0f} GFLOP/s on the LSTM products -> {ceiling['images_per_s']:.0f} img/s "
          f"at {ceiling['mflop_per_image']:.0f} MFLOP per image; reached {result['fraction_of_ceiling']:.0%}")
    print(f"             (one large 1024^3 product: {ceiling['large_gflops']:.0f} GFLOP/s; the LSTM products run at "
          f"{result['lstm_products_of_large']:.0%} of it)")
    if ceiling2:
        print(f"  2 threads  {ceiling2['gflops']:.0f} GFLOP/s on the LSTM products -> {ceiling2['images_per_s']:.0f} img/s; "
              f"the default path reached {result['default_path_of_ceiling_2_threads']:.0%}")
    print(f"  generation 1 sample {result['generate_1_ms']:.1f} ms   64 samples {result['generate_64_ms']:.1f} ms")
    print(f"  peak memory of this process {result['peak_memory_mb']} MB")


def matmul_ceiling(cfg, batch: int, threads: int = 1) -> dict:
    """What matrix products alone would allow: the model's multiply-adds per image (LSTMs, heads,
    filterbank products), timed as torch.mm on the encoder's and decoder's gate shapes with
    `threads` torch threads; beside it the rate of one large product (1024^3), the most these
    cores give a float32 product."""
    import torch
    C, H, W = cfg.image_shape
    N, M = cfg.read_size, cfg.write_size
    enc_in = 2 * C * N * N + cfg.dec_size + cfg.enc_size
    macs = (enc_in * 4 * cfg.enc_size + (cfg.z_size + cfg.dec_size) * 4 * cfg.dec_size
            + cfg.enc_size * 2 * cfg.z_size + cfg.dec_size * (10 + C * M * M)
            + 2 * C * (N * H * W + N * W * N) + C * (H * M * M + H * M * W))
    flop = 3 * 2 * macs * cfg.glimpses          # forward + backward ~ 3x forward
    shapes = [(batch, enc_in, 4 * cfg.enc_size), (batch, cfg.z_size + cfg.dec_size, 4 * cfg.dec_size)]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rates = [gemm_gflops(m, k, n, reps=200) for m, k, n in shapes]
        large = gemm_gflops(1024, 1024, 1024, reps=20)
    finally:
        torch.set_num_threads(before)
    gflops = statistics.mean(rates)
    return {"gflops": gflops, "mflop_per_image": flop / 1e6, "images_per_s": gflops * 1e9 / flop,
            "large_gflops": large}


def gemm_gflops(m: int, k: int, n: int, reps: int) -> float:
    """GFLOP/s of torch.mm of an (m, k) by a (k, n) matrix, after a warm-up."""
    import torch
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(max(2, reps // 10)):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * m * k * n * reps / (time.perf_counter() - t) / 1e9


if __name__ == "__main__":
    main()
