"""Make a shipped model from a training checkpoint: a run folder OUT/NAME/ holding the weights-only
checkpoint.pt, its model card card.json, metrics.csv and eval.csv (the loss curve and the test
bound, so the Compare tab and `draw-gui compare` treat it as any run), snapshot.npz (its
glimpses on the first test digits: what the window shows first) and, when the training run folder
has one, history.npz (its training history: the Glimpses and Latent tabs replay it).

    python scripts/ship_model.py RUN/checkpoint.pt --name mnist --out resources/models \
        --title "DRAW with attention" --command "draw-gui train ..." [--data-dir DIR] [--device cuda]

The card's figures are never typed in: they are what `draw-gui eval --json` prints for the
shipped file itself (the bound on all test images; the importance-weighted estimate with
k = 100 and the bound on the first 1,000), so a test can recompute them.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

IW_K, IW_IMAGES = 100, 1000


def hardware(device: str) -> str:
    import torch
    cores = f"{os.cpu_count()} CPU cores"
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} GPU, {cores}"
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {cores}"


def write_first_screen(folder: Path, ckpt: dict, model) -> None:
    """snapshot.npz: the glimpses of the 8 test digits the window shows a shipped model on (the
    embedded sample's first, for MNIST models), so the window can show them before torch loads."""
    from core.data import Batches
    from core.live_run import snapshot_trace
    from core.runfolder import save_trace
    from draw_gui.resources import MNIST_SETS, embedded_mnist
    if ckpt.get("dataset", "mnist") not in MNIST_SETS:
        return
    examples = Batches(embedded_mnist(), 1).examples(8)
    save_trace(folder / "snapshot.npz", snapshot_trace(model, examples), int(ckpt.get("step", 0)))


def ship_history(recorded: Path, folder: Path, ckpt: dict, model) -> None:
    """The training run's history.npz, ending on the shipped weights: a run that ended between
    recorded steps (or stopped before its last step was recorded) gets the entry draw-gui train
    records at its end, from the same fixed test digits and the same noise."""
    import numpy as np
    import torch

    from core.history import HISTORY_NAME, TrainingHistory, fixed_samples
    from core.live_run import snapshot_trace
    history = TrainingHistory.load(recorded)
    step = int(ckpt.get("step", 0))
    if history.images is not None and (not history.steps or history.steps[-1] < step):
        examples = torch.from_numpy(history.images.astype(np.float32) / 255)
        history.record(step, float(ckpt.get("elapsed_s", 0.0)), snapshot_trace(model, examples),
                       fixed_samples(model))
    history.save(folder / HISTORY_NAME)


def eval_command(path: Path, data_dir: str | None, device: str, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "draw_gui", "eval", str(path), "--json", "--no_download", "--device", device]
    return cmd + (["--data_dir", data_dir] if data_dir else []) + extra


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--name", required=True, help="the model's name: draw-gui sample NAME")
    p.add_argument("--out", required=True, help="the folder to make NAME/ in (resources/models)")
    p.add_argument("--title", required=True)
    p.add_argument("--command", required=True, help="the exact training command, for the card")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="cpu", help="where to evaluate (the card says which)")
    p.add_argument("--paper-nll", type=float, default=None, help="the paper's figure for this model (Table 2)")
    p.add_argument("--trained-on", default=None, help="hardware it was trained on (default: this machine)")
    p.add_argument("--images-seen", type=int, default=None,
                   help="training images seen in all, for a model continued at another batch size from a file "
                        "that does not count them; default: the checkpoint's count, else steps x its batch size")
    args = p.parse_args(argv)

    import torch
    from core.checkpoint import load_checkpoint, load_model, save_checkpoint, weights_only
    from core.data import load_dataset
    from core.files import atomic_path

    from core.loop import HISTORY_KEYS, History, counted_images
    from core.runfolder import RunFolder

    ckpt = load_checkpoint(args.checkpoint)
    out = Path(args.out) / args.name
    out.mkdir(parents=True, exist_ok=True)
    for old in ("metrics.csv", "eval.csv", "history.npz"):
        (out / old).unlink(missing_ok=True)
    weights = out / "checkpoint.pt"
    shipped = weights_only(ckpt)
    train = ckpt.get("train_config") or {}
    data = load_dataset(ckpt.get("dataset", "mnist"), data_dir=args.data_dir, download=False)
    step = int(ckpt.get("step", 0))
    seen = args.images_seen if args.images_seen is not None else counted_images(ckpt)
    # The shipped file counts them too: a run continued from it goes on counting from there
    shipped.update(images_seen=seen, train_images=int(data.train.shape[0]))
    save_checkpoint(weights, shipped)

    # Both evaluations of the shipped file at once (they share nothing but the device).
    full = subprocess.Popen(eval_command(weights, args.data_dir, args.device, []), stdout=subprocess.PIPE, text=True)
    first = subprocess.Popen(eval_command(weights, args.data_dir, args.device,
                                          ["-k", str(IW_K), "--limit", str(IW_IMAGES)]),
                             stdout=subprocess.PIPE, text=True)
    results = []
    for proc in (full, first):
        text, _ = proc.communicate()
        if proc.returncode != 0:
            print(f"ship_model: draw-gui eval failed ({proc.returncode}) for {weights}", file=sys.stderr)
            return 1
        results.append(json.loads(text.strip().splitlines()[-1]))
    full_eval, first_eval = results
    # The test bound joins the file's history (the weights stay as evaluated), and the run files
    # are written from it.
    shipped["evals"] = list(shipped.get("evals", [])) + [{
        "step": int(shipped.get("step", 0)), "epoch": max(int(shipped.get("epoch", 1)) - 1, 0),
        "nll_bound": full_eval["nll_bound"], "recon": full_eval["recon"], "kl": full_eval["kl"]}]
    save_checkpoint(weights, shipped)
    history = History()
    for k in HISTORY_KEYS:
        history.columns[k] = [float(v) for v in shipped["history"][k].tolist()] if "history" in shipped else []
    history.evals = shipped["evals"]
    RunFolder(out).write_metrics(history)
    model, _, _ = load_model(weights)
    write_first_screen(out, shipped, model)
    from core.history import HISTORY_NAME
    recorded = Path(args.checkpoint).parent / HISTORY_NAME   # the run folder's, when it trained in one
    if recorded.is_file():
        ship_history(recorded, out, shipped, model)

    card = {
        "name": args.name,
        "title": args.title,
        "file": weights.name,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "dataset": ckpt.get("dataset"),
        "model": ckpt["model_config"],
        "training": {
            "command": args.command,
            "steps": step,
            "epochs": round(seen / data.train.shape[0], 2),
            "images_seen": seen,
            "batch_size": train.get("batch_size"),
            "lr": train.get("lr"),
            "lr_decay": train.get("lr_decay"),
            "wall_time_s": round(float(ckpt.get("elapsed_s", 0.0)), 1),
            "hardware": args.trained_on or hardware(train.get("device", "cpu")),
            "torch": torch.__version__,
            "date": datetime.date.today().isoformat(),
        },
        "evaluation": {
            "binarization": full_eval["binarization"],
            "test_nll_bound": full_eval["nll_bound"],
            "test_images": full_eval["images"],
            "recon": full_eval["recon"],
            "kl": full_eval["kl"],
            "nll_iw": first_eval["nll_iw"],
            "iw_k": first_eval["k"],
            "iw_images": first_eval["images"],
            "nll_bound_first_images": first_eval["nll_bound"],  # a test recomputes this one
            "command": f"draw-gui eval {args.name} --json; draw-gui eval {args.name} -k {IW_K} --limit {IW_IMAGES} --json",
            "evaluated_on": hardware(args.device),
        },
        "paper_nll": args.paper_nll,
    }
    card_path = out / "card.json"
    with atomic_path(card_path) as tmp:
        Path(tmp).write_text(json.dumps(card, indent=1) + "\n")
    e = card["evaluation"]
    print(f"{args.name}: step {step}, {card['training']['epochs']} epochs; test NLL bound {e['test_nll_bound']:.2f} "
          f"nats on {e['test_images']}, IWAE k={e['iw_k']} {e['nll_iw']:.2f} on the first {e['iw_images']} "
          f"(bound there {e['nll_bound_first_images']:.2f}); {weights} ({weights.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
