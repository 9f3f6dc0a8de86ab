"""core.threads: the training threads are chosen by timing steps, and chosen again as the load changes."""
from __future__ import annotations

import pytest
import torch

from core import threads as thread_choice
from core.threads import FIRST_PROBE_S, PROBE_EVERY_S, PROBE_STEPS, ThreadTuner


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def one_thread_after():
    yield
    torch.set_num_threads(1)


def run(tuner: ThreadTuner, clock: Clock, seconds_for, steps: int) -> list[int]:
    """`steps` training steps, each taking seconds_for(threads); the thread counts they ran with."""
    used = []
    for _ in range(steps):
        threads = torch.get_num_threads()
        used.append(threads)
        clock.now += seconds_for(threads)
        tuner.after_step(seconds_for(threads))
    return used


def test_two_threads_are_kept_when_they_train_faster():
    clock = Clock()
    tuner = ThreadTuner(candidates=(1, 2), current=1, clock=clock)
    used = run(tuner, clock, {1: 0.5, 2: 0.3}.get, steps=int(FIRST_PROBE_S / 0.5) + 2 + 2 * PROBE_STEPS + 1)
    assert used[0] == 1 and 2 in used
    assert tuner.current == 2 and torch.get_num_threads() == 2
    assert tuner.choices[-1][1] == {1: 0.5, 2: 0.3}
    assert tuner.describe() == "2 threads (1: 0.50 s, 2: 0.30 s a step)"


def test_a_busy_core_sends_it_back_to_one_thread_and_a_losing_probe_backs_off():
    clock = Clock()
    tuner = ThreadTuner(candidates=(1, 2), current=2, clock=clock)
    busy = {1: 0.5, 2: 1.5}.get        # the other core is busy: two spinning threads collapse
    run(tuner, clock, busy, steps=200)
    assert tuner.current == 1 and torch.get_num_threads() == 1
    first_interval = tuner.probe_every_s
    run(tuner, clock, busy, steps=2000)   # later probes lose too: they come further apart
    assert tuner.probe_every_s > first_interval and tuner.probe_every_s <= thread_choice.MAX_PROBE_EVERY_S
    # What the probes cost: the steps run at 2 threads after the first choice are few
    clock2 = Clock()
    tuner2 = ThreadTuner(candidates=(1, 2), current=1, clock=clock2)
    used = run(tuner2, clock2, busy, steps=3000)
    assert used.count(2) <= 12 * (PROBE_STEPS + 1)


def test_the_load_changing_changes_the_choice():
    clock = Clock()
    tuner = ThreadTuner(candidates=(1, 2), current=1, clock=clock)
    run(tuner, clock, {1: 0.5, 2: 0.3}.get, steps=100)
    assert tuner.current == 2
    run(tuner, clock, {1: 0.5, 2: 1.5}.get, steps=int(2 * PROBE_EVERY_S / 0.5))   # something else starts
    assert tuner.current == 1


def test_for_machine(monkeypatch):
    monkeypatch.delenv("DRAW_GUI_THREADS", raising=False)
    assert ThreadTuner.for_machine(cores=1) is None
    assert ThreadTuner.for_machine(cores=2).candidates == (1, 2)
    assert ThreadTuner.for_machine(cores=16).candidates == (1, 4, 8, 16)
    monkeypatch.setenv("DRAW_GUI_THREADS", "1")
    assert ThreadTuner.for_machine(cores=2) is None


def test_runs_built_without_a_thread_count_tune_it_and_a_fixed_count_stays(monkeypatch, tmp_path):
    from core.config import DrawConfig, TrainConfig
    from core.run import RunSettings, build_run
    from draw_gui.resources import embedded_mnist
    monkeypatch.delenv("DRAW_GUI_THREADS", raising=False)
    monkeypatch.setattr(thread_choice.os, "cpu_count", lambda: 2)
    small = DrawConfig(glimpses=2, enc_size=16, dec_size=16, z_size=4)
    tiny = TrainConfig(batch_size=8, max_steps=3, device="cpu")

    def built(threads):
        return build_run(RunSettings(model=small, train=tiny, dataset="mnist", threads=threads, download=False,
                                     data_dir=str(tmp_path), fallback=lambda name: embedded_mnist()))
    tuned = built(None).trainer
    assert tuned.thread_tuner is not None and tuned.thread_tuner.candidates == (1, 2)
    steps = []
    tuned.thread_tuner.after_step = steps.append        # the loop times every step for it
    assert tuned.run() == "finished" and len(steps) == 3 and all(0 < s < 60 for s in steps)
    assert built(1).trainer.thread_tuner is None       # --threads 1: what was asked for


def test_the_window_trains_with_a_fixed_thread_count(qtbot, tmp_path, monkeypatch):
    """The GUI thread needs the other core: a run started in the window is not tuned."""
    import urllib.request

    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network is unreachable")))
    monkeypatch.delenv("DRAW_GUI_THREADS", raising=False)
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.show()
    w.config_panel.set_values({**w.config_panel.values(), "data_dir": str(tmp_path), "glimpses": 2, "hidden": 16,
                               "z_size": 4, "batch_size": 8})
    w.start_button.click()
    qtbot.waitUntil(lambda: w.state == "running", timeout=60000)
    from core.train import default_threads
    assert w.worker._trainer.thread_tuner is None and w.run_info.threads == default_threads("cpu")
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    w.close()
