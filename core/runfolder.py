"""A run folder: what `draw-gui train --out DIR` leaves behind.

    DIR/checkpoint.pt        latest checkpoint (atomic replace)
    DIR/metrics.csv          one row per training step
    DIR/eval.csv             one row per test evaluation
    DIR/images/step_NNNNNN/  per-glimpse PNGs, the glimpse GIF and a sample grid (--save_image)
    DIR/run.json             settings, data set and status, for a window that follows the run
    DIR/snapshot.npz         the latest glimpse trace of a few test images (save_trace)

`RunReader` follows such a folder while the run is still writing it.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from typing import TYPE_CHECKING

from core.files import atomic_path
from core.trace import GlimpseTrace

if TYPE_CHECKING:
    from core.loop import History

# torch-free at import: the window reads run folders (RunReader) and must open without paying
# for torch; only writing metrics and checkpoints needs it, and imports it then.

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_HEADER = ("step", "epoch", "loss", "recon", "kl", "time_s")
EVAL_HEADER = ("step", "epoch", "nll_bound", "recon", "kl")


class RunFolder:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if not os.access(self.path, os.W_OK):
            raise PermissionError(f"run folder {self.path} is not writable; choose another with --out DIR")
        self.checkpoint_path = self.path / CHECKPOINT_NAME
        self._metrics_rows = None  # rows already in metrics.csv
        self._evals_written = None

    def _rows_in(self, name: str) -> int:
        f = self.path / name
        if not f.exists():
            return 0
        with open(f, newline="") as fh:
            return max(0, sum(1 for _ in fh) - 1)

    def write_metrics(self, history: History) -> None:
        """Append the history rows not yet in metrics.csv and eval.csv (a resumed run keeps its file)."""
        if self._metrics_rows is None:
            self._metrics_rows = self._rows_in("metrics.csv")
            self._evals_written = self._rows_in("eval.csv")
            # A checkpoint older than the files (restored after the run went on): the files
            # are rewritten from the checkpoint's history so no abandoned step stays behind.
            if self._metrics_rows > len(history):
                (self.path / "metrics.csv").unlink()
                self._metrics_rows = 0
            if self._evals_written > len(history.evals):
                (self.path / "eval.csv").unlink()
                self._evals_written = 0
        from core.loop import HISTORY_KEYS
        cols = history.columns
        n = len(history)
        if n > self._metrics_rows:
            self._append("metrics.csv", METRICS_HEADER,
                         ([int(cols["step"][i]), int(cols["epoch"][i]) + 1] +
                          [f"{cols[k][i]:.4f}" for k in HISTORY_KEYS[2:]]
                          for i in range(self._metrics_rows, n)))
            self._metrics_rows = n
        if len(history.evals) > self._evals_written:
            self._append("eval.csv", EVAL_HEADER,
                         ([e["step"], e["epoch"] + 1, f"{e['nll_bound']:.4f}", f"{e['recon']:.4f}", f"{e['kl']:.4f}"]
                          for e in history.evals[self._evals_written:]))
            self._evals_written = len(history.evals)

    def _append(self, name: str, header, rows) -> None:
        f = self.path / name
        new = not f.exists() or f.stat().st_size == 0
        with open(f, "a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(header)
            w.writerows(rows)

    def save_checkpoint(self, payload: dict, name: str = CHECKPOINT_NAME) -> Path:
        from core.checkpoint import save_checkpoint
        return save_checkpoint(self.path / name, payload)

    def write_info(self, info: dict) -> None:
        """run.json: what a follower shows about the run (settings, data set, status)."""
        write_json(self.path / INFO_NAME, info)

    def write_snapshot(self, trace: GlimpseTrace, step: int) -> None:
        save_trace(self.path / SNAPSHOT_NAME, trace, step)

    def image_folder(self, step: int) -> Path:
        return self.path / "images" / f"step_{step:06d}"


# --------------------------------------------------------------------------- live files
# What a watcher (the window following a run, the compare view) reads while training goes on.
# Every file is replaced atomically, so a reader never sees half of one; metrics.csv and
# eval.csv only grow (or are rewritten whole after a restore, which readers detect).

INFO_NAME = "run.json"          # settings, data set, status ("running", "finished", ...), updated_at
SNAPSHOT_NAME = "snapshot.npz"  # the latest glimpse trace of a few test images, with its step
RUN_FILES = (INFO_NAME, "metrics.csv", CHECKPOINT_NAME)  # a folder with one of them is a run


def is_run_folder(path: str | os.PathLike) -> bool:
    """A folder a run wrote (run.json or metrics.csv in it), not just any folder with a .pt file."""
    p = Path(path)
    return (p / INFO_NAME).is_file() or (p / "metrics.csv").is_file()


def write_json(path: str | os.PathLike, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))


def save_trace(path: str | os.PathLike, trace: GlimpseTrace, step: int) -> None:
    """One GlimpseTrace (every field, whatever fields it grows) and its training step, as .npz."""
    arrays = {"step": np.asarray(step)}
    for f in dataclasses.fields(trace):
        value = getattr(trace, f.name)
        if value is not None:
            arrays[f.name] = np.asarray(value)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def load_trace(path: str | os.PathLike) -> tuple[int, GlimpseTrace]:
    """(step, trace) from save_trace. Fields this version does not know are ignored."""
    with np.load(path, allow_pickle=False) as z:
        known = {f.name: f for f in dataclasses.fields(GlimpseTrace)}
        values = {}
        for name in z.files:
            if name in known:
                v = z[name]
                values[name] = v.item() if v.ndim == 0 else v
        missing = [n for n, f in known.items() if n not in values and
                   f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        for n in missing:
            if n in ("read", "write"):
                values[n] = None
            else:
                raise ValueError(f"{path} is not a glimpse snapshot (no '{n}')")
        step = int(z["step"]) if "step" in z.files else 0
    for n in ("read_size", "write_size"):
        values[n] = int(values[n])
    if isinstance(values.get("attention"), np.ndarray):
        values["attention"] = str(values["attention"])
    return step, GlimpseTrace(**values)


@dataclass
class MetricsRows:
    """New rows of metrics.csv as columns; `reset` means the file was rewritten from the start."""
    step: np.ndarray
    epoch: np.ndarray
    loss: np.ndarray
    recon: np.ndarray
    kl: np.ndarray
    time_s: np.ndarray
    reset: bool = False

    def __len__(self):
        return len(self.step)

    @classmethod
    def empty(cls) -> MetricsRows:
        e = np.empty(0)
        return cls(step=e, epoch=e, loss=e, recon=e, kl=e, time_s=e)


class _CsvTail:
    """Reads the complete lines a growing CSV file gained since the last call."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.header = None
        self._identity = None
        self._gone = False     # the file was missing at a poll after some of it had been read

    def new_lines(self) -> tuple[list[list[str]], bool]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            # Gone for now (a folder being deleted, a sync in progress): nothing new, and no reset,
            # so what was read stays shown. A file that comes back is another file (even with the
            # same inode number): it is read from its start, with reset=True.
            self._gone = self.offset > 0 or self._gone
            return [], False
        reset = False
        identity = (st.st_dev, st.st_ino)
        if self._gone or st.st_size < self.offset or (self._identity is not None and identity != self._identity):
            self.offset, self.header, reset = 0, None, True  # back after it was gone, rewritten (a restore) or replaced
            self._gone = False
        self._identity = identity
        if st.st_size == self.offset:
            return [], reset
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read(st.st_size - self.offset)
        end = chunk.rfind(b"\n")
        if end < 0:      # a line still being written: read it next time
            return [], reset
        self.offset += end + 1
        rows = list(csv.reader(io.StringIO(chunk[:end + 1].decode("utf-8", "replace"))))
        if self.header is None and rows:
            self.header, rows = rows[0], rows[1:]
        return [r for r in rows if r], reset


