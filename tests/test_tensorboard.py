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
