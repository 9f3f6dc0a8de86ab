"""Keeps a run folder followable while training goes on (what `draw-gui follow` reads).

The Trainer does no file I/O; `LiveRun` is driven from its on_progress call-back on the
training thread (so the model is consistent) and writes, by wall time:

- metrics.csv / eval.csv rows and run.json's step and status, every `metrics_every_s`;
- snapshot.npz, the glimpse trace of a few fixed test images, every `snapshot_every_s`;
- checkpoint.pt through the caller's `save` every `checkpoint_every_s`, so a follower's Latent tab
  gets recent weights during long epochs;
- with `tensorboard`, the same numbers and snapshots as TensorBoard events (core/tensorboard.py);
- history.npz, how the fixed test digits and fixed-noise samples looked at growing intervals
  (core/history.py), for replaying how the run learnt.

Every file but the append-only CSVs is replaced atomically (core/files.py). `upkeep_s` counts the
seconds spent here: the cost to training, which run.json records.
"""
from __future__ import annotations

import datetime
import os
import socket
import sys
import time

import torch

from core.runfolder import RunFolder


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@torch.inference_mode()
def snapshot_trace(model, examples: torch.Tensor):
    """The glimpse trace of `examples` with the same z noise every time, so that successive
    snapshots differ only by what the model learnt."""
    was_training = model.training
    model.eval()
    try:
        noise = torch.Generator(device=examples.device).manual_seed(0)
        eps = torch.randn(model.config.glimpses, examples.shape[0], model.config.z_size,
                          generator=noise, device=examples.device)
        return model(examples, eps=eps, trace=True).trace
    finally:
        model.train(was_training)


def run_info(trainer, dataset: str, data_source: str, device, version: str, command: str | None = None,
             world_size: int = 1) -> dict:
    """run.json's fixed part: what a follower, Compare and the Runs list show about a run."""
    return {"format": "draw-gui-run", "version": version,
            "model_config": trainer.model_config.to_dict(), "train_config": trainer.config.to_dict(),
            "dataset": dataset, "data_source": data_source, "device": str(device), "world_size": world_size,
            "host": socket.gethostname(), "pid": os.getpid(),
            "command": command or " ".join(["draw-gui"] + sys.argv[1:]),
            "total_steps": trainer.total_steps, "steps_per_epoch": trainer.steps_per_epoch,
            "batch_size": trainer.config.batch_size}


METRICS_EVERY_S = 5.0    # metrics.csv and run.json: a follower's plot lags at most this much
SNAPSHOT_EVERY_S = 30.0  # snapshot.npz: one forward pass of a few test images


