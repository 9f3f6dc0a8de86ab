"""The training loop as an object: run it in any thread, pause, resume, single-step, stop.

It reports plain data only (dataclasses of numbers and numpy arrays), so a command line
progress bar and a Qt window can both listen. It does no file I/O: callers save.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from core.config import RESTART_WARMUP_STEPS, is_number
from core.data import Batches
from core.distributed import Distributed
from core.evaluate import Evaluation, evaluate
from core.model import DRAW, DrawConfig
from core.threads import ThreadTuner
from core.train import StepResult, TrainConfig, kl_weight, make_optimizer, resolve_device, train_step

HISTORY_KEYS = ("step", "epoch", "loss", "recon", "kl", "time")


class _Cancelled(Exception):
    pass


class NonFiniteLoss(RuntimeError):
    """The loss or its gradient became NaN or infinite; the bad step was not applied."""


@dataclass
class Progress:
    step: int                 # steps done so far
    total_steps: int
    epoch: int                # 0-based epoch of the last step
    epochs: int
    epoch_fraction: float     # how far through that epoch, 0..1
    loss: float               # nats per image, last step's batch
    recon: float
    kl: float
    kl_steps: np.ndarray      # (T,) KL per glimpse of the last batch
    images_per_s: float       # measured over the last report interval
    eta_s: float
    lr: float
    kl_weight: float
    elapsed_s: float


@dataclass
class History:
    """Per-step metrics; plain lists so a checkpoint keeps them with weights_only loading."""
    columns: dict = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    evals: list = field(default_factory=list)  # dicts: step, epoch, nll_bound, recon, kl

    def append(self, **row):
        for k in HISTORY_KEYS:
            self.columns[k].append(row[k])

    def __len__(self):
        return len(self.columns["step"])


class Trainer:
    def __init__(self, model_config: DrawConfig, train_config: TrainConfig, batches: Batches,
                 checkpoint: dict | None = None, data_settings: dict | None = None,
                 dist: Distributed | None = None):
        self.model_config = model_config.validate()
        self.config = train_config.validate()
        self.batches = batches
        self.data_settings = data_settings or {}  # kept in checkpoints so eval and resume find the data
        self.dist = dist or Distributed()  # torchrun: this process's share of every batch (core/distributed.py)
        self.dist.check_batch(train_config.batch_size)
        self.device = resolve_device(train_config.device)
        if tuple(batches.data.image_shape) != tuple(model_config.image_shape):
            raise ValueError(f"model expects images {model_config.image_shape}, data has {batches.data.image_shape}")
        torch.manual_seed(train_config.seed)  # parameter initialisation
        self.model = DRAW(model_config).to(self.device)
        self.optimizer = make_optimizer(self.model, train_config)
        self.noise = torch.Generator(device=self.device).manual_seed(train_config.seed)
        self.step = 0
        # Training images seen before this run's step 0 counted at its batch size: a model continued
        # at another batch size saw more (or fewer) images per step before (images_seen).
        self.images_before = 0
        self.warmup_from = None  # the step a restart without optimizer state ramps the lr up from
        self.history = History()
        self.elapsed_s = 0.0
        if checkpoint is None:
            self.model.init_canvas_from_mean(batches.mean_image())
        else:
            self._restore(checkpoint)
        # What the steps run through: DistributedDataParallel under torchrun, else the model.
        # self.model stays the plain module for checkpoints, evaluation and snapshots.
        self.train_model = self.dist.wrap(self.model)
        self._cond = threading.Condition()
        self._paused = False
        self._pending_steps = 0
        self._stop = False
        self._calls = []  # functions to run on the training thread between steps
        self.compile_note = None  # why torch.compile was given up, if it was
        # Chooses the CPU threads by timing steps (core.threads); None: the caller's fixed number.
        self.thread_tuner: ThreadTuner | None = None
        # Read the step's numbers back at once on the CPU (free); elsewhere only when needed.
        self.sync_every_step = self.device.type == "cpu"
        if train_config.compile:
            self.model.compile_glimpse()

    # ---- control, callable from any thread -------------------------------------------------
    def pause(self):
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self):
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def step_once(self):
        """While paused: run exactly one more step."""
        with self._cond:
            self._pending_steps += 1
            self._cond.notify_all()

    def stop(self):
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def call_soon(self, fn):
        """Run fn() on the training thread before the next step, or at once while paused.

        For work that must see a consistent model (snapshots for a viewer, saving) without
        racing the optimiser. Only served while run() is running.
        """
        with self._cond:
            self._calls.append(fn)
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    # ---- the loop -------------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch

    @property
    def total_steps(self) -> int:
        total = self.config.epochs * self.steps_per_epoch
        return min(total, self.config.max_steps) if self.config.max_steps else total

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    @property
    def images_seen(self) -> int:
        """Training images the model has learnt from, over every run it was continued in; the
        epoch counter counts steps at this run's batch size, so it alone cannot tell."""
        return self.images_before + self.step * self.batches.batch_size

    def _next_ready(self) -> bool:
        """Block while paused, serving call_soon(); True when a step may run, False on stop."""
        while True:
            with self._cond:
                while (self._paused and not self._stop and self._pending_steps == 0 and not self._calls):
                    self._cond.wait(0.25)
                calls, self._calls = self._calls, []
                if not calls:
                    if self._stop:
                        return False
                    if self._paused:
                        self._pending_steps -= 1
                    return True
            for fn in calls:  # outside the lock: a call may pause, stop or queue more
                fn()

    def run(self, on_progress=None, on_epoch_end=None, report_interval_s: float = 0.1) -> str:
        """Train until done or stopped. Returns "finished" or "stopped".

        on_progress(Progress) is called at most every report_interval_s and after the last step;
        on_epoch_end(epoch) after each completed epoch (the caller may evaluate and save there).
        Raises NonFiniteLoss (model and optimizer keep the last good state).
        """
        cfg = self.config
        self.model.train()
        last_report, steps_at_report = time.perf_counter(), self.step
        first_step = self.step + 1   # always reported: a window shows the run's first point at once
        started = time.perf_counter() - self.elapsed_s
        rate = 0.0
        pending = []  # steps whose numbers are still on the device
        distributed = self.dist.enabled  # once: a single process does no per-step work for it
        while self.step < self.total_steps:
            ready = self._next_ready()
            if distributed:  # every rank takes the same step or every rank stops
                ready = not self.dist.should_stop(not ready)
            if not ready:
                self._record(pending)
                self.elapsed_s = time.perf_counter() - started
                return "stopped"
            epoch, index = divmod(self.step, self.steps_per_epoch)
            lr = self.next_lr()
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            x = self.batches.batch(epoch, index)
            # The global batch's noise on every rank, then each rank's slice: the same numbers
            # as one process drawing for the whole batch, whatever the number of processes.
            eps = torch.randn(self.model_config.glimpses, x.shape[0], self.model_config.z_size,
                              device=self.device, generator=self.noise)
            batch_images = x.shape[0]
            if distributed:
                x, eps = self.dist.shard(x), self.dist.shard(eps, dim=1)
            weight = kl_weight(self.step, cfg)
            step_started = time.perf_counter()
            try:
                result = train_step(self.train_model, self.optimizer, x, cfg, kl_scale=weight, eps=eps)
            except Exception as e:  # noqa: BLE001 - a failed compilation (no C++ compiler, ...) must not end the run
                if not self.model.compiled:
                    raise
                self.model.drop_compiled()
                self.compile_note = f"torch.compile failed ({type(e).__name__}); training continues without it"
                result = train_step(self.train_model, self.optimizer, x, cfg, kl_scale=weight, eps=eps)
            if distributed:
                result = self._global_result(result)
            self.step += 1
            now = time.perf_counter()
            if self.thread_tuner is not None:
                self.thread_tuner.after_step(now - step_started)
            pending.append((self.step, epoch, result, now - started))
            finished_epoch = self.step % self.steps_per_epoch == 0
            last = self.step == self.total_steps
            report_due = on_progress is not None and (now - last_report >= report_interval_s or last or self._paused
                                                      or self.step == first_step)
            if distributed:
                # Every rank reads its numbers back at the same steps, so a non-finite step
                # stops them all at once; a report waits for the next such step.
                sync = self.sync_every_step or finished_epoch or last or self.step % 50 == 0
                report_due = report_due and sync
            else:
                sync = self.sync_every_step or report_due or finished_epoch or last or self._paused
            # On a GPU, reading numbers back every step would stall it: they are read in one go
            # when something needs them. On the CPU reading is free and keeps NaN checks exact.
            if sync:
                self._record(pending)
                pending = []
            if report_due:
                if now > last_report:
                    rate = (self.step - steps_at_report) * batch_images / (now - last_report)
                last_report, steps_at_report = now, self.step
                remaining = (self.total_steps - self.step) * batch_images
                cols = self.history.columns
                on_progress(Progress(
                    step=self.step, total_steps=self.total_steps, epoch=epoch, epochs=cfg.epochs,
                    epoch_fraction=(index + 1) / self.steps_per_epoch, loss=cols["loss"][-1],
                    recon=cols["recon"][-1], kl=cols["kl"][-1],
                    kl_steps=result.kl_steps.cpu().numpy(), images_per_s=rate,
                    eta_s=remaining / rate if rate > 0 else math.inf, lr=lr, kl_weight=weight,
                    elapsed_s=now - started))
            if finished_epoch and on_epoch_end is not None:
                on_epoch_end(epoch)
        self.elapsed_s = time.perf_counter() - started
        return "finished"

    def next_lr(self) -> float:
        """The learning rate of the next step: the schedule's lr · lr_decay^epoch, ramped up over
        RESTART_WARMUP_STEPS steps after a restart that had no optimizer state to restore."""
        lr = self.config.lr_at(self.step // self.steps_per_epoch)
        if self.warmup_from is not None:
            lr *= min(1.0, (self.step - self.warmup_from + 1) / RESTART_WARMUP_STEPS)
        return lr

    def _global_result(self, r):
        """The step's numbers averaged over ranks (one collective, no host sync): what one
        process would have measured on the whole batch."""
        packed = self.dist.average(torch.cat([torch.stack([r.loss.float(), r.recon.float(), r.kl.float()]),
                                              r.kl_steps.float()]))
        return StepResult(loss=packed[0], recon=packed[1], kl=packed[2], kl_steps=packed[3:], skipped=r.skipped)

    def _record(self, pending) -> None:
        """Move the pending steps' numbers to the history (one host sync); a step whose gradient
        was not finite was not applied (skipped on the device): pause and say so."""
        if not pending:
            return
        values = torch.stack([torch.stack([r.loss.float(), r.recon.float(), r.kl.float(), r.skipped.float()])
                              for _, _, r, _ in pending]).cpu().tolist()
        for (step, epoch, _, t), (loss, recon, kl, skipped) in zip(pending, values):
            if skipped:
                self.step = step - 1  # resume at the bad step (on a GPU later pending steps were applied)
                self.pause()
                advice = ("lower the learning rate or the gradient clip" if self.config.grad_clip > 0
                          else "lower the learning rate or turn gradient clipping on (e.g. --grad_clip 5)")
                raise NonFiniteLoss(f"the loss became {loss} at step {step}; the step was not applied. "
                                    f"To continue, {advice}")
            self.history.append(step=step, epoch=epoch, loss=loss, recon=recon, kl=kl, time=t)

    # ---- evaluation and checkpoints -------------------------------------------------------
    def evaluate(self, k: int = 0, progress=None) -> Evaluation | None:
        """The test-set bound, recorded in the history; None when stop() cut it short."""
        def check(done, total):
            if self._stop:  # a full test pass can take a minute on a CPU: stop must not wait for it
                raise _Cancelled
            if progress is not None:
                progress(done, total)
        try:
            result = evaluate(self.model, self.batches.test_images(), k=k, progress=check)
        except _Cancelled:
            return None
        epoch_of_last_step = max(self.step - 1, 0) // self.steps_per_epoch
        self.history.evals.append({"step": self.step, "epoch": epoch_of_last_step, "nll_bound": result.nll_bound,
                                   "recon": result.recon, "kl": result.kl})
        return result

    def checkpoint(self) -> dict:
        return {
            "model_config": self.model_config.to_dict(),
            "train_config": self.config.to_dict(),
            "dataset": self.batches.data.name,
            "data_settings": self.data_settings,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "images_seen": self.images_seen,
            "train_images": self.batches.train.shape[0],   # images_seen / train_images: epochs seen
            "elapsed_s": self.elapsed_s,
            "history": {k: torch.tensor(v, dtype=torch.float64) for k, v in self.history.columns.items()},
            "evals": list(self.history.evals),
            "noise_rng": self.noise.get_state(),
            "noise_device": self.device.type,
        }

    def _restore(self, ckpt: dict):
        self.model.load_state_dict(ckpt["model"])
        self.step = int(ckpt.get("step", 0))
        self.images_before = counted_images(ckpt, self.batches.batch_size) - self.step * self.batches.batch_size
        if "optimizer" in ckpt and ckpt.get("train_config", {}).get("optimizer") == self.config.optimizer:
            self.optimizer.load_state_dict(ckpt["optimizer"])
            problem = optimizer_problem(self.optimizer)
            if problem:  # torch checks the count of weights only; fused Adam would crash on this
                raise ValueError(f"its optimizer state {problem}")
        elif self.step > 0:
            self.warmup_from = self.step
        self.elapsed_s = float(ckpt.get("elapsed_s", 0.0))
        hist = ckpt.get("history") or {}
        for k in HISTORY_KEYS:
            if k in hist:
                self.history.columns[k] = [float(v) for v in hist[k].tolist()]
        for k in ("step", "epoch"):
            self.history.columns[k] = [int(v) for v in self.history.columns[k]]
        self.history.evals = list(ckpt.get("evals", []))
        if "noise_rng" in ckpt and ckpt.get("noise_device", "cpu") == self.device.type:
            self.noise.set_state(ckpt["noise_rng"].cpu())
        else:  # another kind of device keeps its generator state differently: reseed, deterministically
            self.noise.manual_seed(self.config.seed + 1_000_003 * self.step)


def optimizer_problem(optimizer) -> str | None:
    """What is wrong with an optimizer state loaded from a file (None when it fits): torch's
    load_state_dict checks the number of parameters, not the shapes or types of the moments, and
    fused Adam given moments of the wrong shape crashes the process at the first step."""
    defaults = optimizer.defaults
    for i, group in enumerate(optimizer.param_groups):
        for key, default in defaults.items():
            if key == "params":
                continue
            if key not in group:
                return f"has no '{key}' in parameter group {i}"
            v = group[key]
            if isinstance(default, bool) or default is None:
                ok = v is None or isinstance(v, bool)
            elif isinstance(default, (int, float)):
                ok = is_number(v)
            elif isinstance(default, (tuple, list)):
                ok = (isinstance(v, (tuple, list)) and len(v) == len(default)
                      and all(is_number(x) for x in v))
            else:
                ok = type(v) is type(default)
            if not ok:
                return f"has {key} = {str(v)[:40]!r} in parameter group {i}"
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if not isinstance(state, dict):
                return "is not a table of tensors for each weight"
            for name, v in state.items():
                if v is None and name == "momentum_buffer":
                    continue
                if not isinstance(v, torch.Tensor) or not (v.is_floating_point() or v.dim() == 0):
                    return f"has a '{name}' that is not a tensor of numbers"
                if v.dim() != 0 and v.shape != p.shape:
                    return f"has a '{name}' of shape {list(v.shape)} for a weight of shape {list(p.shape)}"
    return None


def counted_images(ckpt: dict, batch_size: int | None = None) -> int:
    """The training images the checkpoint's model learnt from, over every run it was continued in.
    A file from before draw-gui counted them: its steps at its own batch size (batch_size where it
    names none), which is wrong only for a model that was continued at another batch size."""
    if "images_seen" in ckpt:
        return int(ckpt["images_seen"])
    batch = (ckpt.get("train_config") or {}).get("batch_size", batch_size or 0)
    return int(ckpt.get("step", 0)) * int(batch)


def continued_lr(ckpt: dict, saved_train, step: int, steps_per_epoch: int, lr_decay: float | None = None,
                 scale: float = 1.0) -> float:
    """The base learning rate that continues `ckpt`'s schedule where it left off at a new batch
    size: its last step's rate (times `scale`), lr · lr_decay^epoch, decaying by lr_decay per epoch
    from here (the file's own, or the `lr_decay` given).

    The schedule counts epochs in steps, so at another batch size the same step is another epoch;
    taken as it was, a model trained at batch 1024 and continued at 64 would jump back to the
    rate of its third epoch (shipped mnist: 0.0018 instead of the 0.0002 it ended with)."""
    decay = saved_train.lr_decay if lr_decay is None else lr_decay
    return scale * saved_train.lr_at(last_epoch(ckpt)) / decay ** (step // steps_per_epoch)


def last_epoch(ckpt: dict) -> int:
    """The (0-based) epoch of the checkpoint's last step, as its schedule counted it: the history's
    last, else one before its epoch counter (a file without history)."""
    epochs = (ckpt.get("history") or {}).get("epoch")
    if epochs is not None and len(epochs):
        return int(epochs[-1])
    return max(int(ckpt.get("epoch", 0)) - 1, 0)
