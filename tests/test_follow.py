"""Following a run folder: `draw-gui train` keeps it followable while it trains, and the window
shows it live (plot, glimpses, status) while another writer changes it."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from core.config import DrawConfig, TrainConfig
from core.data import Batches, ImageData
from core.live_run import LiveRun
from core.loop import History, Trainer
from core.runfolder import RunFolder, RunReader, save_trace
from core.trace import GlimpseTrace
from draw_gui.follow import follower as run_follower
from draw_gui.cli.main import main
from draw_gui.window.settings import Settings
from draw_gui.window.main_window import MainWindow
from tests.helpers import record_dialogs

TINY = ["--num_glimpses", "4", "--hidden_size", "32", "--latent_size", "8", "--batch_size", "16"]


# ---- writer side ------------------------------------------------------------------------------
def test_cli_run_leaves_a_followable_folder(capsys, mnist_dir, tmp_path):
    out = tmp_path / "run"
    code = main(["train", *TINY, "--max-steps", "30", "--no-eval", "--data-dir", str(mnist_dir),
                 "--out", str(out), "--follow_interval", "0.01", "--snapshot_interval", "0.01"])
    assert code == 0
    reader = RunReader(out)
    info = reader.info()
    assert info["status"] == "finished" and info["step"] == 30 and info["world_size"] == 1
    assert info["model_config"]["glimpses"] == 4 and info["train_config"]["batch_size"] == 16
    assert info["dataset"] == "mnist" and info["device"] == "cpu" and info["started_at"] and info["updated_at"]
    assert 0 < info["upkeep_s"] < 5
    rows = reader.new_metrics()
    assert rows.step.tolist() == list(range(1, 31))
    step, trace = reader.new_snapshot()
    assert step == 30 and trace.canvases.shape[:2] == (4, 8) and trace.images.shape == (8, 1, 28, 28)
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporary files


def _tiny_trainer(steps=12):
    g = torch.Generator().manual_seed(0)
    data = ImageData("tiny", torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8, generator=g),
                     torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8, generator=g), "threshold", "random")
    model = DrawConfig(image_shape=(1, 8, 8), read_size=2, write_size=3, glimpses=3, z_size=4, enc_size=16, dec_size=16)
    train = TrainConfig(batch_size=8, max_steps=steps, device="cpu")
    batches = Batches(data, 8)
    return Trainer(model, train, batches), batches


def test_live_run_writes_by_wall_time_during_the_run(tmp_path):
    """Metrics, snapshots and checkpoints come while training goes on, not only at the end."""
    trainer, batches = _tiny_trainer()
    clock = [0.0]
    saved = []
    run = RunFolder(tmp_path)

    def save(reason):
        saved.append((reason, trainer.step))
        run.save_checkpoint(trainer.checkpoint())
        live.checkpoint_saved()
    live = LiveRun(run, trainer, batches.examples(4), {"dataset": "tiny"}, save=save, metrics_every_s=5,
                   snapshot_every_s=30, checkpoint_every_s=600, clock=lambda: clock[0])
    live.start()
    reader = RunReader(tmp_path)
    seen = []

    def on_progress(p):
        clock[0] += 3.0  # every step "takes" 3 s of wall time
        live.on_progress(p)
        seen.append((p.step, len(reader.new_metrics()), reader.new_snapshot() is not None))
    trainer.run(on_progress=on_progress, report_interval_s=0)
    live.finish("finished")
    grew = [s for s, n, _ in seen if n]
    assert grew[:3] == [2, 4, 6]                 # every 5 s of wall time (3 s steps)
    assert [s for s, _, snap in seen if snap] == [1, 10]   # the one written at start, then 30 s later
    assert saved == []                            # 36 s < 10 min
    assert reader.info()["status"] == "finished" and reader.info()["step"] == 12
    assert live.upkeep_s > 0


# ---- reader side ------------------------------------------------------------------------------
def _history(start, n):
    h = History()
    for i in range(start + n):
        h.append(step=i + 1, epoch=0, loss=200.0 - i, recon=180.0 - i, kl=20.0, time=0.1 * i)
    return h


def _trace(value: float, T=4, B=3):
    canvases = np.full((T, B, 1, 8, 8), value, dtype=np.float32)
    read = np.tile(np.array([4.0, 4.0, 1.0, 0.5, 1.0], dtype=np.float32), (T, B, 1))
    return GlimpseTrace(canvases=canvases, read=read, write=read.copy(), read_size=2, write_size=3,
                        images=np.zeros((B, 1, 8, 8), dtype=np.float32), kl_steps=np.ones(T, dtype=np.float32))


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(run_follower, "POLL_INTERVAL_MS", 50)
    w = MainWindow(Settings(tmp_path / "settings.json"))
    qtbot.addWidget(w)
    w.dialogs = []
    record_dialogs(monkeypatch, w, w.dialogs)
    w.show()
    yield w
    w.close()


def _write_run(folder, steps, snapshot_value, status="running"):
    run = RunFolder(folder)
    run.write_info({"status": status, "step": steps, "total_steps": 100, "steps_per_epoch": 50,
                    "dataset": "mnist", "device": "cuda:0", "world_size": 2, "host": "gpu-server"})
    if steps:
        run.write_metrics(_history(0, steps))
    run.write_snapshot(_trace(snapshot_value), step=steps)
    return run


def test_window_follows_a_folder_another_writer_changes(qtbot, window, tmp_path):
    folder = tmp_path / "run"
    run = _write_run(folder, 5, 0.2)
    assert window.follow_run(str(folder))
    w = window
    qtbot.waitUntil(lambda: w.loss_plot.point_count() == 5 and w.glimpse_view.trace() is not None, timeout=5000)
    assert w.state == "following" and not w.start_button.isEnabled() and not w.start_action.isEnabled()
    assert not w.config_panel.fields["read_size"].isEnabled() and w.stop_follow_action.isEnabled()
    assert "following run" in w.windowTitle() and "step 5" in w.windowTitle() and "running" in w.windowTitle()
    assert "following run" in w.device_label.text() and "gpu-server" in w.device_label.text()
    assert "updated" in w.rate_label.text() and "step 5 / 100" in w.step_label.text()
    w.glimpse_view.set_t(3)
    before = w.glimpse_view.image().copy()

    def writer():  # the training process, elsewhere: more rows, then a new snapshot
        h = _history(0, 12)
        h.evals.append({"step": 12, "epoch": 0, "nll_bound": 150.0, "recon": 130.0, "kl": 20.0})
        run.write_metrics(h)
        save_trace(folder / "snapshot.npz", _trace(0.9), step=12)
    t = threading.Thread(target=writer)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: w.loss_plot.point_count() == 12 and w.glimpse_view.image() != before, timeout=5000)
    assert w.glimpse_view.t() == 3  # the user's glimpse stays
    qtbot.waitUntil(lambda: len(w.loss_plot.eval_markers.getData()[0] or []) == 1, timeout=5000)
    # a damaged snapshot and run.json never crash the window; the last good ones stay
    (folder / "snapshot.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "run.json").write_text("{ half written")
    qtbot.waitUntil(lambda: "damaged" in (w.follow.problem or ""), timeout=5000)
    assert w.glimpse_view.trace() is not None and w.loss_plot.point_count() == 12
    w.stop_following()
    assert w.state == "idle" and w.start_button.isEnabled() and w.windowTitle() == "draw-gui"
    assert w.settings.get("recent_runs") == [str(folder.resolve())]


def test_finished_and_stale_runs_say_so(qtbot, window, tmp_path, monkeypatch):
    folder = tmp_path / "old"
    _write_run(folder, 3, 0.5, status="finished")
    window.follow_run(str(folder))
    qtbot.waitUntil(lambda: "finished" in window.rate_label.text(), timeout=5000)
    assert "finished" in window.windowTitle()
    json.loads((folder / "run.json").read_text())
    monkeypatch.setattr(run_follower, "STALE_AFTER_S", -1)
    window.follow.info["status"] = "running"
    window.follow.show_status()
    assert "is the run still going?" in window.rate_label.text()


@pytest.mark.parametrize("make, words", [
    (lambda p: p.mkdir(), "not a run folder"),
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text("x"), "is a file"),
])
def test_a_folder_that_is_not_a_run_gets_a_dialog_naming_the_fix(qtbot, window, tmp_path, make, words):
    target = tmp_path / "elsewhere"
    make(target)
    assert not window.follow_run(str(target))
    title, text = window.dialogs[-1]
    assert title == "Not a run folder" and words in text and "draw-gui train --out" in text
    assert window.state == "idle" and window.follow is None


def test_follow_command_refuses_a_folder_that_is_not_a_run(capsys, tmp_path):
    code = main(["follow", str(tmp_path)])
    assert code == 2
    assert "not a run folder" in capsys.readouterr().err
