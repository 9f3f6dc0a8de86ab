"""Checkpoints: everything needed to continue a run exactly, written atomically, read safely.

A checkpoint is a plain dict of tensors, numbers, strings and lists, so loading it with
weights_only=True reads it without unpickling arbitrary code.
"""
from __future__ import annotations

import errno
import os
import pickle
import zipfile
from pathlib import Path

import torch

from core.config import is_count, is_number
from core.files import atomic_path

FORMAT = "draw-gui-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and why."""


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """Write atomically: a temp file in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, "version": VERSION, **payload}
    try:
        with atomic_path(path, fsync=True) as tmp:
            with open(tmp, "wb") as f:
                torch.save(data, f)
    except OSError as e:
        if e.filename is None:  # torch.save writing into a file object: say which file failed
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise
    except RuntimeError as e:  # torch wraps a failed write ("... file write failed")
        if "write" not in str(e):
            raise
        raise OSError(errno.ENOSPC if "space" in str(e).lower() else errno.EIO,
                      "the file could not be written (is the disk full?)", str(path)) from None
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give the checkpoint file inside it (e.g. {path / 'checkpoint.pt'})")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (a save that never finished?); use an earlier checkpoint")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] != b"PK":  # torch.save writes a zip archive
        raise CheckpointError(f"{path} is not a checkpoint: it is not a PyTorch archive (damaged, or another kind of file)")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except (EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path} is truncated or corrupt ({e}); use an earlier checkpoint") from None
    except pickle.UnpicklingError as e:
        unsafe = [ln.strip() for ln in str(e).splitlines() if "Unsupported global" in ln]
        if not unsafe:  # not a refused object: the archive itself is broken (torch's text says nothing more)
            raise CheckpointError(f"{path} is truncated or corrupt (not a complete PyTorch archive); "
                                  "use an earlier checkpoint") from None
        raise CheckpointError(f"{path} is not a draw-gui checkpoint: it holds Python objects that are not loaded "
                              f"for safety ({unsafe[0][:120]})") from None
    except RuntimeError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        msg = msg.split(". ")[0]  # torch's messages go on with advice meant for its developers
        kind = "truncated or corrupt" if ("zip" in msg or "archive" in msg or "magic" in msg or "EOF" in msg) \
            else "unreadable"
        raise CheckpointError(f"{path} is {kind} ({msg[:200]}); use an earlier checkpoint") from None
    except OSError as e:
        if e.errno == errno.EINVAL:  # a seek past the end of a cut-off archive
            raise CheckpointError(f"{path} is truncated or corrupt (its archive ends early); use an earlier "
                                  "checkpoint") from None
        raise CheckpointError(f"{path} could not be read: {e.strerror or e}") from None
    except Exception as e:  # noqa: BLE001 - any other failure of torch.load means an unusable file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        what = f"a {type(data).__name__}" if not isinstance(data, dict) else "a dict without draw-gui's format tag"
        raise CheckpointError(f"{path} is not a draw-gui checkpoint (it holds {what}; a bare state_dict "
                              "from another DRAW implementation cannot be resumed)")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(f"{path} is damaged: its format version is {version!r}, not a number")
    if version != VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {version}; this draw-gui "
                              f"reads version {VERSION}. Use the draw-gui release that wrote it")
    for key in ("model_config", "model"):
        if key not in data:
            raise CheckpointError(f"{path} is incomplete: it has no '{key}'")
    problem = _field_problem(data)
    if problem:
        raise CheckpointError(f"{path} is not a usable checkpoint: {problem}; the file is damaged or was "
                              "written by another program")
    return data


def _field_problem(data: dict) -> str | None:
    """What is wrong with the fields of a loaded checkpoint dict (None when each has the type and
    range draw-gui writes). Every field is untrusted: checked before anything is built from it."""
    from core.loop import HISTORY_KEYS
    if not isinstance(data["model_config"], dict):
        return "its model settings are not a table of values"
    weights = data["model"]
    if not isinstance(weights, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                for k, v in weights.items()):
        return "its weights are not a table of tensors"
    for key in ("step", "epoch", "images_seen", "train_images"):
        if key in data and not is_count(data[key]):
            return f"{key} is {data[key]!r}, not a whole number >= 0"
    if "elapsed_s" in data and not (is_number(data["elapsed_s"]) and data["elapsed_s"] >= 0):
        return f"elapsed_s is {data['elapsed_s']!r}, not a time in seconds"
    for key in ("train_config", "data_settings"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"its {key.replace('_', ' ')} are not a table of values"
    settings = data.get("data_settings") or {}
    for key in ("data_dir", "folder"):
        if settings.get(key) is not None and not isinstance(settings[key], str):
            return f"its data folder setting '{key}' is {settings[key]!r}, not a path"
    if settings.get("image_size") is not None and not is_count(settings["image_size"]):
        return f"its image size setting is {settings['image_size']!r}"
    if not isinstance(data.get("dataset", ""), str):
        return f"its dataset is {data['dataset']!r}, not a name"
    history = data.get("history")
    if history is not None:
        if not isinstance(history, dict) or not all(
                k in HISTORY_KEYS and isinstance(v, torch.Tensor) and v.dim() == 1 for k, v in history.items()):
            return "its loss history is not a table of 1-D tensors"
        if len({v.shape[0] for v in history.values()}) > 1:
            return "its loss history has columns of different lengths"
    evals = data.get("evals", [])
    if not isinstance(evals, list) or not all(
            isinstance(e, dict) and is_count(e.get("step")) and is_count(e.get("epoch"))
            and all(is_number(e.get(k)) for k in ("nll_bound", "recon", "kl")) for e in evals):
        return "its test evaluations are not a list of step, epoch and bound numbers"
    if "optimizer" in data and not isinstance(data["optimizer"], dict):
        return "its optimizer state is not a table"
    if "noise_rng" in data and not (isinstance(data["noise_rng"], torch.Tensor) and data["noise_rng"].dtype == torch.uint8):
        return "its noise generator state is not a byte tensor"
    return None


def data_settings(ckpt: dict | None, data_dir=None, folder=None, image_size=None) -> dict:
    """Where a run's data comes from: what the caller names, else what the checkpoint kept, at
    the model's image size and channels. Keys: data_dir, folder, image_size, grayscale."""
    kept = (ckpt or {}).get("data_settings") or {}
    settings = {"data_dir": data_dir if data_dir is not None else kept.get("data_dir"),
                "folder": folder if folder is not None else kept.get("folder"),
                "image_size": image_size, "grayscale": None}
    if ckpt is not None:
        C, H, _ = ckpt["model_config"].get("image_shape", (1, 28, 28))
        settings["image_size"] = image_size or int(H)
        settings["grayscale"] = int(C) == 1
    return settings


