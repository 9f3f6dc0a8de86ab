"""The messages background workers and widgets send each other, typed: the states of a run, the
kinds of failure and the Failure every background worker reports, a glimpse snapshot with its step,
and what the window's title and status bar say about a run.

Plain Python (no Qt, no torch): the workers, the window, follow mode and the tests all import it.
The enums are str-valued, so they compare equal to the strings run.json and older code use
("running" == RunState.RUNNING) and print as those strings.
"""
from __future__ import annotations

import enum
import sys
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

if TYPE_CHECKING:
    from core.trace import GlimpseTrace


class TextEnum(str, enum.Enum):
    """A str-valued enum that prints as its value on every Python (f-strings included)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class RunState(TextEnum):
    """What the window's run is doing. The TrainingWorker sends LOADING..FAILED (state_changed);
    IDLE and FOLLOWING are the window's own. The values are run.json's statuses where they meet."""
    IDLE = "idle"              # nothing trains: no model, or one shown read-only
    LOADING = "loading"        # the worker builds the run (data, model, checkpoint)
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"
    FOLLOWING = "following"    # the window shows a run folder another process writes


TRAINING_STATES = (RunState.LOADING, RunState.RUNNING, RunState.PAUSED)  # a run of the window's own is under way
BUSY_STATES = TRAINING_STATES + (RunState.FOLLOWING,)                    # the Run panel is locked
ENDED_STATES = (RunState.IDLE, RunState.STOPPED, RunState.FINISHED, RunState.FAILED)


class FailureKind(TextEnum):
    """Why a background job failed: it decides how the user is told (and what is kept)."""
    DATA = "data"              # the data set is not there (the window offers to choose its folder)
    CHECKPOINT = "checkpoint"  # a checkpoint that cannot be used
    NAN = "nan"                # the loss is not a number: training paused at the last good state
    SAVE = "save"              # a checkpoint or run folder could not be written
    CONFIG = "config"          # settings that cannot work (ConfigError, other ValueErrors)
    ERROR = "error"            # anything else: a bug, reported with its traceback


@dataclass(frozen=True)
class Failure:
    """A background job's failure, as the user is told it: every worker reports its failures as
    one of these, through its `failed` signal (job_thread.BackgroundWorker.report_failure)."""
    kind: FailureKind
    message: str               # what the user reads: a sentence or two, never a traceback
    details: str = ""          # the traceback of an unexpected error (kind ERROR), for a bug report
    source: str = ""           # the worker that failed: "training", "latent decoder", "compare loader"
    subject: Any = None        # what the job was about, as its worker names it (compare: its request)

    def text(self) -> str:
        """The message with its details, for a tooltip or a log."""
        return f"{self.message}\n\n{self.details}" if self.details else self.message


def _instance_of(e: BaseException, module: str, name: str) -> bool:
    """isinstance(e, module.name), without importing `module` (torch, torchvision) to ask: an
    exception of a module nobody imported cannot have been raised."""
    cls = getattr(sys.modules.get(module), name, None)
    return cls is not None and isinstance(e, cls)


def failure_kind(e: BaseException) -> FailureKind:
    """The kind of failure an exception stands for."""
    if _instance_of(e, "core.loop", "NonFiniteLoss"):
        return FailureKind.NAN
    if _instance_of(e, "core.data", "DataUnavailable"):
        return FailureKind.DATA
    if _instance_of(e, "core.checkpoint", "CheckpointError"):
        return FailureKind.CHECKPOINT
    if isinstance(e, ValueError):   # core.config.ConfigError is one
        return FailureKind.CONFIG
    return FailureKind.ERROR


def os_reason(e: BaseException) -> str:
    """Why a file could not be written, in words: an OSError's strerror, else the message."""
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__


def failure_from(e: BaseException, source: str = "", subject: Any = None, kind: FailureKind | None = None,
                 message: str | None = None) -> Failure:
    """The one way an exception in a background worker becomes what the user is told: its kind
    (failure_kind, unless given), its message (str(e) for the kinds that explain themselves; the
    exception's type and text for an unexpected error, its traceback in details), unless given.
    Call it in the `except` block: the traceback is the one being handled."""
    kind = failure_kind(e) if kind is None else FailureKind(kind)
    details = ""
    if kind is FailureKind.ERROR:
        details = "".join(traceback.format_exception(type(e), e, e.__traceback__, limit=4)).rstrip()
    if message is None:
        text = str(e).strip()
        message = f"{type(e).__name__}: {text}" if kind is FailureKind.ERROR or not text else text
    return Failure(kind, message, details, source, subject)


class Snapshot(NamedTuple):
    """A glimpse trace of a run's fixed test examples, with the training step it shows
    (snapshot.npz: core.runfolder.load_trace and RunReader.new_snapshot give (step, trace))."""
    step: int
    trace: GlimpseTrace


class Evaluation(TypedDict):
    """One test-set evaluation (a row of eval.csv, core.loop.History.evals): nats per image."""
    step: int
    epoch: int
    nll_bound: float
    recon: float
    kl: float


@dataclass(frozen=True)
class LoadStage:
    """What a load (Start, Continue training, opening a model) is doing now: stage `index` of
    `count`, e.g. LoadStage("reading MNIST from ~/data", 2, 4). The status bar shows both."""
    text: str
    index: int
    count: int
    token: int = 0        # the window's request this load answers (RunSetup.token)


class CompilePhase(TextEnum):
    """Where the background compilation of a window's training step is (core.background_compile)."""
    BUILDING = "building"      # a child process compiles while the plain step trains
    SWITCHING = "switching"    # built: the next step compiles from the cache (a few seconds)
    COMPILED = "compiled"      # training runs the compiled step
    FAILED = "failed"          # given up: training goes on with the plain step


@dataclass(frozen=True)
class CompileStatus:
    """The training step's compilation, as the status bar and the device field say it."""
    phase: CompilePhase
    text: str             # one status-bar line
    token: int = 0        # the window's request (RunSetup.token) of the run it is about


@dataclass(frozen=True)
class StatusLine:
    """What the window's title bar, status bar and banner say about a run shown from elsewhere
    (follow mode): MainWindow.show_run_status shows it."""
    title: str                         # the window title
    where: str = ""                    # the status bar's first field: whose run, where it runs
    where_tip: str = ""
    step: str = ""                     # "step 1,234 / 5,000 · epoch 2/5"
    epoch_fraction: float | None = None  # the epoch bar, 0..1; None leaves it as it is
    rate: str = ""                     # "running · 812 img/s · updated 4 s ago"
    rate_tip: str = ""
    warning: bool = False              # `rate` is a warning (no update for long): shown in amber
    banner: str | None = None          # the note above the tabs; None hides it
