"""A run's history (issue 17, training replayed): bounded, in step order, from the stored snapshots."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import history as history_module
from core.history import (HISTORY_NAME, MAX_ENTRIES, RECORD_STEPS, TrainingHistory, fixed_samples, replay_frames,
                          sample_frames)
from core.live_run import LiveRun, snapshot_trace
from core.runfolder import RunFolder
from tests.test_follow import _tiny_trainer

REPO = Path(__file__).resolve().parents[1]


def test_a_run_records_its_first_steps_and_the_frames_replay_them_in_order(tmp_path):
    trainer, batches = _tiny_trainer(steps=12)
    examples = batches.examples(4)
    live = LiveRun(RunFolder(tmp_path), trainer, examples, {"dataset": "tiny"}, metrics_every_s=0)
    live.start()
    traces = {}

    def on_progress(progress):
        live.on_progress(progress)
        if trainer.step in (1, 2, 5, 10):
            traces[trainer.step] = (snapshot_trace(trainer.model, examples), fixed_samples(trainer.model))
    trainer.run(on_progress=on_progress, report_interval_s=0)
    history = TrainingHistory.load(tmp_path / HISTORY_NAME)
    assert history.steps == [1, 2, 5, 10]                       # RECORD_STEPS within 12 steps
    for i, step in enumerate(history.steps):                     # each entry is that step's snapshot
        trace, samples = traces[step]
        assert np.array_equal(history.canvases[i], np.rint(trace.canvases[-1] * 255).astype(np.uint8))
        assert np.array_equal(history.samples[i], np.rint(samples * 255).astype(np.uint8))
        assert np.allclose(history.write[i], trace.write, atol=1e-2 * np.abs(trace.write).max())
    assert not np.array_equal(history.canvases[0], history.canvases[-1])   # it learnt something
    frames = replay_frames(history)
    assert len(frames) == 4 and len({f.size for f in frames}) == 1
    # the frames come from the stored entries, in order: the canvas cells hold each entry's pixels
    for i, frame in enumerate(frames):
        expected = Image.fromarray(history.canvases[i][0, 0]).resize((8 * 4, 8 * 4), Image.NEAREST)
        assert frame.size[0] > expected.size[0]
    assert [np.asarray(f).tobytes() for f in frames] != [np.asarray(frames[0]).tobytes()] * 4


@pytest.mark.parametrize("status, last", [("finished", 12), ("stopped", 12), ("failed", 10)])
def test_a_finished_or_stopped_runs_replay_ends_on_its_last_step(tmp_path, status, last):
    """The last frame is the weights the run saved, not the last scheduled step before them."""
    trainer, batches = _tiny_trainer(steps=12)
    examples = batches.examples(4)
    live = LiveRun(RunFolder(tmp_path), trainer, examples, {"dataset": "tiny"}, metrics_every_s=0)
    live.start()
    trainer.run(on_progress=live.on_progress, report_interval_s=0)
    assert TrainingHistory.load(tmp_path / HISTORY_NAME).steps == [1, 2, 5, 10]
    live.finish(status)
    history = TrainingHistory.load(tmp_path / HISTORY_NAME)
    assert history.steps[-1] == last and len(history) == (5 if last == 12 else 4)
    final = np.rint(snapshot_trace(trainer.model, examples).canvases[-1] * 255).astype(np.uint8)
    assert np.array_equal(history.canvases[-1], final) == (last == 12)
    live.finish(status)                                   # finishing twice adds nothing
    assert len(TrainingHistory.load(tmp_path / HISTORY_NAME)) == len(history)


def test_a_shipped_models_replay_ends_on_the_shipped_weights(tmp_path):
    """scripts/ship_model.py copies a run's history and, when the run ended between recorded
    steps, adds the entry for the shipped step from the same digits and noise."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("ship_model", REPO / "scripts" / "ship_model.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    trainer, batches = _tiny_trainer(steps=12)
    examples = batches.examples(4)
    live = LiveRun(RunFolder(tmp_path / "run"), trainer, examples, {"dataset": "tiny"}, metrics_every_s=0)
    live.start()
    trainer.run(on_progress=live.on_progress, report_interval_s=0)   # killed here: no finish()
    ckpt = trainer.checkpoint()
    out = tmp_path / "shipped"
    out.mkdir()
    for _ in range(2):                                                  # shipping again adds nothing
        ship.ship_history(tmp_path / "run" / HISTORY_NAME, out, ckpt, trainer.model)
        shipped = TrainingHistory.load(out / HISTORY_NAME)
        assert shipped.steps == [1, 2, 5, 10, 12]
    recorded = TrainingHistory.load(tmp_path / "run" / HISTORY_NAME)
    assert all(np.array_equal(a, b) for a, b in zip(shipped.canvases, recorded.canvases))
    final = snapshot_trace(trainer.model, examples)
    assert np.array_equal(shipped.canvases[-1], np.rint(final.canvases[-1] * 255).astype(np.uint8))
    assert np.array_equal(shipped.samples[-1], np.rint(fixed_samples(trainer.model) * 255).astype(np.uint8))
    assert not np.array_equal(shipped.samples[-1], shipped.samples[-2])


