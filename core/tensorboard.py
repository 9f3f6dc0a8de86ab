"""TensorBoard event files beside a run folder's CSVs, for `tensorboard --logdir RUNS`.

Optional: it needs the `tensorboard` package (`pip install "draw-gui[tensorboard]"`). A run
folder asked to log (draw-gui train --tensorboard, Run > Write TensorBoard logs in the window)
gets event files in the folder itself, so each run is one run in TensorBoard, written with the
same numbers as metrics.csv and eval.csv:

- scalars: loss/total, loss/recon (L^x) and loss/kl (L^z) per step; test/nll_bound, test/recon and
  test/kl per evaluation (the numbers the paper reports);
- kl_per_glimpse: the KL of each glimpse t = 1..T of the fixed test examples, as a histogram whose
  bucket t holds glimpse t's KL in nats (TensorBoard draws it as the profile over t);
- images: the glimpse panel of the fixed test examples at t = T with read and write boxes, and a
  grid of 16 samples from fixed noise, at every snapshot.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

INSTALL_HINT = 'TensorBoard logs need the tensorboard package: pip install "draw-gui[tensorboard]"'
SAMPLES = 16


def missing() -> str | None:
    """INSTALL_HINT when the tensorboard package is not installed (found without importing it), else None."""
    import importlib.util
    return INSTALL_HINT if importlib.util.find_spec("tensorboard") is None else None


class TensorBoardUnavailable(RuntimeError):
    """The tensorboard package is not installed (the message says how to install it)."""


class TensorBoardLog:
    """Writes a run's numbers and pictures as TensorBoard events in `folder`."""

    def __init__(self, folder: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:   # torch's module imports the tensorboard package
            raise TensorBoardUnavailable(INSTALL_HINT) from None
        self.folder = Path(folder)
        self.writer = SummaryWriter(log_dir=str(self.folder), flush_secs=30)
        self._rows = 0        # history rows already written ...
        self._evals = 0       # ... and evaluations

    def write_history(self, history) -> None:
        """The steps and evaluations of core.loop.History not written yet."""
        cols = history.columns
        for i in range(self._rows, len(history)):
            step = int(cols["step"][i])
            self.writer.add_scalar("loss/total", float(cols["loss"][i]), step)
            self.writer.add_scalar("loss/recon", float(cols["recon"][i]), step)
            self.writer.add_scalar("loss/kl", float(cols["kl"][i]), step)
        self._rows = len(history)
        for e in history.evals[self._evals:]:
            for key in ("nll_bound", "recon", "kl"):
                self.writer.add_scalar(f"test/{key}", float(e[key]), int(e["step"]))
        self._evals = len(history.evals)

    def write_snapshot(self, trace, step: int, model=None) -> None:
        """The per-glimpse KL and the glimpse panel of a snapshot trace; with `model`, samples too."""
        from core.export import glimpse_panel
        if trace.kl_steps is not None:
            kl = np.asarray(trace.kl_steps, np.float64)               # (T,)
            t = np.arange(1, len(kl) + 1, dtype=np.float64)
            self.writer.add_histogram_raw("kl_per_glimpse", min=1.0, max=float(len(kl)), num=float(kl.sum()),
                                          sum=float((t * kl).sum()), sum_squares=float((t * t * kl).sum()),
                                          bucket_limits=t.tolist(), bucket_counts=kl.tolist(), global_step=step)
        panel = np.asarray(glimpse_panel(trace, trace.glimpses - 1, per_row=4, scale=2, boxes=True).convert("RGB"))
        self.writer.add_image("glimpses", panel, step, dataformats="HWC")
        if model is not None:
            self.writer.add_image("samples", self._samples(model), step, dataformats="HWC")

    def _samples(self, model) -> np.ndarray:
        from core.export import image_grid
        from core.history import fixed_samples
        return np.asarray(image_grid(fixed_samples(model, SAMPLES), 4, scale=2).convert("RGB"))

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