def _count(v) -> bool:
    """A step, epoch or size read from a run's files (CSV numbers are floats)."""
    from core.config import is_count
    return is_count(v, floats=True)


_INFO_COUNTS = ("step", "total_steps", "steps_per_epoch", "world_size", "batch_size", "pid")
_INFO_NUMBERS = ("images_per_s", "training_s", "upkeep_s", "updated_unix", "elapsed_s")
_INFO_TEXTS = ("format", "version", "status", "dataset", "data_source", "device", "host", "command",
               "updated_at", "started_at", "finished_at")


def clean_info(raw) -> dict:
    """run.json's fields that have the type and range draw-gui writes; the rest are dropped.
    The model and training settings are kept only if they validate (core.config)."""
    from core.config import ConfigError, DrawConfig, TrainConfig, is_number
    if not isinstance(raw, dict):
        return {}
    info = {}
    for key in _INFO_COUNTS:
        if _count(raw.get(key)):
            info[key] = int(raw[key])
    for key in _INFO_NUMBERS:
        if is_number(raw.get(key)) and raw[key] >= 0:
            info[key] = raw[key]
    for key in _INFO_TEXTS:
        if isinstance(raw.get(key), str):
            info[key] = raw[key][:1000]
    for key, cls in (("model_config", DrawConfig), ("train_config", TrainConfig)):
        try:
            cls.from_dict(raw.get(key)).validate()
            info[key] = raw[key]
        except (ConfigError, TypeError, ValueError, AttributeError):
            pass
    return info


