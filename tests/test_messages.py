"""Typed messages between threads and widgets (draw_gui.workers.messages): run states and failure
kinds are enums, every background worker reports failures one way (a Failure through `failed`),
follow mode needs only the window's public API, and no module reaches into another's private names."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu

from core.config import DrawConfig, TrainConfig
from core.loop import History
from core.runfolder import RunFolder
from core.trace import GlimpseTrace
from draw_gui.follow import follower as run_follower
from draw_gui.follow import mode as follow_mode
from draw_gui.workers.job_thread import JobThread
from draw_gui.workers.messages import (Failure, FailureKind, RunState, Snapshot, StatusLine, failure_from,
                                      failure_kind)
from draw_gui.workers.training import RunSetup, TrainingWorker
from tests.conftest import REPO
from tests.helpers import square_folder

TINY = dict(read_size=2, write_size=3, glimpses=3, z_size=4, enc_size=16, dec_size=16)


# ---- the enums -----------------------------------------------------------------------------------
def test_states_and_kinds_are_their_strings_in_comparisons_text_and_json():
    assert RunState.RUNNING == "running" and RunState("paused") is RunState.PAUSED
    assert f"{RunState.FOLLOWING}" == "following" and str(FailureKind.NAN) == "nan"
    assert json.loads(json.dumps({"status": RunState.FINISHED})) == {"status": "finished"}
    with pytest.raises(ValueError):
        RunState("resting")


def test_failure_from_classifies_like_the_worker_did_and_keeps_tracebacks_out_of_the_message():
    from core.checkpoint import CheckpointError
    from core.config import ConfigError
    from core.data import DataUnavailable
    from core.loop import NonFiniteLoss
    cases = [(DataUnavailable("no MNIST"), FailureKind.DATA),
             (CheckpointError("x.pt is damaged"), FailureKind.CHECKPOINT),
             (ConfigError("read_size > 28"), FailureKind.CONFIG), (ValueError("bad"), FailureKind.CONFIG),
             (NonFiniteLoss("loss is nan"), FailureKind.NAN), (KeyError("model"), FailureKind.ERROR)]
    for error, kind in cases:
        try:
            raise error
        except Exception as e:  # noqa: BLE001
            failure = failure_from(e, "test", subject=7)
        assert failure_kind(error) is kind and failure.kind is kind and failure.subject == 7
        assert "Traceback" not in failure.message
        assert bool(failure.details) == (kind is FailureKind.ERROR)
    assert failure.message == "KeyError: 'model'" and "Traceback" in failure.details
    assert "raise error" in failure.details
    saved = failure_from(OSError(28, "No space left"), kind=FailureKind.SAVE, message="Could not save")
    assert saved.kind is FailureKind.SAVE and saved.message == "Could not save"


# ---- the training worker -------------------------------------------------------------------------
def _record(worker):
    states, failures = [], []
    worker.state_changed.connect(states.append)
    worker.failed.connect(failures.append)
    return states, failures


def test_every_state_the_worker_emits_is_a_run_state(qtbot, tmp_path):
    """The worker runs in the test's thread here: start() builds the run and trains it to the end."""
    folder = square_folder(tmp_path / "squares", n=24, size=16)
    worker = TrainingWorker()
    states, failures = _record(worker)
    setup = RunSetup(model=DrawConfig(**TINY), train=TrainConfig(batch_size=10, epochs=1, device="cpu"),
                     dataset="folder", folder=str(folder), image_size=16, out=str(tmp_path / "run"))
    worker.start(setup)
    assert failures == [] and states == [RunState.LOADING, RunState.RUNNING, RunState.FINISHED]
    assert all(type(s) is RunState for s in states)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "finished"

    (tmp_path / "a file").write_text("not a folder")
    worker.save(str(tmp_path / "a file" / "x.pt"))   # no loop runs: saved (or not) at once, in this thread
    assert failures[-1].kind is FailureKind.SAVE and "Could not save" in failures[-1].message
    failures.clear()

    missing = RunSetup(model=DrawConfig(**TINY), train=TrainConfig(batch_size=10, epochs=1, device="cpu"),
                       dataset="folder", folder=str(tmp_path / "nowhere"), image_size=16)
    states.clear()
    worker.newest = missing.token = 1
    worker.start(missing)
    assert states == [RunState.LOADING, RunState.FAILED] and all(type(s) is RunState for s in states)
    (failure,) = failures
    assert isinstance(failure, Failure) and type(failure.kind) is FailureKind and failure.source == "training"
    assert "nowhere" in failure.message and "Traceback" not in failure.message