def checkpoint_configs(ckpt: dict, path):
    """(DrawConfig, TrainConfig) of a loaded checkpoint; CheckpointError if they are not readable."""
    from core.config import DrawConfig, TrainConfig
    try:
        model_cfg = DrawConfig.from_dict(ckpt["model_config"]).validate()
        train_cfg = TrainConfig.from_dict(ckpt.get("train_config") or {}).validate()
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise CheckpointError(f"{path} is not a usable checkpoint: its settings cannot be used ({str(e)[:160]}); "
                              "the file is damaged or from another program") from None
    # The weights must be those of that model (names and shapes), before any data is loaded for it.
    from core.model import DRAW
    with torch.device("meta"):   # shapes only: no memory, no initialisation work
        expected = {k: tuple(v.shape) for k, v in DRAW(model_cfg).state_dict().items()}
    found = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    if found != expected:
        missing = sorted(set(expected) - set(found))
        wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
        what = (f"'{missing[0]}' is missing" if missing else
                f"'{wrong[0]}' is {list(found[wrong[0]])}, not {list(expected[wrong[0]])}" if wrong else
                f"'{sorted(set(found) - set(expected))[0]}' is not one of its weights")
        raise CheckpointError(f"{path} is not a usable checkpoint: its weights do not fit its own model settings "
                              f"({what}); the file is damaged")
    return model_cfg, train_cfg


def load_model(path, device_name: str | None = "cpu"):
    """(model in eval mode on the chosen device, checkpoint dict, device) of a checkpoint file:
    what `sample`, `eval` and the Compare tab use it for."""
    from core.model import DRAW
    from core.train import resolve_device
    device = resolve_device(device_name or "auto")
    ckpt = load_checkpoint(path)
    cfg, _ = checkpoint_configs(ckpt, path)
    model = DRAW(cfg)
    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, TypeError, AttributeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{path}: its weights do not fit its own model settings "
                              f"({first[:120]}); the file is damaged") from None
    return model.to(device).eval(), ckpt, device


def epochs_seen(ckpt: dict) -> float | None:
    """How many epochs of training images the checkpoint's model learnt from, over every run it
    was continued in (at any batch sizes); None for a file from before draw-gui counted images."""
    if "images_seen" in ckpt and ckpt.get("train_images"):
        return ckpt["images_seen"] / ckpt["train_images"]
    return None


def weights_only(ckpt: dict, max_history_rows: int = 2000) -> dict:
    """What a shipped model keeps of a training checkpoint: the settings, the weights, the step,
    epoch and images seen, and the loss history (thinned to at most max_history_rows steps), but no
    optimizer state, noise generator or data paths of the machine it was trained on.

    `draw-gui train --restore` continues from such a file with a fresh optimizer.
    """
    kept = {k: ckpt[k] for k in ("model_config", "train_config", "dataset", "model", "step", "epoch",
                                 "images_seen", "train_images", "elapsed_s", "evals") if k in ckpt}
    settings = dict(ckpt.get("data_settings") or {})
    kept["data_settings"] = {**settings, "data_dir": None, "folder": None}
    history = ckpt.get("history") or {}
    rows = len(next(iter(history.values()))) if history else 0
    if rows:
        every = -(-rows // max_history_rows)  # ceil: the last step is kept too
        index = torch.arange(rows - 1, -1, -every).flip(0)
        kept["history"] = {k: v[index].clone() for k, v in history.items()}
    kept["model"] = {k: v.detach().cpu().clone() for k, v in ckpt["model"].items()}
    return kept
