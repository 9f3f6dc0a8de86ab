"""The training worker: owns data, model and optimiser in a QThread; talks to the window only
through signals carrying plain data (numpy arrays and dataclasses), throttled to what the eye
can use: metrics at most ~30 times a second, glimpse snapshots at most once a second.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PySide6.QtCore import Signal, Slot

from core.run import NothingToTrain   # torch-free: core.run imports torch only to build a run
from draw_gui.workers.job_thread import BackgroundWorker
from draw_gui.workers.messages import (CompilePhase, CompileStatus, Evaluation, Failure, FailureKind, LoadStage,
                                      RunState, failure_from, os_reason)

if TYPE_CHECKING:
    import torch

    from core.background_compile import BackgroundCompile
    from core.config import DrawConfig, TrainConfig
    from core.live_run import LiveRun
    from core.loop import Progress, Trainer
    from core.model import DRAW
    from core.run import Run

METRICS_INTERVAL_S = 1 / 30
SNAPSHOT_INTERVAL_S = 3.0     # live glimpse refresh while training
SNAPSHOT_MIN_GAP_S = 1.0      # never more often than this, even on demand
WEIGHTS_INTERVAL_S = 3.0      # weights for the latent explorer, sent with snapshots at most this often
AUTOSAVE_MINUTES = 5.0        # checkpoint.pt in the run folder by time (besides Pause, Stop, close, the end)


@dataclass
class RunSetup:
    """Everything Start needs, as plain data."""
    model: DrawConfig             # image_shape is taken from the data
    train: TrainConfig
    dataset: str = "mnist"
    data_dir: str | None = None
    folder: str | None = None
    image_size: int | None = None
    checkpoint: str | None = None  # continue from this file
    examples: int = 8             # fixed test examples shown in the glimpse viewer
    paused: bool = False          # load and show, but wait for Resume (opening a checkpoint)
    # Show `checkpoint`'s model, read-only: no trainer, no optimizer, no training set (a shipped
    # model, a run another process owns). MNIST models are shown on the embedded sample's first
    # test digits (the first MNIST test digits), so the window needs no data folder for them.
    view_only: bool = False
    # Train `checkpoint` (or, with from_current, the model the worker holds) further, for
    # train.epochs more epochs at train.batch_size on train.device; the rest of its training
    # settings, and its learning rate schedule where it left off, come from the checkpoint.
    continue_training: bool = False
    from_current: bool = False
    # The run folder to write (checkpoint.pt, metrics.csv, eval.csv, run.json, snapshot.npz, as
    # `draw-gui train --out` does); None: a continued run folder's own, else a new one under the
    # runs folder (draw_gui.runs.paths). Made when the first step has trained.
    out: str | None = None
    autosave_minutes: float = AUTOSAVE_MINUTES  # 0: only at Pause, Stop, close and the end
    tensorboard: bool = False     # TensorBoard events in the run folder too (core/tensorboard.py)
    # A long CPU run builds the compiled step in another process and switches to it (Run menu)
    background_compile: bool = False
    token: int = 0                # the window's request number: newer requests silence older ones


@dataclass
class RunInfo:
    """Sent once a run is ready: what the window shows in its title and status bar."""
    model: DrawConfig
    train: TrainConfig
    dataset: str
    source: str
    device: str
    threads: int
    step: int
    total_steps: int
    steps_per_epoch: int
    history: dict[str, np.ndarray]  # column -> values (a continued run's past)
    evals: list[Evaluation]
    sample_data: bool = False     # training on the embedded sample because the full set is missing
    token: int = 0                # RunSetup.token of the request this answers
    view_only: bool = False       # a model shown read-only: nothing trains
    epoch: int = 0                # epochs the model was trained for (a checkpoint's "epoch")
    # The epochs of images it learnt from over every run it went through, at any batch sizes
    # (core.checkpoint.epochs_seen); None for a file from before draw-gui counted them.
    epochs_seen: float | None = None
    trained_batch: int = 0        # continue_training: the batch size the checkpoint was trained at
    # The learning rate of its next step (a model shown read-only: of its last), the schedule's
    # lr · lr_decay^epoch: for a continued model train.lr is only the base its schedule counts from.
    # (A continued model without optimizer state ramps up to it over its first steps: core.loop.)
    last_lr: float | None = None
    elapsed_s: float = 0.0        # its training time so far (0: unknown; a file shown: its history's)
    run_folder: str | None = None  # where the run autosaves (made when the first step has trained)


@dataclass
class MetricsUpdate:
    steps: np.ndarray             # new points since the last update
    loss: np.ndarray
    recon: np.ndarray
    kl: np.ndarray
    progress: Progress            # of the last step


@dataclass
class ModelWeights:
    """A copy of the model for another thread (the latent explorer): CPU clones, never shared."""
    config: DrawConfig
    state: dict[str, torch.Tensor]  # state_dict of detached CPU tensor clones
    step: int
    examples: np.ndarray | None   # (B, C, H, W) the fixed test examples (for principal directions)

    def load_into(self, model: DRAW | None) -> DRAW:
        """These weights in `model` when it has this config (no new module per update), else in a
        new CPU model; returned in eval mode. For the thread or view that keeps its own copy."""
        from core.model import DRAW
        if model is None or model.config != self.config or model.canvas0.device.type != "cpu":
            model = DRAW(self.config)
        model.load_state_dict(self.state)
        return model.eval()


class _View(NamedTuple):
    """A view_only setup's model: shown, not trained."""
    model: DRAW
    step: int


