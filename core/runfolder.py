"""A run folder: what `draw-gui train --out DIR` leaves behind.

    DIR/checkpoint.pt        latest checkpoint (atomic replace)
    DIR/metrics.csv          one row per training step
    DIR/eval.csv             one row per test evaluation
    DIR/images/step_NNNNNN/  per-glimpse PNGs, the glimpse GIF and a sample grid (--save_image)
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from core.checkpoint import save_checkpoint
from core.loop import HISTORY_KEYS, History

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
        return save_checkpoint(self.path / name, payload)

    def image_folder(self, step: int) -> Path:
        return self.path / "images" / f"step_{step:06d}"