class LiveRun:
    def __init__(self, run: RunFolder, trainer, examples: torch.Tensor, info: dict, save=None,
                 metrics_every_s: float = METRICS_EVERY_S, snapshot_every_s: float = SNAPSHOT_EVERY_S,
                 checkpoint_every_s: float = 0.0, clock=time.monotonic, tensorboard: bool = False,
                 continues: str | os.PathLike | None = None):
        """tensorboard: also write TensorBoard events into the run folder (raises
        core.tensorboard.TensorBoardUnavailable, with the fix, when the package is missing).
        continues: the checkpoint file the run was restored from; a run folder's checkpoint.pt
        lends its history to a run continued in another folder (core.history.continued_history)."""
        self.run, self.trainer, self.examples = run, trainer, examples
        from core.history import continued_history
        self.history = continued_history(run.path, trainer.step, examples.detach().cpu().numpy(), continues,
                                         trainer.elapsed_s)
        self.tensorboard = None
        if tensorboard:
            from core.tensorboard import TensorBoardLog
            self.tensorboard = TensorBoardLog(run.path)
        self.info = dict(info)
        self.save = save                      # save(reason): the caller's checkpoint (and images)
        self.metrics_every_s, self.snapshot_every_s = metrics_every_s, snapshot_every_s
        self.checkpoint_every_s = checkpoint_every_s
        self.clock = clock
        self.upkeep_s = 0.0
        self._elapsed_s = 0.0
        self._saving = False                  # in on_progress's timed save: it counts the time
        self._last_metrics = self._last_snapshot = self._last_checkpoint = clock()

    def start(self) -> None:
        """run.json with status "running" and a first snapshot: a follower has something at once."""
        t = time.perf_counter()
        self.info.update(status="running", started_at=now_iso())
        self._write_info()
        self._snapshot()
        self.upkeep_s += time.perf_counter() - t

    def on_progress(self, progress) -> None:
        """Call after every Trainer report; writes what is due."""
        now = self.clock()
        t = time.perf_counter()
        self._elapsed_s = progress.elapsed_s
        self.info.update(images_per_s=round(progress.images_per_s, 1), epoch=progress.epoch + 1,
                         eta_s=None if progress.eta_s == float("inf") else round(progress.eta_s))
        due_checkpoint = (self.save is not None and self.checkpoint_every_s > 0
                          and now - self._last_checkpoint >= self.checkpoint_every_s)
        if now - self._last_metrics >= self.metrics_every_s and not due_checkpoint:
            self._metrics()
        if now - self._last_snapshot >= self.snapshot_every_s and not due_checkpoint:
            self._snapshot()
        if self.history.due(self.trainer.step, progress.elapsed_s):
            self._record_history(progress.elapsed_s)
        if due_checkpoint:
            self._last_checkpoint = now
            self._saving = True
            try:
                self.save("checkpoint every %g min" % (self.checkpoint_every_s / 60))  # calls checkpoint_saved
            finally:
                self._saving = False
        self.upkeep_s += time.perf_counter() - t

    def checkpoint_saved(self) -> None:
        """After the caller wrote checkpoint.pt: the snapshot and metrics of the same step."""
        t = time.perf_counter()
        self._last_checkpoint = self.clock()
        self._metrics()
        self._snapshot()
        if not self._saving:  # else on_progress counts it, with the checkpoint itself
            self.upkeep_s += time.perf_counter() - t

    def evaluated(self) -> None:
        """A new test bound: eval.csv at once (one row per epoch, cheap)."""
        t = time.perf_counter()
        self._metrics()
        self.upkeep_s += time.perf_counter() - t

    def set_status(self, status: str) -> None:
        """run.json's status now (paused, running), without waiting for the next write."""
        if self.info.get("status") != status:
            self.info["status"] = status
            self._write_info()

    def finish(self, status: str) -> None:
        """status: finished, stopped or failed. A finished or stopped run's history ends with its
        last step, so that its replay ends on the weights the run saved (a failed run's last
        state may be the failure itself)."""
        self.info["status"] = status
        self.info["finished_at"] = now_iso()
        if status != "failed" and self.trainer.step > (self.history.steps[-1] if self.history.steps else 0):
            self._record_history(max(self._elapsed_s, self.trainer.elapsed_s))
        self._metrics()
        if self.tensorboard is not None:
            self.tensorboard.flush()

    # ---- writing --------------------------------------------------------------------------
    def _metrics(self) -> None:
        self.run.write_metrics(self.trainer.history)
        if self.tensorboard is not None:
            self.tensorboard.write_history(self.trainer.history)
        self._last_metrics = self.clock()
        self._write_info()

    def _write_info(self) -> None:
        self.info.update(step=self.trainer.step, updated_at=now_iso(), updated_unix=round(time.time(), 3),
                         upkeep_s=round(self.upkeep_s, 3),
                         training_s=round(max(self._elapsed_s, self.trainer.elapsed_s), 1))
        self.run.write_info(self.info)

    def _record_history(self, elapsed_s: float) -> None:
        from core.history import HISTORY_NAME, fixed_samples
        self.history.record(self.trainer.step, elapsed_s, snapshot_trace(self.trainer.model, self.examples),
                            fixed_samples(self.trainer.model))
        self.history.save(self.run.path / HISTORY_NAME)

    def _snapshot(self) -> None:
        trace = snapshot_trace(self.trainer.model, self.examples)
        self.run.write_snapshot(trace, self.trainer.step)
        if self.tensorboard is not None:
            self.tensorboard.write_snapshot(trace, self.trainer.step, self.trainer.model)
        self._last_snapshot = self.clock()
