"""Comparing finished or running training runs: what the compare view and `draw-gui compare` need
from a run folder, and the model calls they make (samples from the prior, a glimpse trace of the
fixed test examples). Plain numpy out; no Qt.

A run is named by its folder (or a checkpoint file, whose folder is used). Errors are RunError
with one line naming the file and the fix.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.runfolder import CHECKPOINT_NAME, RunReader

EXAMPLES = 8             # the fixed test examples a snapshot shows (draw_gui.workers.training RunSetup.examples)
FINAL_WINDOW = 100       # "final loss" is the mean over this many last steps: one batch is noisy


class RunError(ValueError):
    """A path that is not a usable run; the message names it and says what to do."""


def resolve_run(path: str | os.PathLike) -> Path:
    """The run folder of `path` (a run folder, or a checkpoint file inside one)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise RunError(f"{p}: no such folder or file; give a run folder written by `draw-gui train --out DIR`")
    if p.is_file():
        if p.suffix != ".pt":
            raise RunError(f"{p} is not a run: give its run folder or a checkpoint .pt file")
        p = p.parent
    if not RunReader(p).looks_like_run():
        raise RunError(f"{p} is not a run folder (no metrics.csv, run.json or {CHECKPOINT_NAME}); "
                       "give the folder `draw-gui train --out DIR` wrote")
    return p.resolve()


def model_settings(info: dict, ckpt: dict | None) -> dict:
    """The model settings (DrawConfig fields) from run.json, else from a loaded checkpoint."""
    for key in ("model_config", "model"):
        value = info.get(key)
        if isinstance(value, dict) and "glimpses" in value:
            return value
    return dict((ckpt or {}).get("model_config") or {})


def summary(settings: dict) -> str:
    """'gaussian r2 w5 · T 64 · z 100' (what the window's title says of a run), '' when unknown."""
    if not settings:
        return ""
    attention = settings.get("attention", "gaussian")
    if attention == "spatial" and settings.get("spatial_rotation"):
        attention = "spatial+rotation"      # rotated crops are a different model: say so
    kind = "no attention" if attention == "none" else \
        f"{attention} r{settings.get('read_size', '?')} w{settings.get('write_size', '?')}"
    return f"{kind} · T {settings.get('glimpses', '?')} · z {settings.get('z_size', '?')}"


def noise_note(settings: list[dict]) -> str:
    """Why the same seed gives different noise to some runs ('' when all latents have one shape)."""
    shapes = {(s.get("glimpses"), s.get("z_size")) for s in settings if s}
    if len(shapes) <= 1:
        return ""
    listed = ", ".join(f"T {t} × z {z}" for t, z in sorted(shapes, key=str))
    return f"latent shapes differ ({listed}): the same seed is not the same noise, so compare styles, not digits"


# ---------------------------------------------------------------------------------- the table

@dataclass
class RunStats:
    """One row of `draw-gui compare --table`."""
    name: str
    path: Path
    steps: int = 0
    epochs: float = 0.0
    final_loss: float = math.nan        # mean of the last FINAL_WINDOW steps' loss
    best_nll: float = math.nan          # best test NLL bound ...
    best_nll_step: int = 0              # ... and the step it was measured at
    time_s: float = 0.0                 # training time (metrics.csv's time_s, else the checkpoint's)
    images_per_s: float = math.nan
    settings: dict = field(default_factory=dict)
    status: str = ""


