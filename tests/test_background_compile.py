"""The window trains at once and switches to a compiled step built in another process
(core.background_compile): never a first step that stands still for the compiler."""
from __future__ import annotations

import os
import threading
import time

import pytest
import torch

import core.background_compile as bc
from core.config import DrawConfig
from tests.test_window_first_hour import SMALL

TINY = DrawConfig(glimpses=3, enc_size=16, dec_size=16, z_size=4).to_dict()


class FakeJob:
    """A background compilation the test finishes: poll() is None until `finish` is set."""
    made: list = []

    def __init__(self, model_config, batch_size, threads, precision="fp32"):
        self.args = (model_config, batch_size, threads, precision)
        self.finish = threading.Event()
        self.result, self.error, self.seconds, self.cancelled = True, None, 12.0, False
        FakeJob.made.append(self)

    def poll(self):
        return self.result if self.finish.is_set() else None

    def cancel(self):
        self.cancelled = True


@pytest.fixture
def fake_jobs(monkeypatch):
    monkeypatch.delenv("DRAW_GUI_NO_BACKGROUND_COMPILE", raising=False)
    monkeypatch.setattr(bc, "BackgroundCompile", FakeJob)
    # compile_glimpse "compiles" to the plain function: the switch is tested, not inductor
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)
    FakeJob.made = []
    return FakeJob.made


def start(qtbot, w, mnist_dir, **values):
    messages = []
    w.statusBar().messageChanged.connect(messages.append)
    w.config_panel.set_values({"data_dir": str(mnist_dir), **SMALL, **values})
    w.start_button.click()
    qtbot.waitUntil(lambda: w.state == "running" and w.run_info is not None, timeout=30000)
    return messages


def trained_steps(w) -> int:
    return w.worker._trainer.step


def test_a_long_run_trains_at_once_then_switches_to_the_step_compiled_in_the_background(qtbot, new_window, mnist_dir,
                                                                                         fake_jobs, monkeypatch):
    import threading

    import torch._dynamo

    from core.model import DRAW
    compiles, compile_glimpse = [], DRAW.compile_glimpse

    def seen(model, *args, **kwargs):   # torch's settings are the calling thread's own
        compiles.append((threading.current_thread() is threading.main_thread(),
                         torch._dynamo.config.run_gc_after_compile))
        compile_glimpse(model, *args, **kwargs)
    monkeypatch.setattr(DRAW, "compile_glimpse", seen)
    w = new_window()
    messages = start(qtbot, w, mnist_dir)
    qtbot.waitUntil(lambda: len(fake_jobs) == 1, timeout=10000)
    job = fake_jobs[0]
    model_config, batch, threads, precision = job.args
    assert (model_config["glimpses"], model_config["enc_size"], batch, threads, precision) == (4, 32, 32, 1, "fp32")
    # Training does not wait for the compiler: steps go on while the job builds
    qtbot.waitUntil(lambda: trained_steps(w) >= 3, timeout=30000)
    assert not w.worker._trainer.model.compiled
    assert w.device_label.text() == "cpu · 1 thread · compiling…"
    assert "compiling a faster step in the background…" in messages
    job.finish.set()
    qtbot.waitUntil(lambda: w.device_label.text() == "cpu · 1 thread · compiled", timeout=30000)
    assert w.worker._trainer.model.compiled
    # in the training thread, without torch.compile's own collection after compiling (gui_gc.py)
    assert compiles == [(False, False)]
    switched = [m for m in messages if m == "faster step compiled in 12 s; switching to it"]
    runs = [m for m in messages if m.startswith("training on the compiled step since step ")]
    assert switched and runs, messages
    before = trained_steps(w)
    qtbot.waitUntil(lambda: trained_steps(w) > before + 2, timeout=30000)   # and it trains compiled
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)


def test_a_failed_compilation_is_said_and_training_goes_on_plain(qtbot, new_window, mnist_dir, fake_jobs, caplog):
    w = new_window()
    messages = start(qtbot, w, mnist_dir)
    qtbot.waitUntil(lambda: len(fake_jobs) == 1, timeout=10000)
    fake_jobs[0].result, fake_jobs[0].error = False, "no C++ compiler found"
    fake_jobs[0].finish.set()
    qtbot.waitUntil(lambda: any("could not compile the training step (no C++ compiler found); training goes on "
                                "with the plain step" in m for m in messages), timeout=30000)
    assert w.device_label.text() == "cpu · 1 thread"
    assert "background compilation failed after 12 s: no C++ compiler found" in caplog.text   # in the log too
    before = trained_steps(w)
    qtbot.waitUntil(lambda: trained_steps(w) > before + 2, timeout=30000)
    assert not w.worker._trainer.model.compiled
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)


def test_short_runs_and_the_menu_switched_off_never_compile_and_stop_cancels(qtbot, new_window, mnist_dir, fake_jobs):
    w = new_window()
    start(qtbot, w, mnist_dir, epochs=1)            # ~250 steps: the compiler would not pay back
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    assert fake_jobs == []
    w.background_compile_action.trigger()          # Run > Compile the training step in the background: off
    assert w.settings.get("background_compile") is False
    start(qtbot, w, mnist_dir)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    assert fake_jobs == []
    w.background_compile_action.trigger()          # on again: a long run starts a job; Stop cancels it
    start(qtbot, w, mnist_dir)
    qtbot.waitUntil(lambda: len(fake_jobs) == 1, timeout=10000)
    qtbot.waitUntil(lambda: w.device_label.text() == "cpu · 1 thread · compiling…", timeout=10000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    assert fake_jobs[0].cancelled
    assert w.device_label.text() == "cpu · 1 thread"               # not still "compiling…"


def test_the_child_names_a_bad_configuration_and_cancel_leaves_nothing_running(tmp_path, monkeypatch):
    # started from a folder with a "core" package of its own, the child still imports draw-gui's
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("raise ImportError('the user folder core')\n")
    monkeypatch.chdir(tmp_path)
    job = bc.BackgroundCompile(dict(TINY, glimpses=0), batch_size=8, threads=1)
    deadline = time.monotonic() + 60
    while job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.poll() is False and job.error == "core.config.ConfigError: glimpses must be at least 1, got 0"
    job = bc.BackgroundCompile(TINY, batch_size=8, threads=1)
    pid = job._proc.pid
    job.cancel()
    assert job.poll() is False and job.error == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.slow
def test_the_child_fills_the_cache_so_the_training_threads_compile_takes_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    job = bc.BackgroundCompile(TINY, batch_size=8, threads=1)
    while job.poll() is None:
        time.sleep(0.2)
    assert job.poll() is True, job.error
    from core.model import DRAW
    from core.train import TrainConfig, make_optimizer, train_step
    torch.set_num_threads(1)
    model = DRAW(DrawConfig.from_dict(TINY))
    model.compile_glimpse()
    cfg = TrainConfig(batch_size=8)
    started = time.perf_counter()
    train_step(model, make_optimizer(model, cfg), torch.zeros(8, 1, 28, 28), cfg)
    first_step = time.perf_counter() - started
    assert first_step < job.seconds / 4, (first_step, job.seconds)