class RunReader:
    """Follows a run folder written by `draw-gui train` (or the window): poll it as often as you
    like; each call reads only what changed. Safe while the run is writing (atomic files,
    complete CSV lines only)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path} is not a folder; choose the folder `draw-gui train --out` wrote")
        self.checkpoint_path = self.path / CHECKPOINT_NAME
        self._metrics = _CsvTail(self.path / "metrics.csv")
        self._snapshot_mtime = None

    @property
    def name(self) -> str:
        return self.path.name

    def looks_like_run(self) -> bool:
        return any((self.path / n).exists() for n in RUN_FILES)

    def info(self) -> dict:
        """run.json (settings, data set, status), or {} while there is none. Untrusted: a field of
        the wrong type or out of range is dropped, as if the file did not have it."""
        try:
            return clean_info(json.loads((self.path / INFO_NAME).read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return {}

    def new_metrics(self) -> MetricsRows:
        rows, reset = self._metrics.new_lines()
        header = self._metrics.header or list(METRICS_HEADER)
        cols = {name: [] for name in METRICS_HEADER}
        index = {name: header.index(name) for name in METRICS_HEADER if name in header}
        for r in rows:
            try:
                values = {name: float(r[i]) for name, i in index.items()}
            except (ValueError, IndexError):
                continue  # a damaged line: skip it rather than stop following
            if not all(_count(values.get(name)) for name in ("step", "epoch") if name in values):
                continue  # a step of nan or 1e21 is damage too
            for name in METRICS_HEADER:
                cols[name].append(values.get(name, math.nan))
        return MetricsRows(**{k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}, reset=reset)

    def evals(self) -> list[dict]:
        """Every row of eval.csv (it is short: one per epoch)."""
        try:
            with open(self.path / "eval.csv", newline="") as fh:
                out = []
                for row in csv.DictReader(fh):
                    try:
                        e = {k: float(v) for k, v in row.items()}
                    except (TypeError, ValueError):
                        continue
                    if _count(e.get("step")) and math.isfinite(e.get("nll_bound", math.nan)):
                        out.append(e)
                return out
        except (OSError, UnicodeDecodeError, csv.Error):
            return []

    def new_snapshot(self) -> tuple[int, GlimpseTrace] | None:
        """(step, trace) when snapshot.npz changed since the last call, else None."""
        f = self.path / SNAPSHOT_NAME
        try:
            mtime = f.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if mtime == self._snapshot_mtime:
            return None
        try:
            result = load_trace(f)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            # Replaced while we opened it, damaged, or still arriving (a sync tool writes it in
            # place, so its zip directory is missing until the last bytes land): try again at
            # the next poll.
            return None
        self._snapshot_mtime = mtime
        return result