def run_stats(path: str | os.PathLike, ckpt: dict | None = None) -> RunStats:
    """The numbers of one run from its files; `ckpt` (loaded) supplies what run.json lacks."""
    folder = resolve_run(path)
    reader = RunReader(folder)
    info = reader.info()
    rows = reader.new_metrics()
    stats = RunStats(name=folder.name, path=folder, settings=model_settings(info, ckpt),
                     status=str(info.get("status", "")))
    train = info.get("train_config") if isinstance(info.get("train_config"), dict) else \
        (ckpt or {}).get("train_config") or {}
    if len(rows):
        stats.steps = int(rows.step[-1])
        stats.epochs = float(rows.epoch[-1])
        tail = rows.loss[-FINAL_WINDOW:]
        tail = tail[np.isfinite(tail)]
        stats.final_loss = float(tail.mean()) if len(tail) else math.nan
        stats.time_s = float(rows.time_s[-1]) if np.isfinite(rows.time_s[-1]) else 0.0
    elif ckpt is not None:
        stats.steps, stats.epochs = int(ckpt.get("step", 0)), float(ckpt.get("epoch", 0))
    if not stats.time_s and ckpt is not None:
        stats.time_s = float(ckpt.get("elapsed_s", 0.0))
    images = _images_seen(folder, stats.steps, ckpt)
    if images is not None:   # counted, not steps x the last batch size (a model continued at another)
        stats.epochs = images[1]
        if stats.time_s > 0:
            stats.images_per_s = images[0] / stats.time_s
    elif train.get("batch_size") and stats.time_s > 0:
        stats.images_per_s = stats.steps * float(train["batch_size"]) / stats.time_s
    evals = reader.evals() or [dict(e) for e in (ckpt or {}).get("evals", [])]
    if evals:
        best = min(evals, key=lambda e: e.get("nll_bound", math.inf))
        stats.best_nll, stats.best_nll_step = float(best["nll_bound"]), int(best["step"])
    return stats


def _images_seen(folder: Path, steps: int, ckpt: dict | None) -> tuple[int, float] | None:
    """(images seen, epochs) for the step the run's files end at: from a shipped model's card.json
    (scripts/ship_model.py), else from the checkpoint, which counts them; None for a file from
    before draw-gui counted images. The metrics' epoch column counts epochs at the batch size each
    run had, which for a model continued at another batch size is not what it saw."""
    try:
        training = json.loads((folder / "card.json").read_text())["training"]
        if int(training["steps"]) == steps:
            return int(training["images_seen"]), float(training["epochs"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if ckpt is not None and int(ckpt.get("step", -1)) == steps:
        from core.checkpoint import epochs_seen
        epochs = epochs_seen(ckpt)
        if epochs is not None:
            return int(ckpt["images_seen"]), epochs
    return None


# ---------------------------------------------------------------------------------- model calls

def prior_samples(model, seed: int, count: int) -> np.ndarray:
    """(count, C, H, W) σ(c_T) drawn from the prior with `seed`: the same noise for every model
    whose latent has the same (T, Z) shape."""
    import torch
    cfg = model.config
    generator = torch.Generator().manual_seed(int(seed))
    z = torch.randn(count, cfg.glimpses, cfg.z_size, generator=generator)
    with torch.inference_mode():
        return model.generate(z=z)[0].float().cpu().numpy()


def example_images(ckpt: dict, count: int = EXAMPLES, data_dir: str | None = None) -> np.ndarray:
    """The first `count` test images of the checkpoint's data set, in the form training showed
    them (the same examples the window's snapshots use); data_dir: where the data set is, if not
    where the checkpoint says. Raises core.data.DataUnavailable."""
    from core.checkpoint import data_settings
    from core.data import Batches, load_dataset
    where = data_settings(ckpt, data_dir)
    data = load_dataset(ckpt.get("dataset", "mnist"), data_dir=where["data_dir"], download=False,
                        image_size=where["image_size"], folder=where["folder"], grayscale=where["grayscale"])
    return Batches(data, batch_size=1).examples(count).numpy()


def example_trace(model, images: np.ndarray):
    """The glimpse trace of `images` as a snapshot.npz would hold it (core.trace.GlimpseTrace):
    core.live_run.snapshot_trace itself, so the same fixed noise."""
    import torch
    from core.live_run import snapshot_trace
    return snapshot_trace(model, torch.from_numpy(np.asarray(images, np.float32)))