def test_the_history_stays_bounded_and_keeps_the_first_steps(monkeypatch):
    monkeypatch.setattr(history_module, "EVERY_S", 1.0)
    trainer, batches = _tiny_trainer(steps=1)
    trace = snapshot_trace(trainer.model, batches.examples(2))
    samples = fixed_samples(trainer.model, 2)
    h = TrainingHistory()
    step = 0
    for second in range(3 * MAX_ENTRIES):
        step += 7
        if h.due(step, float(second)):
            h.record(step, float(second), trace, samples)
    assert len(h) <= MAX_ENTRIES and h.steps == sorted(h.steps)
    kept_schedule = [s for s in h.steps if s in RECORD_STEPS]
    assert kept_schedule == [s for s in RECORD_STEPS if s in range(7, step + 1, 7)]   # never thinned
    assert h.steps[-1] > 0.8 * step                                                   # and it reaches the end


def test_draw_gui_history_writes_the_replay_gif(tmp_path, capsys):
    from draw_gui.cli.main import main
    trainer, batches = _tiny_trainer(steps=6)
    live = LiveRun(RunFolder(tmp_path), trainer, batches.examples(4), {"dataset": "tiny"}, metrics_every_s=0)
    live.start()
    trainer.run(on_progress=live.on_progress, report_interval_s=0)
    assert main(["history", str(tmp_path), "--out", str(tmp_path / "learning.gif")]) == 0
    gif = Image.open(tmp_path / "learning.gif")
    assert gif.n_frames == 3                                    # steps 1, 2 and 5
    assert "3 frames: steps 1 to 5" in capsys.readouterr().out


