"""Reads the compared runs off the UI thread: their files as they grow, and their checkpoints'
samples and glimpse traces.

A CompareLoader lives in a QThread of its own (the pattern of latent_decoder.LatentDecoder): the
compare view asks, and results come back as signals carrying plain data (numpy arrays, dicts,
core.trace.GlimpseTrace). Reading a long metrics.csv, loading a checkpoint, loading the test
images and running the model all happen here, so the window never waits for them. Only the
newest request of each kind and run is kept; polls come first, being cheap and live.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from PySide6.QtCore import Signal, Slot

from core.runfolder import CHECKPOINT_NAME
from draw_gui.workers.job_thread import JobThread
from draw_gui.workers.messages import Snapshot

if TYPE_CHECKING:
    from core.model import DRAW
    from core.runfolder import MetricsRows, RunReader
    from core.trace import GlimpseTrace

JobKind = Literal["forget", "poll", "trace", "samples"]
ModelKind = Literal["trace", "samples"]      # the jobs that run a checkpoint's model
# Order of service (forgetting a removed run first): a poll keeps the curves live and costs little;
# traces and samples load models.
KINDS: tuple[JobKind, ...] = ("forget", "poll", "trace", "samples")


@dataclass
class RunUpdate:
    """What changed in a run folder since the last poll."""
    run_id: int
    rows: MetricsRows | None         # new rows (.reset: start over); None when the folder is gone
    evals: list[dict]                # every row of eval.csv
    info: dict                       # run.json
    settings: dict                   # the model's settings (run.json, else the checkpoint's)
    snapshot: Snapshot | None = None  # when snapshot.npz changed
    checkpoint_mtime: int = 0        # ns; 0 while there is no checkpoint
    error: str = ""                  # why the checkpoint cannot be read, if it cannot
    gone: bool = False               # the run folder no longer exists (deleted, unmounted)


@dataclass
class ModelResult:
    """Samples or a glimpse trace from a run's checkpoint."""
    run_id: int
    kind: ModelKind
    step: int = 0                    # the checkpoint's training step
    images: np.ndarray | None = None  # samples: (N, C, H, W) in [0, 1]
    trace: GlimpseTrace | None = None  # trace: of the fixed test examples
    seed: int = 0
    error: str = ""                  # why there is no result (a one-line message)
    note: str = ""                   # trace: where its examples came from, when not the run's own data


@dataclass
class CompareJob:
    """A request to the loader; a failed one is the subject of the messages.Failure reported."""
    kind: JobKind
    run_id: int
    folder: Path
    seed: int = 0
    count: int = 64


class _Key(NamedTuple):
    """A pending job's key: the newest job of a kind and run replaces the older one."""
    kind: JobKind
    run_id: int


class _Loaded(NamedTuple):
    """A run's checkpoint as the loader keeps it."""
    mtime: int                       # ns: reloaded when the file changes
    model: DRAW                      # on the CPU, in eval mode
    ckpt: dict                       # its model_config, dataset, data_settings and step (not the weights)