# ---- JobThreads ----------------------------------------------------------------------------------
class _Failing(JobThread):
    """A JobThread whose every job raises."""

    def __init__(self):
        super().__init__("draw-gui failing")

    def submit(self, key, job):
        with self._lock:
            self._pending[key] = job
            self._schedule()

    def _work(self):
        while True:
            with self._lock:
                job = self._pop_next(list(self._pending))
            if job is None:
                return
            try:
                job()
            except Exception as e:  # noqa: BLE001
                self.report_failure(e, subject=job)


def _collect(signal) -> list:
    """What a worker thread's signal sends, gathered in the order sent. (qtbot.waitSignal connects a
    plain function, which runs in the emitting thread: a signal sent between waitSignal starting
    its timer and entering its event loop quits the loop before it runs, and the wait never ends.)"""
    sent = []
    signal.connect(sent.append)
    return sent


def test_a_job_thread_failure_reaches_its_failed_signal_with_kind_and_message(qtbot):
    worker = _Failing()
    failures = _collect(worker.failed)
    try:
        def boom():
            raise RuntimeError("the job broke")

        def bad_value():
            raise ValueError("z_size must be positive")
        worker.submit("a", boom)
        qtbot.waitUntil(lambda: len(failures) == 1, timeout=5000)
        failure = failures[0]
        assert isinstance(failure, Failure) and failure.kind is FailureKind.ERROR and failure.subject is boom
        assert failure.message == "RuntimeError: the job broke" and "Traceback" in failure.details
        assert failure.source == "failing"
        worker.submit("b", bad_value)
        qtbot.waitUntil(lambda: len(failures) == 2, timeout=5000)
        assert failures[1].kind is FailureKind.CONFIG and failures[1].message == "z_size must be positive"
    finally:
        assert worker.shutdown()


def test_a_failed_decode_reaches_the_decoders_failed_signal(qtbot):
    from core.model import DRAW
    from draw_gui.latent.decoder import DecodeKind, DecodeRequest, LatentDecoder
    from draw_gui.workers.training import ModelWeights
    config = DrawConfig(image_shape=(1, 8, 8), **TINY)
    weights = ModelWeights(config=config, state={k: v.clone() for k, v in DRAW(config).state_dict().items()},
                           step=3, examples=None)
    decoder = LatentDecoder()
    failures = _collect(decoder.failed)
    try:
        decoder.set_weights(weights)
        request = DecodeRequest("directions", method="principal")   # needs examples: there are none
        assert request.kind is DecodeKind.DIRECTIONS
        decoder.submit(request)
        qtbot.waitUntil(lambda: len(failures) == 1, timeout=10000)
        (failure,) = failures
        assert failure.kind is FailureKind.CONFIG and failure.subject is request
        assert failure.source == "latent decoder" and "principal directions" in failure.message
    finally:
        decoder.shutdown()
    with pytest.raises(ValueError):
        DecodeRequest("sculpture")


def test_a_compared_run_that_cannot_be_polled_says_so_in_its_row_never_on_the_terminal(qtbot, tmp_path, monkeypatch,
                                                                                         capfd):
    from draw_gui.compare.loader import CompareJob, CompareLoader
    from draw_gui.compare.view import CompareView
    run = RunFolder(tmp_path / "run")
    run.write_info({"status": "running", "step": 0})

    def broken(self, job):
        raise RuntimeError("the disk said no")
    monkeypatch.setattr(CompareLoader, "_poll", broken)
    view = CompareView()
    qtbot.addWidget(view)
    failures = []
    view.failed.connect(failures.append)
    run_id = view.add_run(tmp_path / "run")
    qtbot.waitUntil(lambda: bool(failures) and not view.busy(), timeout=10000)
    assert isinstance(failures[0].subject, CompareJob) and failures[0].subject.kind == "poll"
    assert failures[0].kind is FailureKind.ERROR and failures[0].source == "compare loader"
    assert "the disk said no" in view.runs[run_id].row.summary.text()
    view.shutdown()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "the disk said no" not in out + err


