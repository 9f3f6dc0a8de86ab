"""Building a training run from plain settings: the one place the command line (`draw-gui
train`) and the window's training worker turn settings into data, a device and a Trainer.

Every check that a run needs, and its message, lives here once: the data set and where it is,
the image shape against a checkpoint's model, the batch against the training set, a damaged
checkpoint, a run that has nothing left to train. A problem with what the user asked for is a
RunProblem (the CLI prints it and exits 2; the window shows it in a dialog).

    settings = RunSettings(model=DrawConfig(), train=TrainConfig(), dataset="mnist")
    run = build_run(settings)          # loads the data, builds the model and the optimizer
    run.trainer.run(on_progress=...)   # core.loop.Trainer
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable

if TYPE_CHECKING:
    import torch

    from core.config import DrawConfig, TrainConfig
    from core.data import Batches, ImageData
    from core.distributed import Distributed
    from core.loop import Trainer


class RunProblem(ValueError):
    """What the user asked for cannot train: one user-facing sentence with the fix."""


class NothingToTrain(RunProblem):
    """The checkpoint is already at (or past) the last step of the run asked for."""


@dataclass
class RunSettings:
    """Everything a run is built from, as plain data."""
    model: DrawConfig               # ignored when continuing a checkpoint (its model is fixed)
    train: TrainConfig              # with a checkpoint: the caller's merge of its settings and the user's
    dataset: str | None = None      # None: the checkpoint's data set, else mnist
    data_dir: str | None = None     # None: the checkpoint's, else $DRAW_GUI_DATA or the default
    folder: str | None = None       # an image folder (dataset "folder")
    image_size: int | None = None
    download: bool = True           # fetch a missing torchvision dataset
    checkpoint: dict | None = None  # a loaded checkpoint (core.checkpoint.load_checkpoint) to continue
    checkpoint_name: str | None = None  # its file, for messages; None for a checkpoint held in memory
    # Train the checkpoint this many more epochs, its learning-rate schedule continuing where it
    # left off (the window's Continue training); None: train.epochs counts all epochs.
    more_epochs: int | None = None
    # When the data set cannot be found: a stand-in (the window shows MNIST runs on the embedded
    # sample); None raises core.data.DataUnavailable.
    fallback: Callable[[str], ImageData | None] | None = None
    threads: int | None = None      # torch CPU threads; None or 0: chosen by measurement
    # With threads None: time the run's own steps to choose them, and again as the load changes
    # (core.threads). The window keeps default_threads instead: its GUI thread needs the other core.
    tune_threads: bool = True
    dist: Distributed | None = None  # torchrun's process group (core.distributed)
    # Told what build_run starts next ("reading MNIST from ...", "building the model"), for a
    # caller that shows progress; it must not raise.
    on_stage: Callable[[str], None] | None = None


@dataclass
class Run:
    """A run ready to train: what build_run made, and what the caller shows about it."""
    trainer: Trainer
    batches: Batches
    data: ImageData
    device: torch.device
    model: DrawConfig
    train: TrainConfig
    dataset: str
    data_settings: dict             # what the checkpoint keeps: absolute data_dir and folder, image_size
    stand_in_data: bool = False     # trained on RunSettings.fallback's data
    trained_batch: int = 0          # a continued checkpoint's batch size (0: a new run)


def _absolute(path) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


def build_run(s: RunSettings) -> Run:
    """Load the data, fix the model's image shape, and build the Trainer (restoring the
    checkpoint). Raises RunProblem, core.data.DataUnavailable, core.checkpoint.CheckpointError
    or core.config.ConfigError, each with a message for the user."""
    import torch

    from core.checkpoint import CheckpointError, checkpoint_configs, data_settings
    from core.data import Batches, DataUnavailable, canonical_dataset_name, load_dataset
    from core.loop import Trainer, continued_lr
    from core.threads import ThreadTuner
    from core.train import default_threads, resolve_device

    ckpt, name = s.checkpoint, s.checkpoint_name or "the model shown"
    try:
        dataset = canonical_dataset_name(s.dataset or (ckpt or {}).get("dataset") or "mnist")
    except ValueError as e:
        raise RunProblem(str(e)) from None
    model_cfg, train_cfg, saved_train = s.model, s.train.validate(), None
    if ckpt is not None:
        model_cfg, saved_train = checkpoint_configs(ckpt, name)
    device = resolve_device(train_cfg.device)
    where = data_settings(ckpt, s.data_dir, s.folder, s.image_size)
    stage = s.on_stage or (lambda text: None)
    stage(f"reading {dataset}" + (f" from {where['folder'] or where['data_dir']}"
                                   if where["folder"] or where["data_dir"] else ""))
    stand_in = False
    try:
        data = load_dataset(dataset, data_dir=where["data_dir"], download=s.download, image_size=where["image_size"],
                            folder=where["folder"], grayscale=where["grayscale"])
    except DataUnavailable:
        data = s.fallback(dataset) if s.fallback is not None else None
        if data is None:
            raise
        stand_in = True
    if ckpt is None:
        model_cfg = replace(model_cfg, image_shape=tuple(data.image_shape)).validate()
    elif tuple(model_cfg.image_shape) != tuple(data.image_shape):
        raise RunProblem(f"the checkpoint's model draws {tuple(model_cfg.image_shape)} images but {dataset} has "
                         f"{tuple(data.image_shape)}; use the dataset it was trained on")
    if train_cfg.batch_size > data.train.shape[0]:
        raise RunProblem(f"batch size {train_cfg.batch_size} is larger than the {data.train.shape[0]} "
                         "training images; use a smaller batch size")
    torch.set_num_threads(s.threads or default_threads(device.type))
    batches = Batches(data, train_cfg.batch_size, device=device, seed=train_cfg.seed)
    if s.more_epochs is not None and ckpt is not None:
        step, per_epoch = int(ckpt.get("step", 0)), batches.steps_per_epoch
        train_cfg = replace(train_cfg, epochs=-(-step // per_epoch) + s.more_epochs, max_steps=0,
                            lr=continued_lr(ckpt, saved_train, step, per_epoch))
    kept = {"data_dir": _absolute(where["data_dir"]), "folder": _absolute(where["folder"]),
            "image_size": where["image_size"]}
    stage("restoring the checkpoint" if ckpt is not None else "building the model")
    try:
        trainer = Trainer(model_cfg, train_cfg, batches, checkpoint=ckpt, data_settings=kept, dist=s.dist)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        if ckpt is None or s.checkpoint_name is None:
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{name} cannot be restored: its weights or optimizer state do not fit its own "
                              f"settings ({first[:120]}); the file is damaged") from None
    if s.tune_threads and not s.threads and device.type == "cpu" and not trainer.dist.enabled:
        trainer.thread_tuner = ThreadTuner.for_machine(start=torch.get_num_threads())
    if ckpt is not None and trainer.step >= trainer.total_steps:
        raise NothingToTrain(f"nothing to train: {name} is already at step {trainer.step}, and this run ends at step "
                         f"{trainer.total_steps}; train for more epochs (or more steps)")
    return Run(trainer=trainer, batches=batches, data=data, device=device, model=model_cfg, train=train_cfg,
               dataset=dataset, data_settings=kept, stand_in_data=stand_in,
               trained_batch=saved_train.batch_size if saved_train is not None else 0)