class CompareLoader(JobThread):
    """A job that fails unexpectedly is reported through `failed` (a messages.Failure whose
    subject is its CompareJob); a checkpoint that cannot be used is a ModelResult's error."""

    polled = Signal(object)          # RunUpdate
    loaded = Signal(object)          # ModelResult

    def __init__(self):
        super().__init__("draw-gui compare loader")   # pending jobs: {_Key: CompareJob}
        self._readers: dict[int, RunReader] = {}      # touched only in the loader thread
        self._models: dict[int, _Loaded] = {}
        self._examples: dict[str, tuple[np.ndarray, str]] = {}  # data settings -> example images, note
                                                                # (loading MNIST takes a while)

    # ---- GUI thread --------------------------------------------------------------------------
    def poll(self, run_id: int, folder: Path) -> None:
        self._submit(CompareJob("poll", run_id, Path(folder)))

    def request_samples(self, run_id: int, folder: Path, seed: int, count: int) -> None:
        self._submit(CompareJob("samples", run_id, Path(folder), seed=int(seed), count=int(count)))

    def request_trace(self, run_id: int, folder: Path) -> None:
        self._submit(CompareJob("trace", run_id, Path(folder)))

    def forget(self, run_id: int) -> None:
        """Drop a removed run's pending requests, then its reader and its loaded model."""
        with self._lock:
            for key in [k for k in self._pending if k.run_id == run_id]:
                del self._pending[key]
        self._submit(CompareJob("forget", run_id, Path()))

    def _submit(self, request: CompareJob) -> None:
        with self._lock:
            self._pending[_Key(request.kind, request.run_id)] = request
            self._schedule()

    # ---- loader thread -------------------------------------------------------------------------
    def _take(self) -> CompareJob | None:
        with self._lock:
            return self._pop_next(KINDS, kind_of=lambda key: key.kind)

    @Slot()
    def _work(self) -> None:
        while (job := self._take()) is not None:
            try:
                if job.kind == "forget":
                    self._readers.pop(job.run_id, None)
                    self._models.pop(job.run_id, None)
                elif job.kind == "poll":
                    self.polled.emit(self._poll(job))
                else:
                    self.loaded.emit(self._model_job(job))
            except Exception as e:  # noqa: BLE001 - one bad run must not end the thread for the others
                self.report_failure(e, subject=job)

    def _poll(self, job: CompareJob) -> RunUpdate:
        from core.compare import model_settings
        from core.runfolder import RunReader
        if not job.folder.is_dir():   # deleted or unmounted: said in the run's row, polled again later
            self._readers.pop(job.run_id, None)
            return RunUpdate(job.run_id, None, [], {}, {}, gone=True)
        reader = self._readers.get(job.run_id)
        if reader is None:
            reader = self._readers[job.run_id] = RunReader(job.folder)
        info = reader.info()
        try:
            mtime = reader.checkpoint_path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        snapshot = reader.new_snapshot()
        update = RunUpdate(job.run_id, reader.new_metrics(), reader.evals(), info, {},
                           None if snapshot is None else Snapshot(*snapshot), mtime)
        update.settings = model_settings(info, None)
        if not update.settings and mtime:      # run.json says nothing of the model: ask the checkpoint
            try:   # loaded once: a model's settings do not change when its checkpoint does
                loaded = self._models.get(job.run_id) or self._model(job)
                update.settings = dict(loaded.ckpt["model_config"])
            except Exception as e:  # noqa: BLE001 - reported in the run's row, the curves still show
                update.error = str(e)
        return update

    def _model(self, job: CompareJob) -> _Loaded:
        """The run's checkpoint, loaded again only when it changed."""
        from core.checkpoint import load_model
        path = job.folder / CHECKPOINT_NAME
        mtime = path.stat().st_mtime_ns if path.exists() else 0
        loaded = self._models.get(job.run_id)
        if loaded is None or loaded.mtime != mtime:
            model, ckpt, _ = load_model(path, "cpu")
            keep = ("model_config", "dataset", "data_settings", "step")
            ckpt = {k: ckpt.get(k) for k in keep}  # not the weights twice
            loaded = self._models[job.run_id] = _Loaded(mtime, model, ckpt)
        return loaded

    def _model_job(self, job: CompareJob) -> ModelResult:
        from core.checkpoint import CheckpointError
        if not (job.folder / CHECKPOINT_NAME).exists():
            return ModelResult(job.run_id, job.kind, error="no checkpoint.pt yet (it is written at the first save)")
        try:
            loaded = self._model(job)
        except CheckpointError as e:
            return ModelResult(job.run_id, job.kind, error=str(e))
        from core import compare
        step = int(loaded.ckpt.get("step") or 0)
        if job.kind == "samples":      # (both run the model under torch.inference_mode)
            images = compare.prior_samples(loaded.model, job.seed, job.count)
            return ModelResult(job.run_id, "samples", step, images=images, seed=job.seed)
        images, note = self._example_images(loaded.ckpt)
        trace = compare.example_trace(loaded.model, images)
        return ModelResult(job.run_id, "trace", step, trace=trace, note=note)

    def _example_images(self, ckpt: dict) -> tuple[np.ndarray, str]:
        """The run's first test examples, and a note when they are not from its own data: an MNIST
        run whose data set is not on this machine (a shipped model) gets the embedded sample's,
        the same first MNIST test digits; a two-digit MNIST run, two-digit images made from them."""
        from core.checkpoint import data_settings
        key = repr((ckpt.get("dataset"), sorted(data_settings(ckpt).items())))
        if key not in self._examples:
            from core.compare import EXAMPLES, example_images
            from core.data import Batches, DataUnavailable
            from draw_gui.resources import embedded_stand_in
            try:
                self._examples[key] = example_images(ckpt), ""
            except DataUnavailable:
                stand_in = embedded_stand_in(ckpt.get("dataset"))
                if stand_in is None:
                    raise
                note = (" · test images made from the embedded MNIST sample" if stand_in.name == "two-digit-mnist"
                        else " · test digits of the embedded MNIST sample")
                self._examples[key] = Batches(stand_in, 1).examples(EXAMPLES).numpy(), note
        return self._examples[key]
