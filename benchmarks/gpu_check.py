"""GPU check for draw-gui's DRAW: same losses as on the CPU, then speed. Under 5 minutes on a GPU.

    bash benchmarks/gpu_check.sh                    (on a machine with CUDA; ../shared/data beside the repo)
    python benchmarks/gpu_check.py --device cpu --quick   (a dry run of the same code on the CPU)

1. fidelity: the same weights, batch and noise on the CPU and the device: the bound per image
   and the losses after three training steps must agree to float32 rounding;
2. training images/s at batch 64 and 1024: plain, torch.compile'd, and CUDA graphs (reduce-overhead);
3. the time of one MNIST epoch (60,000 images, stochastically binarized) at batch 1024, through the
   real training loop (measured before the batch-64 speeds: the training runs plan with it);
4. bf16 autocast against float32: the test bound after the same short training from one start.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def read_mnist(root: Path, train: bool, limit: int | None = None):
    """The raw idx files, read with numpy (torchvision may be missing on a GPU machine)."""
    import torch
    name = "train-images-idx3-ubyte" if train else "t10k-images-idx3-ubyte"
    data = np.fromfile(root / "MNIST" / "raw" / name, dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return torch.from_numpy(data[:limit].copy())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, not the speed")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", metavar="FILE", help="also write the report as JSON here, after every part "
                   "(a run cut short by a time limit keeps what it measured)")
    p.add_argument("--budget", type=float, default=0, metavar="SECONDS",
                   help="skip the measurements that would start after this many seconds (0: no limit)")
    args = p.parse_args()
    t_start = time.perf_counter()

    def over_budget() -> bool:
        return args.budget > 0 and time.perf_counter() - t_start > args.budget

    def checkpoint_report():
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(report, indent=1))

    import torch
    from core.config import DrawConfig, TrainConfig
    from core.data import Batches, ImageData
    from core.evaluate import evaluate
    from core.loop import Trainer
    from core.model import DRAW
    from core.train import make_optimizer, train_step

    device = torch.device(args.device)
    root = Path(args.data_dir)
    quick = args.quick
    cfg = DrawConfig(glimpses=4, enc_size=32, dec_size=32, z_size=8) if quick else DrawConfig()
    report = {"device": str(device), "torch": torch.__version__,
              "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    # 1. fidelity
    x_cpu = (read_mnist(root, False, 64) > 127).float()
    eps_cpu = torch.randn(cfg.glimpses, 64, cfg.z_size, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    cpu_model = DRAW(cfg)
    dev_model = DRAW(cfg).to(device)
    dev_model.load_state_dict(cpu_model.state_dict())
    with torch.no_grad():
        a, b = cpu_model(x_cpu, eps=eps_cpu), dev_model(x_cpu.to(device), eps=eps_cpu.to(device))
    bound_cpu = (a.recon + a.kl.sum(1)).double()
    bound_dev = (b.recon + b.kl.sum(1)).double().cpu()
    tcfg = TrainConfig()
    opt_cpu, opt_dev = make_optimizer(cpu_model, tcfg), make_optimizer(dev_model, tcfg)
    steps_cpu = [train_step(cpu_model, opt_cpu, x_cpu, tcfg, eps=eps_cpu).loss.item() for _ in range(3)]
    steps_dev = [train_step(dev_model, opt_dev, x_cpu.to(device), tcfg, eps=eps_cpu.to(device)).loss.item()
                 for _ in range(3)]
    report["fidelity"] = {
        "bound_max_rel_diff": float(((bound_dev - bound_cpu).abs() / bound_cpu.abs()).max()),
        "losses_cpu": steps_cpu, "losses_device": steps_dev,
        "loss_max_rel_diff": max(abs(u - v) / abs(u) for u, v in zip(steps_cpu, steps_dev)),
    }
    checkpoint_report()

    # 2. throughput. Every model compiled here recompiles the same glimpse code (new module,
    # new batch size); past dynamo's limit of 8 it would silently run uncompiled.
    import torch._dynamo
    torch._dynamo.config.recompile_limit = 64
    def images_per_s(batch: int, variant: str, steps: int) -> float:
        torch.manual_seed(0)
        model = DRAW(cfg).to(device)
        if variant != "plain":  # "compiled": inductor's default mode; "cudagraphs": reduce-overhead
            model.compile_glimpse(None if variant == "compiled" else "reduce-overhead")
        opt = make_optimizer(model, tcfg)
        x = (torch.rand(batch, *cfg.image_shape, device=device) < 0.13).float()
        eps = torch.randn(cfg.glimpses, batch, cfg.z_size, device=device)
        for _ in range(3):
            train_step(model, opt, x, tcfg, eps=eps)
        sync()
        t = time.perf_counter()
        for _ in range(steps):
            train_step(model, opt, x, tcfg, eps=eps)
        sync()
        return batch * steps / (time.perf_counter() - t)

    big, small = (32, 16) if quick else (1024, 64)
    n = 2 if quick else 20
    variants = ("plain", "compiled", "cudagraphs")
    report["images_per_s"] = {}

    def measure(bs: int):
        for v in variants:
            if over_budget():
                report["images_per_s"][f"batch_{bs}_{v}"] = "skipped: over the time budget"
                continue
            try:
                report["images_per_s"][f"batch_{bs}_{v}"] = round(images_per_s(bs, v, n), 1)
            except Exception as e:  # noqa: BLE001 - report a variant that does not run, measure the rest
                report["images_per_s"][f"batch_{bs}_{v}"] = f"failed: {type(e).__name__}: {str(e)[:160]}"
            checkpoint_report()

    measure(big)  # the epoch below and long training runs use the big batch: measured first

    # 3. one MNIST epoch at batch 1024 through the training loop, with the fastest step
    speeds = {v: report["images_per_s"][f"batch_{big}_{v}"] for v in variants}
    best = max((v for v in variants if isinstance(speeds[v], float)), key=speeds.get, default="plain")
    report["fastest_step"] = best
    checkpoint_report()  # what part 2 of gpu_run plans with, even if this run is cut short here
    best_compiled = best != "plain"
    train = read_mnist(root, True, 2048 if quick else None)
    test = read_mnist(root, False, 512 if quick else 10000)
    data = ImageData("binarized-mnist", train, test, "stochastic", "raw files")  # as the shipped models train
    epoch_batch = 256 if quick else 1024
    trainer = Trainer(cfg, TrainConfig(batch_size=epoch_batch, epochs=1, device=str(device),
                                       compile=best_compiled), Batches(data, epoch_batch, device=device))
    warm = Trainer(cfg, TrainConfig(batch_size=epoch_batch, max_steps=2, device=str(device), compile=best_compiled),
                   Batches(data, epoch_batch, device=device))
    if best == "compiled":  # the Trainer compiles with mode "auto", which is CUDA graphs on a GPU
        trainer.model.compile_glimpse(None)
        warm.model.compile_glimpse(None)
    t = time.perf_counter()
    warm.run()  # compiles outside the timed epoch
    sync()
    report["compile_seconds"] = round(time.perf_counter() - t, 1)  # two steps, the first one compiling
    t = time.perf_counter()
    trainer.run()
    sync()
    report["epoch_seconds"] = round(time.perf_counter() - t, 2)
    report["epoch"] = {"images": trainer.steps_per_epoch * epoch_batch, "batch": epoch_batch,
                       "step": best, "last_loss": trainer.history.columns["loss"][-1]}
    checkpoint_report()
    measure(small)
    if over_budget():
        report["bf16_vs_fp32_test_bound"] = "skipped: over the time budget"
        checkpoint_report()
        return _print(report, args, quick, epoch_batch, best)

    # 4. bf16 against float32: same start, same data, short training, test bound
    bounds = {}
    for precision in ("fp32", "bf16"):
        run = Trainer(cfg, TrainConfig(batch_size=256, max_steps=20 if quick else 300, device=str(device),
                                       precision=precision), Batches(data, 256, device=device))
        run.run()
        bounds[precision] = round(evaluate(run.model, Batches(data, 256, device=device).test_images()).nll_bound, 2)
    report["bf16_vs_fp32_test_bound"] = bounds
    checkpoint_report()
    _print(report, args, quick, epoch_batch, best)


def _print(report, args, quick, epoch_batch, best):
    bounds = report["bf16_vs_fp32_test_bound"]
    if args.json:
        print(json.dumps(report))
        return
    f = report["fidelity"]
    print(f"{report['gpu'] or report['device']}, torch {report['torch']}, {'QUICK ' if quick else ''}paper configuration")
    print(f"  fidelity: bound per image max rel diff {f['bound_max_rel_diff']:.2e}; after 3 steps "
          f"cpu {[f'{v:.3f}' for v in f['losses_cpu']]} device {[f'{v:.3f}' for v in f['losses_device']]}")
    for k, v in report["images_per_s"].items():
        print(f"  {k:>24}: {v:10.1f} images/s" if isinstance(v, float) else f"  {k:>24}: {v}")
    print(f"  one epoch of {report['epoch']['images']:,} images at batch {epoch_batch}"
          f" ({best} step): {report['epoch_seconds']} s")
    if isinstance(bounds, dict):
        print(f"  test bound after the same short training: fp32 {bounds['fp32']}  bf16 {bounds['bf16']}")
    else:
        print(f"  bf16 against fp32: {bounds}")


if __name__ == "__main__":
    main()