@pytest.mark.parametrize("what", ["missing", "not a history"])
def test_draw_gui_history_refuses_what_is_not_a_run_in_one_line(tmp_path, capsys, what):
    from draw_gui.cli.main import main
    target = tmp_path / "nothing"
    if what == "not a history":
        target.mkdir()
        (target / HISTORY_NAME).write_text("no")
    assert main(["history", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(target) in err[0]


def test_the_glimpses_tab_scrubs_through_a_window_runs_history(qtbot, tmp_path, mnist_dir, monkeypatch):
    """A run trained in the window: 'training history' shows its recorded steps, the slider picks
    one, and the picture is that entry's replay frame; the replay GIF has every entry."""
    from draw_gui.widgets import saving
    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.show()
    w.config_panel.set_values({**w.config_panel.values(), "data_dir": str(mnist_dir), "glimpses": 2, "hidden": 16,
                               "z_size": 4, "batch_size": 8})
    out = tmp_path / "run"
    w.start(out=str(out))
    qtbot.waitUntil(lambda: (out / HISTORY_NAME).exists() and w.run_info is not None, timeout=60000)
    # An entry is recorded at the first report past each of steps 1, 2, 5, 10, 20...; one report
    # may cover several steps on a busy machine, so the file, not the step count, says when 4 are in.
    qtbot.waitUntil(lambda: len(TrainingHistory.load(out / HISTORY_NAME)) >= 4, timeout=60000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    strip = w.glimpse_view.history
    w.glimpse_view.history_checkbox.setChecked(True)
    qtbot.waitUntil(lambda: strip.entries() >= 4, timeout=10000)
    history = TrainingHistory.load(out / HISTORY_NAME)
    assert strip.entries() == len(history) and strip.shown_step() == history.steps[-1]   # the newest
    strip.slider.setValue(0)
    first = history.steps[0]
    assert strip.shown_step() == first and strip.step_label.text().startswith(f"step {first} ")
    expected = np.asarray(replay_frames(history, per_row=8)[0])
    assert np.array_equal(np.asarray(strip.shown_frame()), expected)
    shown = strip.canvas.image()
    assert (shown.width(), shown.height()) == expected.shape[1::-1]
    # The Latent tab replays the same steps' samples from fixed noise
    w.tabs.setCurrentWidget(w.latent_view)
    w.latent_view.history_checkbox.setChecked(True)
    latent_strip = w.latent_view.history
    qtbot.waitUntil(lambda: latent_strip.entries() == len(history), timeout=10000)
    assert not w.latent_view.grid.isVisible() and latent_strip.isVisible()
    latent_strip.slider.setValue(1)
    assert latent_strip.shown_step() == history.steps[1]
    assert np.array_equal(np.asarray(latent_strip.shown_frame()), np.asarray(sample_frames(history)[1]))
    w.latent_view.history_checkbox.setChecked(False)
    assert w.latent_view.grid.isVisibleTo(w.latent_view)
    saved = tmp_path / "replay.gif"
    monkeypatch.setattr(saving, "ask_save_path", lambda *a, **k: saved)
    assert strip.save_gif() == saved and Image.open(saved).n_frames == len(history)
    w.close()


def test_a_caller_reporting_every_few_steps_still_records_each_scheduled_point():
    trainer, batches = _tiny_trainer(steps=1)
    trace = snapshot_trace(trainer.model, batches.examples(2))
    samples = fixed_samples(trainer.model, 2)
    h = TrainingHistory()
    for step in (3, 4, 7, 12, 13, 60):          # reports that skip steps 1, 2, 5, 10, 20 and 50
        if h.due(step, 0.0):
            h.record(step, 0.0, trace, samples)
    assert h.steps == [3, 7, 12, 60] and h.timed == [False] * 4


def _trained_run(folder, steps=12, finish=True):
    """A tiny run trained in `folder` to `steps`, its checkpoint.pt saved there; (trainer, batches)."""
    trainer, batches = _tiny_trainer(steps=steps)
    run = RunFolder(folder)
    live = LiveRun(run, trainer, batches.examples(4), {"dataset": "tiny"}, metrics_every_s=0)
    live.start()
    trainer.run(on_progress=live.on_progress, report_interval_s=0)
    if finish:
        live.finish("finished")
    run.save_checkpoint(trainer.checkpoint())
    return trainer, batches


def _continued(checkpoint, folder, steps, examples=None, continues="checkpoint"):
    """The run of `checkpoint` trained on to `steps` in `folder` (LiveRun told where it came from)."""
    import torch

    from core.loop import Trainer
    trainer, batches = _tiny_trainer(steps=steps)
    ckpt = torch.load(checkpoint, weights_only=True)
    trainer = Trainer(trainer.model.config, trainer.config, batches, checkpoint=ckpt)
    live = LiveRun(RunFolder(folder), trainer, batches.examples(4) if examples is None else examples,
                   {"dataset": "tiny"}, metrics_every_s=0, continues=checkpoint if continues else None)
    live.start()
    trainer.run(on_progress=live.on_progress, report_interval_s=0)
    live.finish("finished")
    return TrainingHistory.load(Path(folder) / HISTORY_NAME)


def test_a_model_continued_in_a_new_folder_replays_from_step_1(tmp_path):
    """Continuing a run folder's checkpoint.pt (a shipped model's too, in the window or with
    `draw-gui train --restore ... --out NEW`) in another folder: the new folder's replay starts
    with the earlier run's entries, the earlier folder is not written."""
    _trained_run(tmp_path / "first", steps=12)
    before = (tmp_path / "first" / HISTORY_NAME).read_bytes()
    earlier = TrainingHistory.load(tmp_path / "first" / HISTORY_NAME)
    assert earlier.steps == [1, 2, 5, 10, 12]
    history = _continued(tmp_path / "first" / "checkpoint.pt", tmp_path / "second", steps=30)
    assert history.steps[:5] == [1, 2, 5, 10, 12] and history.steps[-1] == 30 and history.steps == sorted(history.steps)
    assert 20 in history.steps                                              # the schedule goes on
    assert all(np.array_equal(a, b) for a, b in zip(history.canvases[:5], earlier.canvases))
    assert (tmp_path / "first" / HISTORY_NAME).read_bytes() == before


def test_what_a_continued_run_does_not_take_from_the_earlier_folder(tmp_path):
    _trained_run(tmp_path / "first", steps=12)
    # other test digits: the replay would change digits halfway, so it starts afresh
    _, batches = _tiny_trainer()
    other = batches.examples(4).flip(-1)
    assert _continued(tmp_path / "first" / "checkpoint.pt", tmp_path / "digits", 20, examples=other).steps == [13, 20]
    # a loose file beside some history.npz is not a run folder's checkpoint: nothing is borrowed
    loose = tmp_path / "first" / "model.pt"
    loose.write_bytes((tmp_path / "first" / "checkpoint.pt").read_bytes())
    assert _continued(loose, tmp_path / "loose", 20).steps == [13, 20]
    # not told where it came from (a new run, or a checkpoint in memory): nothing either
    assert _continued(tmp_path / "first" / "checkpoint.pt", tmp_path / "untold", 20, continues=None).steps == [13, 20]


def test_a_run_continued_in_its_own_folder_drops_entries_its_checkpoint_never_reached(tmp_path):
    """Killed after its last checkpoint, a run has recorded steps its saved weights never had: on
    --restore they go, and the replay goes on from the checkpoint's step."""
    import torch
    trainer, _ = _trained_run(tmp_path / "run", steps=5, finish=False)       # checkpoint at 5
    saved = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    trainer.config.max_steps = 12
    _trained_run_on = LiveRun(RunFolder(tmp_path / "run"), trainer, _tiny_trainer()[1].examples(4),
                              {"dataset": "tiny"}, metrics_every_s=0)
    trainer.run(on_progress=_trained_run_on.on_progress, report_interval_s=0)   # on to 12, then killed
    (tmp_path / "run" / "checkpoint.pt").write_bytes(saved)                   # the checkpoint is still step 5
    assert TrainingHistory.load(tmp_path / "run" / HISTORY_NAME).steps == [1, 2, 5, 10]
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 5
    history = _continued(tmp_path / "run" / "checkpoint.pt", tmp_path / "run", steps=8)
    assert history.steps == [1, 2, 5, 8]