class TrainingWorker(BackgroundWorker):
    """Its failures: `failed` (BackgroundWorker) carries a messages.Failure."""

    source = "training"
    ready = Signal(object)           # RunInfo
    metrics = Signal(object)         # MetricsUpdate
    snapshot = Signal(object)        # core.trace.GlimpseTrace of the fixed examples
    weights = Signal(object)         # ModelWeights, with snapshots (at most every WEIGHTS_INTERVAL_S)
    evaluated = Signal(object)       # messages.Evaluation
    state_changed = Signal(object)   # messages.RunState: LOADING, RUNNING, PAUSED, STOPPED, FINISHED, FAILED
    stage = Signal(object)           # messages.LoadStage: what a load is doing, while it loads
    saved = Signal(str)              # path of a written checkpoint
    autosaved = Signal(str)          # path of the run folder's checkpoint.pt, just written
    compile_status = Signal(object)  # messages.CompileStatus: the compiled step built in the background
    _invoke = Signal(object)         # run a callable on the worker thread when no loop is running

    def __init__(self):
        super().__init__()
        self._trainer: Trainer | None = None
        self._view: _View | None = None
        self._examples: torch.Tensor | None = None
        self._token = 0              # RunSetup.token of what the worker holds
        self.newest = 0              # the newest token the window asked for (set from the GUI thread)
        self._looping = False
        self._sent_rows = 0
        self._last_snapshot = 0.0
        self._last_weights = -WEIGHTS_INTERVAL_S
        self.dirty = False           # progress since the last save
        self._saved_event = threading.Event()
        self._stop_requested = False
        self._run: Run | None = None           # the trainer's
        self._folder: Path | None = None       # the run folder the trainer autosaves to
        self._live: LiveRun | None = None      # writing it, once a step has trained
        self._continues: str | None = None     # the checkpoint file the trainer was restored from
        self._autosave_minutes = AUTOSAVE_MINUTES
        self._tensorboard = False    # RunSetup.tensorboard of the run held
        self._background_compile = False  # RunSetup.background_compile of the run held
        self._autosaved_step = 0     # the trainer's step in the run folder's checkpoint.pt
        self._compile_job: BackgroundCompile | None = None  # the compiled step, being built
        self._compiled_at: int | None = None   # the step the trainer switched to the compiled step at
        self._invoke.connect(self._call)

    # ---- thread-safe controls (called from the GUI thread) --------------------------------
    def pause(self):
        if self._trainer is not None:
            self._trainer.pause()
            self.state_changed.emit(RunState.PAUSED)
            self._on_worker_thread(lambda: self._autosave(RunState.PAUSED))

    def resume(self):
        if self._trainer is None:
            return
        self._trainer.resume()
        if not self._looping:  # after a NaN the loop had ended: start it again
            self._invoke.emit(self._loop)
        else:
            self.state_changed.emit(RunState.RUNNING)

    def step_once(self):
        if self._trainer is None:
            return
        if self._looping:
            self._trainer.step_once()
        else:
            self._trainer.pause()
            self._trainer.step_once()
            self._invoke.emit(self._loop)

    def stop(self):
        self._stop_requested = True  # also ends a run still loading, before its loop starts
        if self._trainer is not None:
            self._trainer.stop()

    def request_snapshot(self):
        self._on_worker_thread(lambda: self._emit_snapshot(force=True))

    def save(self, path: str):
        self._on_worker_thread(lambda: self._save(path))

    def save_and_wait(self, path: str, timeout_s: float = 30.0) -> bool:
        """Save from the GUI thread and wait for the file (closing the window); True if written."""
        self._saved_event.clear()
        self.save(path)
        return self._saved_event.wait(timeout_s) and not self.dirty

    def autosave_and_wait(self, timeout_s: float = 30.0) -> bool:
        """Write the run folder's checkpoint from the GUI thread and wait (closing the window,
        opening another model); True when everything trained is on disk."""
        if not self.dirty:
            return True
        self._saved_event.clear()
        self._on_worker_thread(lambda: (self._autosave(self._run_state()), self._saved_event.set()))
        return self._saved_event.wait(timeout_s) and not self.dirty

    @property
    def running(self) -> bool:
        return self._looping

    def _on_worker_thread(self, fn: Callable[[], object]):
        if self._trainer is not None and self._looping:
            self._trainer.call_soon(fn)
        else:
            self._invoke.emit(fn)

    @Slot(object)
    def _call(self, fn: Callable[[], object]):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported like every failure, never a print from Qt
            if self._current():
                self.report_failure(e)

    def _run_state(self) -> RunState:
        """The trainer's state, as run.json says it: paused or running."""
        return RunState.PAUSED if self._trainer is not None and self._trainer.paused else RunState.RUNNING

    # ---- worker thread --------------------------------------------------------------------
    def _current(self) -> bool:
        """Whether what the worker holds answers the window's newest request (else it stays quiet)."""
        return self._token >= self.newest

    @Slot(object)
    def start(self, setup: RunSetup):
        if setup.token < self.newest:
            return  # asked for and superseded before it began: skip the work
        if not setup.view_only:
            self.state_changed.emit(RunState.LOADING)
        try:
            try:
                committed = self._setup(setup)
            except NothingToTrain:
                if setup.checkpoint is None or setup.view_only or setup.continue_training or setup.from_current:
                    raise
                # An opened checkpoint whose run is over (its last epoch trained) is shown read-only,
                # as a run folder picked in the Runs tab is; Continue training trains it further.
                setup = replace(setup, view_only=True)
                committed = self._setup(setup)
        except Exception as e:  # noqa: BLE001 - every failure becomes a dialog, never a crash
            if setup.token >= self.newest:
                # A failed load leaves what the window shows (and the worker holds) as it was; a
                # failed Start has no model to fall back to (the window cleared its views).
                keep = setup.checkpoint is not None or setup.from_current
                self._token = setup.token
                self._fail(e, keep=keep, checkpoint=None if setup.from_current else setup.checkpoint)
            return
        if not committed or setup.token < self.newest:
            return  # superseded while it loaded: a newer request follows
        if self._stop_requested:  # closed or stopped while the data loaded
            self._cancel_background_compile()
            self.state_changed.emit(RunState.STOPPED)
            return
        if not setup.view_only:
            self._loop()

    def _setup(self, setup: RunSetup) -> bool:
        """Build what `setup` asks for (core.run.build_run, as `draw-gui train` does), then, unless
        a newer request came meanwhile, make it the worker's model and tell the window (ready,
        then a snapshot). Raises on failure, leaving the worker's model as it was. Returns
        whether it was committed."""
        self._stop_requested = False
        # What the status bar says while this loads (torch's first import alone takes seconds): the
        # stages come in this order, the middle ones named by build_run ("reading MNIST from ...").
        count = 3 if setup.view_only else 4    # torch, [data, model | checkpoint], the first glimpses
        done = []

        def stage(text: str) -> None:
            done.append(text)
            if setup.token >= self.newest:
                self.stage.emit(LoadStage(text, min(len(done), count), count, setup.token))

        stage("starting torch")
        import torch   # imported here, under its stage, not silently by build_run
        from core.checkpoint import CheckpointError, checkpoint_configs, load_checkpoint
        from core.run import RunSettings, build_run
        from draw_gui.resources import embedded_stand_in

        if setup.view_only:
            return self._setup_view(setup, stage)
        if setup.from_current:
            if self._trainer is None:
                raise CheckpointError("there is no model here to continue; open a checkpoint first")
            ckpt = self._trainer.checkpoint()   # in memory, optimizer state included
            name = None
        else:
            ckpt = load_checkpoint(setup.checkpoint) if setup.checkpoint else None
            name = setup.checkpoint
        train_cfg = setup.train
        if ckpt is not None:
            _, saved_train = checkpoint_configs(ckpt, name or "the model shown")
            # The training thread never compiles from scratch (a first step stalled for a minute
            # would look like a hang): a background child does it (core.background_compile).
            if setup.continue_training:
                train_cfg = replace(saved_train, batch_size=setup.train.batch_size, max_steps=0,
                                    device=setup.train.device, compile=False)
            else:
                train_cfg = replace(saved_train, epochs=max(train_cfg.epochs, saved_train.epochs), max_steps=0,
                                    device=train_cfg.device, compile=False)
        run = build_run(RunSettings(
            model=setup.model, train=train_cfg, dataset=None if ckpt is not None else setup.dataset,
            data_dir=setup.data_dir or None, folder=setup.folder, image_size=setup.image_size,
            checkpoint=ckpt, checkpoint_name=name,
            more_epochs=setup.train.epochs if setup.continue_training and ckpt is not None else None,
            fallback=embedded_stand_in, on_stage=stage,
            tune_threads=False))   # one thread: the GUI thread is the other core's work (README, Speed)
        stage("drawing the first glimpses")
        trainer = run.trainer
        if setup.paused:
            trainer.pause()
        examples = run.batches.examples(setup.examples).to(run.device)
        if setup.token < self.newest:
            return False
        folder = self._run_folder_for(setup, run)
        self._cancel_background_compile()
        self._trainer, self._view, self._examples, self._token = trainer, None, examples, setup.token
        self._run = run
        self._folder, self._live = folder, None
        if not setup.from_current:   # a model trained on here keeps where it first came from
            self._continues = setup.checkpoint
        self._autosaved_step = trainer.step   # a step is "dirty" before on_progress reports it: compare steps
        self._autosave_minutes = setup.autosave_minutes
        self._tensorboard = setup.tensorboard
        self._background_compile = setup.background_compile
        self._sent_rows = len(trainer.history)
        self.dirty = False
        cols = trainer.history.columns
        self.ready.emit(RunInfo(
            model=run.model, train=run.train, dataset=run.data.name, source=run.data.source, device=str(run.device),
            threads=torch.get_num_threads(), step=trainer.step, total_steps=trainer.total_steps,
            steps_per_epoch=trainer.steps_per_epoch,
            history={k: np.asarray(v, dtype=np.float64) for k, v in cols.items()},
            evals=list(trainer.history.evals), sample_data=run.stand_in_data, token=setup.token,
            epoch=trainer.epoch, trained_batch=run.trained_batch, run_folder=str(folder),
            last_lr=trainer.next_lr(), elapsed_s=trainer.elapsed_s))
        self._emit_snapshot(force=True)
        self._start_background_compile(run)
        return True

    def _run_folder_for(self, setup: RunSetup, run: Run) -> Path:
        """Where this run autosaves: the folder asked for; the run folder a continued checkpoint
        lives in (as `draw-gui train --restore` continues there); else a new folder under the
        runs folder. It is made when the first step has trained."""
        from core.runfolder import CHECKPOINT_NAME, is_run_folder
        from draw_gui.models.shipped import is_shipped
        from draw_gui.runs.paths import new_run_folder
        if setup.out:
            return Path(setup.out).expanduser()
        if setup.from_current and self._folder is not None:
            return self._folder
        if setup.checkpoint and not is_shipped(setup.checkpoint):
            source = Path(setup.checkpoint)
            if source.name == CHECKPOINT_NAME and is_run_folder(source.parent):
                return source.parent
        return new_run_folder(run.dataset, run.model.attention)

    def _setup_view(self, setup: RunSetup, stage: Callable[[str], None]) -> bool:
        """A checkpoint's model shown read-only: the model and 8 test examples, nothing to train."""
        import torch
        from core.checkpoint import checkpoint_configs, data_settings, epochs_seen, load_model
        from core.loop import last_epoch
        from core.data import Batches, DataUnavailable, load_dataset
        from core.train import default_threads
        from draw_gui.resources import MNIST_SETS, embedded_mnist, embedded_stand_in

        torch.set_num_threads(default_threads("cpu"))
        stage("reading the checkpoint")
        model, ckpt, _ = load_model(setup.checkpoint, "cpu")  # a view runs on the CPU: no device start-up
        model_cfg, train_cfg = checkpoint_configs(ckpt, setup.checkpoint)
        dataset = ckpt.get("dataset", "mnist")
        if dataset in MNIST_SETS:
            # Its test split is MNIST's first 2,000 test digits: the same first examples as the full
            # set, without loading 70,000 images (or needing them) to show eight.
            data = embedded_mnist()
        else:
            where = data_settings(ckpt, setup.data_dir or None, setup.folder, setup.image_size)
            try:
                data = load_dataset(dataset, data_dir=where["data_dir"], folder=where["folder"], download=False,
                                    image_size=where["image_size"], grayscale=where["grayscale"])
            except DataUnavailable:
                data = embedded_stand_in(dataset)    # two-digit MNIST: made from the embedded sample
                if data is None or data.image_shape != tuple(model_cfg.image_shape):
                    raise
        examples = Batches(data, 1).examples(setup.examples)
        if setup.token < self.newest:
            return False
        stage("drawing the first glimpses")
        step = int(ckpt.get("step", 0))
        self._cancel_background_compile()
        self._trainer, self._view, self._examples, self._token = None, _View(model, step), examples, setup.token
        self._run = self._folder = self._live = None
        self.dirty = False
        history = {k: np.asarray(v.double().numpy() if hasattr(v, "numpy") else v, dtype=np.float64)
                   for k, v in (ckpt.get("history") or {}).items()}
        self.ready.emit(RunInfo(
            model=model_cfg, train=train_cfg, dataset=dataset, source=f"test examples: {data.source}",
            device="cpu", threads=torch.get_num_threads(), step=step, total_steps=step, steps_per_epoch=0,
            history=history, evals=[dict(e) for e in ckpt.get("evals") or []], token=setup.token,
            view_only=True, epoch=int(ckpt.get("epoch", 0)), epochs_seen=epochs_seen(ckpt),
            last_lr=train_cfg.lr_at(last_epoch(ckpt))))
        self._emit_snapshot(force=True)
        return True

    def _loop(self):
        from core.loop import NonFiniteLoss
        trainer = self._trainer
        if trainer is None or self._looping:
            return
        self._looping = True
        if self._current():
            self.state_changed.emit(self._run_state())
        try:
            outcome = RunState(trainer.run(on_progress=self._on_progress, on_epoch_end=self._on_epoch_end,
                                           report_interval_s=METRICS_INTERVAL_S))   # STOPPED or FINISHED
        except NonFiniteLoss as e:
            self._autosave(RunState.PAUSED)   # the last good state, in the run folder
            self._looping = False
            if self._current():
                where = f" (saved in {self._folder})" if self._live is not None else ""
                self.report_failure(e, message=f"{e}. Training is paused at the last good state{where}; "
                                               "you can save it.")
                self.state_changed.emit(RunState.PAUSED)
            return
        except Exception as e:  # noqa: BLE001
            self._cancel_background_compile()   # a failed run trains no more
            if self._live is not None:
                self._live.finish(RunState.FAILED)
            self._looping = False
            if self._current():
                self._fail(e)
            return
        self._cancel_background_compile()   # nothing left to train faster
        if outcome is RunState.FINISHED and self._current():
            self._evaluate()
        self._autosave(outcome)    # stopped (Stop, closing, another model) or finished: on disk first
        if self._live is not None:
            self._live.finish(outcome)
        self._looping = False
        if not self._current():
            return  # stopped for a newer request: the window no longer shows this run
        self._emit_snapshot(force=True)
        self.state_changed.emit(outcome)

    def _on_progress(self, progress: Progress):
        self.dirty = True
        cols = self._trainer.history.columns
        n = len(self._trainer.history)
        rows = slice(self._sent_rows, n)
        self._sent_rows = n
        if not self._current():  # the window asked for another model: this run ends here
            self._trainer.stop()
            return
        self.metrics.emit(MetricsUpdate(
            steps=np.asarray(cols["step"][rows], dtype=np.float64),
            loss=np.asarray(cols["loss"][rows]), recon=np.asarray(cols["recon"][rows]),
            kl=np.asarray(cols["kl"][rows]), progress=progress))
        self._follow_background_compile()
        if time.monotonic() - self._last_snapshot >= SNAPSHOT_INTERVAL_S or self._trainer.paused:
            self._emit_snapshot()
        self._keep_run_folder(progress)   # after the window has its numbers: the first step makes the folder

    def _start_background_compile(self, run: Run):
        """A long run on the CPU trains the plain step at once while another process builds the
        compiled one (core.background_compile); _follow_background_compile switches over."""
        import torch
        from core.background_compile import AUTO_COMPILE_STEPS, BackgroundCompile, can_compile_in_background
        trainer = self._trainer
        if (not self._background_compile or trainer.model.compiled
                or trainer.total_steps - trainer.step < AUTO_COMPILE_STEPS
                or not can_compile_in_background(run.device.type)):
            return
        self._compile_job = BackgroundCompile(run.model.to_dict(), run.train.batch_size, torch.get_num_threads(),
                                              run.train.precision)
        self._compiled_at = None
        self.compile_status.emit(CompileStatus(
            CompilePhase.BUILDING, "compiling a faster step in the background…", self._token))

    def _follow_background_compile(self):
        """Between steps, on the training thread: switch to the compiled step once it is built;
        say when it runs, or why training goes on without it."""
        trainer, job = self._trainer, self._compile_job
        if self._compiled_at is not None and trainer.step > self._compiled_at:
            first, self._compiled_at = self._compiled_at + 1, None
            if trainer.model.compiled:
                self.compile_status.emit(CompileStatus(
                    CompilePhase.COMPILED, f"training on the compiled step since step {first:,}", self._token))
            else:   # the loop fell back to the plain step (core.loop: compile_note)
                self.compile_status.emit(CompileStatus(CompilePhase.FAILED, trainer.compile_note or
                                                       "the compiled step failed; training goes on without it",
                                                       self._token))
        if job is None:
            return
        built = job.poll()
        if built is None:
            return
        self._compile_job = None
        if not built:
            import logging
            logging.getLogger(__name__).warning("background compilation failed after %.0f s: %s", job.seconds,
                                                job.error)
            self.compile_status.emit(CompileStatus(
                CompilePhase.FAILED, f"could not compile the training step ({job.error}); training goes on "
                                     "with the plain step", self._token))
            return
        from core.background_compile import compile_from_cache
        # The next step traces the glimpses and loads the built code from the cache; without a
        # collection of garbage in this thread (the window collects in its GUI thread: gui_gc.py)
        compile_from_cache(trainer.model, collect_garbage=False)
        self._compiled_at = trainer.step
        self.compile_status.emit(CompileStatus(
            CompilePhase.SWITCHING, f"faster step compiled in {job.seconds:.0f} s; switching to it", self._token))

    def _cancel_background_compile(self):
        if self._compile_job is not None:
            self._compile_job.cancel()
            self._compile_job = None
        self._compiled_at = None

    def _on_epoch_end(self, epoch: int):
        if self._trainer.step < self._trainer.total_steps:
            self._evaluate()

    def _evaluate(self):
        if self._trainer.evaluate() is not None:
            if self._live is not None:
                self._live.evaluated()
            if self._current():
                self.evaluated.emit(dict(self._trainer.history.evals[-1]))

    # ---- the run folder (worker thread) ---------------------------------------------------
    def _keep_run_folder(self, progress: Progress):
        """After a trained step: make the run folder on the first one, then let LiveRun write
        metrics, run.json, snapshots and the timed checkpoint (core.live_run)."""
        if self._folder is None:
            return
        if self._live is None:
            from core.live_run import LiveRun, run_info
            from core.runfolder import RunFolder
            from draw_gui import __version__
            try:
                folder = RunFolder(self._folder)
            except OSError as e:
                self.report_failure(e, kind=FailureKind.SAVE,
                                    message=f"Could not make the run folder {self._folder}: {os_reason(e)}. Training "
                                            "goes on without autosaving; save a checkpoint with File → Save as.")
                self._folder = None
                return
            run = self._run
            info = run_info(self._trainer, run.dataset, run.data.source, run.device, version=__version__,
                            command="draw-gui (the window)")
            from core.tensorboard import TensorBoardUnavailable
            try:   # files as `draw-gui train` writes them
                self._live = LiveRun(folder, self._trainer, self._examples, info, save=self._autosave,
                                     checkpoint_every_s=60 * self._autosave_minutes, tensorboard=self._tensorboard,
                                     continues=self._continues)
            except TensorBoardUnavailable as e:
                self._tensorboard = False
                self.report_failure(e, kind=FailureKind.SAVE, message=f"{e}. Training goes on without them.")
                self._live = LiveRun(folder, self._trainer, self._examples, info, save=self._autosave,
                                     checkpoint_every_s=60 * self._autosave_minutes, continues=self._continues)
            self._live.start()
        self._live.info["status"] = self._run_state()
        self._live.on_progress(progress)

    def _autosave(self, reason: RunState | str):
        """checkpoint.pt, metrics.csv and eval.csv of the run folder, atomically (a kill -9 loses
        at most what trained since). reason: a RunState (PAUSED, RUNNING, STOPPED, FINISHED: what
        run.json says from now on), or LiveRun's timed save (its own words)."""
        live, trainer = self._live, self._trainer
        if live is None or trainer is None:
            return
        if not self.dirty and trainer.step == self._autosaved_step:   # nothing new: say what the run does now
            if reason in (RunState.PAUSED, RunState.RUNNING):
                live.set_status(RunState(reason))
            return
        if reason in (RunState.PAUSED, RunState.STOPPED, RunState.FINISHED, RunState.RUNNING):
            live.info["status"] = RunState(reason)
        try:
            live.run.write_metrics(trainer.history)
            path = live.run.save_checkpoint(trainer.checkpoint())
            live.checkpoint_saved()
        except Exception as e:  # noqa: BLE001 - a failed autosave must never end the run
            if self._current():
                self.report_failure(e, kind=FailureKind.SAVE,
                                    message=f"Could not autosave to {live.run.path}: {os_reason(e)}. Training goes "
                                            "on; free some space, or save a checkpoint elsewhere with File → Save as.")
            return
        self.dirty = False
        self._autosaved_step = trainer.step
        if self._current():
            self.autosaved.emit(str(path))

    def _emit_snapshot(self, force: bool = False):
        if self._trainer is not None:
            model, step, paused = self._trainer.model, self._trainer.step, self._trainer.paused
        elif self._view is not None:
            model, step, paused = self._view.model, self._view.step, True
        else:
            return
        if not self._current():
            return
        now = time.monotonic()
        if not force and now - self._last_snapshot < SNAPSHOT_MIN_GAP_S:
            return
        from core.live_run import snapshot_trace   # the same fixed noise as a run folder's snapshots
        self._last_snapshot = now
        self.snapshot.emit(snapshot_trace(model, self._examples))
        if force or paused or now - self._last_weights >= WEIGHTS_INTERVAL_S:
            self._last_weights = now
            self.weights.emit(ModelWeights(
                config=model.config, step=step, examples=self._examples.cpu().numpy(),
                state={k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}))

    def _save(self, path: str):
        from core.checkpoint import save_checkpoint
        from draw_gui.models.shipped import is_shipped
        if self._trainer is None:
            return
        if is_shipped(path):
            self.report_failure(Failure(FailureKind.SAVE, f"Could not save {path}: it belongs to a model that ships "
                                        "with draw-gui, and those are never overwritten. Nothing was written; "
                                        "choose another file.", source=self.source))
            self._saved_event.set()
            return
        try:
            save_checkpoint(path, self._trainer.checkpoint())
        except Exception as e:  # noqa: BLE001 - a failed save must never end the run
            self.report_failure(e, kind=FailureKind.SAVE,
                                message=f"Could not save {path}: {os_reason(e)}. Nothing was overwritten; "
                                        "choose another folder or free some space.")
            self._saved_event.set()
            return
        self.dirty = False
        self._saved_event.set()
        self.saved.emit(str(path))

    def _fail(self, e: Exception, keep: bool = False, checkpoint: str | None = None):
        """Report a failed setup or run (messages.failure_from), then the FAILED state.
        keep: a load failed, and the model held before stays (else a setup failure drops it).
        checkpoint: the file the failed setup read: settings it holds that cannot be used (a
        ConfigError or other ValueError) are that file's fault, said in one line like CheckpointError."""
        failure = failure_from(e, self.source)
        if checkpoint and failure.kind is FailureKind.CONFIG:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            failure = failure_from(e, self.source, kind=FailureKind.CHECKPOINT,
                                   message=first if first.startswith(str(checkpoint))
                                   else f"{checkpoint} is not a usable checkpoint: {first}")
        if not keep and failure.kind in (FailureKind.DATA, FailureKind.CHECKPOINT, FailureKind.CONFIG):
            self._trainer = self._view = self._run = self._folder = self._live = None
        self.report_failure(failure)
        self.state_changed.emit(RunState.FAILED)