# ---- follow mode needs only the window's public API -----------------------------------------------
class _Views:
    """Stand-ins for the views follow mode fills: they record what they are given."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.calls.append((name, args)) or {}


class _PublicOnlyWindow(QObject):
    """FollowHost and nothing else: a QObject (FollowMode is its child) without the window's widgets,
    status bar or private names; setting any other attribute fails."""

    _public = {"settings", "follow", "config_panel", "loss_plot", "glimpse_view", "latent_view", "follow_recent_menu"}

    def __init__(self, settings):
        super().__init__()
        self.__dict__.update(settings=settings, follow=None, config_panel=_Views(), loss_plot=_Views(),
                             glimpse_view=_Views(), latent_view=_Views(), follow_recent_menu=QMenu(),
                             states=[RunState.IDLE], statuses=[], messages=[], errors=[], refresh=[], cleared=0)

    def __setattr__(self, name, value):
        assert name in self._public, f"follow mode set window.{name}"
        self.__dict__[name] = value

    @property
    def state(self):
        return self.states[-1]

    def set_state(self, state):
        self.states.append(state)

    def follow_run(self, path=None):
        return follow_mode.follow(self, path)

    def show_error(self, title, message):
        self.errors.append((title, message))

    def show_message(self, text, timeout_ms=0):
        self.messages.append(text)

    def show_run_status(self, status):
        self.statuses.append(status)

    def clear_run_status(self):
        self.__dict__["cleared"] += 1

    def set_glimpse_refresh(self, source):
        self.refresh.append(source)


def _protocol_names() -> set[str]:
    names = set(follow_mode.FollowHost.__annotations__)
    names |= {n for n in vars(follow_mode.FollowHost) if not n.startswith("_")}
    return names


def test_the_stub_and_the_window_have_every_name_of_the_follow_host_protocol(qtbot, tmp_path):
    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    names = _protocol_names()
    assert {"state", "set_state", "show_run_status", "clear_run_status", "set_glimpse_refresh"} <= names
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    assert all(hasattr(w, n) for n in names), sorted(n for n in names if not hasattr(w, n))
    stub = _PublicOnlyWindow(None)
    assert all(hasattr(stub, n) for n in names)
    w.shutdown()


def _trace(T=3, B=2):
    canvases = np.full((T, B, 1, 8, 8), 0.5, dtype=np.float32)
    read = np.tile(np.array([4.0, 4.0, 1.0, 0.5, 1.0], dtype=np.float32), (T, B, 1))
    return GlimpseTrace(canvases=canvases, read=read, write=read.copy(), read_size=2, write_size=3,
                        images=np.zeros((B, 1, 8, 8), dtype=np.float32), kl_steps=np.ones(T, dtype=np.float32))


def test_follow_mode_works_with_a_window_that_has_only_the_public_api(qtbot, tmp_path, monkeypatch):
    from draw_gui.window.settings import Settings
    monkeypatch.setattr(run_follower, "POLL_INTERVAL_MS", 50)
    folder = tmp_path / "run"
    run = RunFolder(folder)
    run.write_info({"status": "running", "step": 5, "total_steps": 100, "steps_per_epoch": 50, "host": "gpu-server"})
    h = History()
    for i in range(5):
        h.append(step=i + 1, epoch=0, loss=200.0 - i, recon=180.0 - i, kl=20.0, time=0.1 * i)
    run.write_metrics(h)
    run.write_snapshot(_trace(), step=5)

    w = _PublicOnlyWindow(Settings(tmp_path / "settings.json"))
    assert w.follow_run(str(folder))
    assert w.state is RunState.FOLLOWING and w.follow is not None and w.refresh[-1] == w.follow.follower.poll_now
    qtbot.waitUntil(lambda: any(name == "set_trace" and args[0] is not None for name, args in w.glimpse_view.calls),
                    timeout=10000)
    qtbot.waitUntil(lambda: "step 5" in w.statuses[-1].title, timeout=5000)
    status = w.statuses[-1]
    assert isinstance(status, StatusLine) and "following run" in status.title and "running" in status.title
    assert "gpu-server" in status.where and status.step.startswith("step 5 / 100") and status.banner
    assert status.epoch_fraction == pytest.approx(5 / 50) and not status.warning
    assert any(name == "append" for name, _ in w.loss_plot.calls)
    assert w.settings.get("recent_runs") == [str(folder.resolve())] and w.follow_recent_menu.actions()
    # a second follow while one runs, and refusing while training, go through the same API
    w.states.append(RunState.RUNNING)
    assert not w.follow_run(str(folder)) and w.errors[-1][0] == "Follow run folder"
    w.states.append(RunState.FOLLOWING)
    follow_mode.stop(w)
    assert w.follow is None and w.state is RunState.IDLE   # given back: what it was before following
    assert w.cleared == 1 and w.refresh[-1] is None


def test_no_module_uses_another_objects_private_names():
    """`other._name` (not self's, not cls's) in draw_gui."""
    allowed = {"_replace", "_asdict", "_fields", "_make"}          # namedtuple API
    known: set[tuple[str, str]] = set()
    found = []
    for path in sorted((REPO / "draw_gui").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for m in re.finditer(r"(\w+)\.(_[a-z]\w*)", code):
                if m.group(1) in ("self", "cls") or m.group(2) in allowed or (rel, m.group(2)) in known:
                    continue
                found.append(f"{rel}:{n}: {m.group(0)}")
    assert found == []


def test_snapshots_are_named_tuples():
    trace = _trace()
    s = Snapshot(7, trace)
    step, t = s
    assert s.step == step == 7 and s.trace is t is trace
