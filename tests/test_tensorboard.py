"""TensorBoard event files beside the CSVs (issue 16): read back, they hold the same numbers."""
from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("tensorboard")   # the dev extra installs it: CI runs these
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from core.live_run import LiveRun  # noqa: E402
from core.runfolder import RunFolder, load_trace  # noqa: E402
from tests.test_follow import _tiny_trainer  # noqa: E402


def events(folder) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_a_run_folder_with_tensorboard_has_the_csvs_numbers_and_pictures(tmp_path):
    trainer, batches = _tiny_trainer(steps=6)
    run = RunFolder(tmp_path)
    live = LiveRun(run, trainer, batches.examples(4), {"dataset": "tiny"}, metrics_every_s=0, snapshot_every_s=0,
                   tensorboard=True)
    live.start()
    trainer.run(on_progress=live.on_progress, report_interval_s=0)
    trainer.evaluate()
    live.evaluated()
    live.checkpoint_saved()            # a last snapshot at the last step
    live.finish("finished")

    acc = events(tmp_path)
    tags = acc.Tags()
    assert {"loss/total", "loss/recon", "loss/kl", "test/nll_bound", "test/recon", "test/kl"} <= set(tags["scalars"])
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    total = acc.Scalars("loss/total")
    assert [e.step for e in total] == [int(r["step"]) for r in rows] == list(range(1, 7))
    assert np.allclose([e.value for e in total], [float(r["loss"]) for r in rows], atol=1e-4)
    with open(tmp_path / "eval.csv") as f:
        evals = list(csv.DictReader(f))
    bound = acc.Scalars("test/nll_bound")
    assert [(e.step, round(e.value, 4)) for e in bound] == [(int(r["step"]), float(r["nll_bound"])) for r in evals]

    # The per-glimpse KL of the last snapshot: bucket t holds glimpse t's KL, as in snapshot.npz
    step, trace = load_trace(tmp_path / "snapshot.npz")
    histogram = acc.Histograms("kl_per_glimpse")[-1]
    assert histogram.step == step == 6
    assert histogram.histogram_value.bucket_limit == [1.0, 2.0, 3.0]
    assert np.allclose(histogram.histogram_value.bucket, trace.kl_steps, atol=1e-6)

    assert {"glimpses", "samples"} <= set(tags["images"])
    from io import BytesIO

    from PIL import Image
    panel = Image.open(BytesIO(acc.Images("glimpses")[-1].encoded_image_string))
    samples = Image.open(BytesIO(acc.Images("samples")[-1].encoded_image_string))
    assert panel.width > 4 * 8 and samples.size == (4 * (8 * 2 + 1) + 1,) * 2    # 16 samples, 4 a row, zoom 2


def test_without_tensorboard_the_folder_has_no_event_files(tmp_path):
    trainer, batches = _tiny_trainer(steps=2)
    live = LiveRun(RunFolder(tmp_path), trainer, batches.examples(4), {"dataset": "tiny"}, metrics_every_s=0)
    live.start()
    trainer.run(on_progress=live.on_progress, report_interval_s=0)
    live.finish("finished")
    assert not list(tmp_path.glob("events.out.tfevents.*"))


def test_a_missing_tensorboard_package_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    from core.tensorboard import TensorBoardLog, TensorBoardUnavailable
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(TensorBoardUnavailable, match=r'pip install "draw-gui\[tensorboard\]"'):
        TensorBoardLog(tmp_path)


def test_train_tensorboard_writes_events_beside_the_csvs(tmp_path, mnist_dir, capsys):
    from draw_gui.cli.main import main
    out = tmp_path / "run"
    code = main(["train", "--data-dir", str(mnist_dir), "--no_download", "--max-steps", "3", "--batch_size", "16",
                 "--num_glimpses", "3", "--hidden_size", "32", "--latent_size", "4", "--out", str(out), "--tensorboard",
                 "--quiet", "--no-eval"])
    assert code == 0, capsys.readouterr().err
    acc = events(out)
    assert [e.step for e in acc.Scalars("loss/total")] == [1, 2, 3]
    assert {"glimpses", "samples"} <= set(acc.Tags()["images"])


def test_the_window_setting_makes_its_runs_write_events(qtbot, tmp_path, mnist_dir):
    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.show()
    assert not w.tensorboard_action.isChecked()
    w.tensorboard_action.trigger()
    assert w.tensorboard_enabled() and Settings(tmp_path / "settings.json").get("tensorboard") is True
    out = tmp_path / "run"
    w.config_panel.set_values({**w.config_panel.values(), "data_dir": str(mnist_dir), "glimpses": 2, "hidden": 16,
                               "z_size": 4, "batch_size": 8})
    w.start(out=str(out))
    qtbot.waitUntil(lambda: w.state == "running", timeout=60000)
    qtbot.waitUntil(lambda: bool(list(out.glob("events.out.tfevents.*"))), timeout=30000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    assert events(out).Scalars("loss/total")
    w.close()


def test_train_tensorboard_without_the_package_is_one_line_and_exit_2(tmp_path, mnist_dir, capsys, monkeypatch):
    import importlib.util

    from draw_gui.cli.main import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    code = main(["train", "--data-dir", str(mnist_dir), "--max-steps", "1", "--out", str(tmp_path / "r"),
                 "--tensorboard"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and 'pip install "draw-gui[tensorboard]"' in err[0]
    assert not (tmp_path / "r").exists()
