"""How a run learnt: a bounded record, in its run folder, of the same test digits and the same
samples (fixed noise) as training went on, from the mean image to sharp strokes.

    DIR/history.npz   one entry per recorded step (HISTORY_NAME), replaced atomically

Entries come at growing intervals: at steps 1, 2, 5, 10, 20, 50, ... (RECORD_STEPS), then every
EVERY_S seconds of training, so a short run has its first steps and a long one its whole course,
and at the step a run finishes or is stopped (LiveRun.finish), so a replay ends on the saved weights.
A run restored from another run folder's checkpoint goes on with that folder's history
(continued_history), so a model trained on elsewhere still replays from step 1.
At most MAX_ENTRIES are kept; past that every other timed entry is dropped (the step schedule's
stay), so the file stays a few MB whatever the run's length. Each entry keeps the final canvases
σ(c_T) of the fixed test digits and of the samples as uint8, and every glimpse's read and write
box as float16 (the boxes learn where to look): about 30 KB for the paper's MNIST model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.files import atomic_path

HISTORY_NAME = "history.npz"
RECORD_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
EVERY_S = 300.0
MAX_ENTRIES = 120


def fixed_samples(model, n: int = 16, seed: int = 0):
    """n samples from the same prior noise every time (seeded): (n, C, H, W) float32 numpy in [0, 1]."""
    import torch
    cfg = model.config
    z = torch.randn(n, cfg.glimpses, cfg.z_size, generator=torch.Generator().manual_seed(seed))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            images, _ = model.generate(z=z)
    finally:
        model.train(was_training)
    return images.float().cpu().numpy()


def _uint8(images: np.ndarray) -> np.ndarray:
    """[0, 1] floats as bytes (a diverged model's NaN as 0)."""
    return np.clip(np.rint(np.nan_to_num(np.asarray(images, np.float32)) * 255), 0, 255).astype(np.uint8)


def _half(params: np.ndarray | None) -> np.ndarray | None:
    """Box parameters as float16, clipped to its range (a runaway glimpse far off the image)."""
    if params is None:
        return None
    limit = float(np.finfo(np.float16).max)
    return np.clip(np.nan_to_num(np.asarray(params, np.float32), posinf=limit, neginf=-limit),
                   -limit, limit).astype(np.float16)


@dataclass
class TrainingHistory:
    """The entries of one run's history.npz; `record` adds one when `due`."""
    images: np.ndarray | None = None          # (E, C, H, W) uint8: the fixed test digits
    steps: list[int] = field(default_factory=list)
    canvases: list[np.ndarray] = field(default_factory=list)   # each (E, C, H, W) uint8, σ(c_T)
    samples: list[np.ndarray] = field(default_factory=list)    # each (S, C, H, W) uint8
    read: list[np.ndarray | None] = field(default_factory=list)   # each (T, E, 5) float16
    write: list[np.ndarray | None] = field(default_factory=list)
    timed: list[bool] = field(default_factory=list)            # recorded by time, not by RECORD_STEPS
    read_size: int = 0
    write_size: int = 0
    attention: str = "gaussian"
    _last_timed_s: float = float("-inf")

    def _scheduled(self, step: int) -> bool:
        """Whether a RECORD_STEPS step lies after the last entry and at or before `step` (a caller
        that sees only some steps, reporting every few, records the first it sees past one)."""
        last = self.steps[-1] if self.steps else 0
        return any(last < s <= step for s in RECORD_STEPS)

    def due(self, step: int, elapsed_s: float) -> bool:
        """Whether step `step`, after elapsed_s seconds of training, is one to record."""
        if self.steps and step <= self.steps[-1]:
            return False
        return self._scheduled(step) or elapsed_s - self._last_timed_s >= EVERY_S

    def record(self, step: int, elapsed_s: float, trace, samples: np.ndarray) -> None:
        """trace: the fixed test digits' GlimpseTrace at this step; samples: (S, C, H, W) in [0, 1]."""
        timed = not self._scheduled(step)
        if timed or self._last_timed_s == float("-inf"):
            self._last_timed_s = elapsed_s
        if self.images is None and trace.images is not None:
            self.images = _uint8(trace.images)
        self.read_size, self.write_size, self.attention = trace.read_size, trace.write_size, trace.attention
        self.steps.append(int(step))
        self.canvases.append(_uint8(trace.canvases[-1]))
        self.samples.append(_uint8(samples))
        self.read.append(_half(trace.read))
        self.write.append(_half(trace.write))
        self.timed.append(timed)
        if len(self.steps) > MAX_ENTRIES:
            self._thin()

    def _thin(self) -> None:
        """Drop every other timed entry: the run's early course stays, its later one coarser."""
        timed = [i for i, t in enumerate(self.timed) if t]
        self._drop(set(timed[::2]) if timed else {1})

    def keep_until(self, step: int) -> None:
        """Drop the entries after `step`: weights that a checkpoint restored at `step` never had (a
        run killed after its last checkpoint trained, and recorded, a while longer)."""
        self._drop({i for i, s in enumerate(self.steps) if s > step})

    def _drop(self, indices: set[int]) -> None:
        for name in ("steps", "canvases", "samples", "read", "write", "timed"):
            values = getattr(self, name)
            setattr(self, name, [v for i, v in enumerate(values) if i not in indices])

    def __len__(self) -> int:
        return len(self.steps)

    # ---- the file ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        arrays = {"steps": np.asarray(self.steps, np.int64), "timed": np.asarray(self.timed, bool),
                  "canvases": np.stack(self.canvases), "samples": np.stack(self.samples),
                  "read_size": np.asarray(self.read_size), "write_size": np.asarray(self.write_size),
                  "attention": np.asarray(self.attention)}
        if self.images is not None:
            arrays["images"] = self.images
        if self.read and self.read[0] is not None:
            arrays["read"], arrays["write"] = np.stack(self.read), np.stack(self.write)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainingHistory:
        """A history.npz (ValueError naming the file if it is not one)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                n = len(z["steps"])
                read = list(z["read"]) if "read" in z.files else [None] * n
                write = list(z["write"]) if "write" in z.files else [None] * n
                return cls(images=z["images"] if "images" in z.files else None, steps=[int(s) for s in z["steps"]],
                           canvases=list(z["canvases"]), samples=list(z["samples"]), read=read, write=write,
                           timed=[bool(t) for t in z["timed"]], read_size=int(z["read_size"]),
                           write_size=int(z["write_size"]), attention=str(z["attention"]))
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"{path} is not a draw-gui training history ({type(e).__name__}: {e})") from None

    def trace_at(self, index: int):
        """Entry `index` as a one-glimpse GlimpseTrace (the final canvas, glimpse T's boxes) that
        core.export.glimpse_panel draws."""
        from core.trace import GlimpseTrace
        last = (lambda a: None if a is None else a[-1:].astype(np.float32))
        return GlimpseTrace(canvases=self.canvases[index][None].astype(np.float32) / 255,
                            read=last(self.read[index]), write=last(self.write[index]),
                            read_size=self.read_size, write_size=self.write_size,
                            images=None if self.images is None else self.images.astype(np.float32) / 255,
                            attention=self.attention)


def continued_history(folder: str | os.PathLike, step: int, images: np.ndarray,
                      earlier: str | os.PathLike | None = None, elapsed_s: float = 0.0) -> TrainingHistory:
    """The history that training in run folder `folder`, from step `step`, goes on with.

    - The folder's own history.npz: the same run, continued (a new run, at step 0, starts afresh).
    - Else, when the run continues from `earlier`, another run folder's checkpoint.pt (a shipped
      model's too), that folder's history.npz: the replay of a continued model still starts at
      step 1. Not when it shows other test digits than `images`, the run's own ((E, C, H, W) in
      [0, 1]): its replay would change digits halfway.
    Entries after `step` are dropped; a history that cannot be read gives a new one. The next
    timed entry of a history that goes on comes EVERY_S after `elapsed_s`, the training time
    restored with the weights (not at once: each restart would add an entry like the last)."""
    from core.runfolder import CHECKPOINT_NAME
    own = Path(folder) / HISTORY_NAME
    source = own if own.exists() else None
    if source is None and earlier is not None and Path(earlier).name == CHECKPOINT_NAME:
        beside = Path(earlier).parent / HISTORY_NAME
        source = beside if beside.exists() else None
    if source is None:
        return TrainingHistory()
    try:
        history = TrainingHistory.load(source)
    except ValueError:
        return TrainingHistory()
    if source != own and history.images is not None and not np.array_equal(history.images, _uint8(images)):
        return TrainingHistory()
    history.keep_until(step)
    if not history.steps:
        return TrainingHistory()
    history._last_timed_s = elapsed_s
    return history


def _labelled(step: int, *images) -> object:
    """The images side by side under a line saying the step: one frame of a replay."""
    from PIL import Image, ImageDraw
    label, gap = 16, 8
    width = sum(i.width for i in images) + gap * (len(images) - 1)
    frame = Image.new("RGB", (width, max(i.height for i in images) + label))
    x = 0
    for image in images:
        frame.paste(image, (x, label))
        x += image.width + gap
    ImageDraw.Draw(frame).text((4, 2), f"step {step:,}", fill=(230, 230, 230))
    return frame


def _samples_grid(history: TrainingHistory, i: int, per_row: int, scale: int):
    from core.export import image_grid
    return image_grid(history.samples[i].astype(np.float32) / 255, per_row=per_row, scale=scale)


def replay_frames(history: TrainingHistory, per_row: int = 4, scale: int = 4) -> list:
    """One PIL image per entry, in step order: the test digits with glimpse T's read box beside
    their final canvases with its write box, then the samples from fixed noise, and the step."""
    from core.export import glimpse_panel
    return [_labelled(step, glimpse_panel(history.trace_at(i), 0, per_row=per_row, scale=scale).convert("RGB"),
                      _samples_grid(history, i, per_row, scale))
            for i, step in enumerate(history.steps)]


def sample_frames(history: TrainingHistory, per_row: int = 4, scale: int = 4) -> list:
    """One PIL image per entry, in step order: the samples from fixed noise alone, with the step
    (the Latent tab's view of the same history)."""
    return [_labelled(step, _samples_grid(history, i, per_row, scale)) for i, step in enumerate(history.steps)]
