"""The benchmark scripts run (slow: they compile; run with -m slow)."""
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_gpu_check_dry_runs_on_the_cpu(shared_data):
    run = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--quick", "--json",
                          "--data-dir", str(shared_data)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["fidelity"]["loss_max_rel_diff"] < 1e-5
    assert set(report["bf16_vs_fp32_test_bound"]) == {"fp32", "bf16"} and report["epoch_seconds"] > 0


def test_preset_speed_prints_each_preset_against_mnist():
    """The figures of the README's "Time on a CPU" come from it: one round, one step each, quick."""
    run = subprocess.run([sys.executable, "benchmarks/preset_speed.py", "--rounds", "1", "--steps", "1",
                          "--presets", "mnist,two-digits", "--batch", "4", "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = {r["preset"]: r for r in json.loads(run.stdout)["rows"]}
    assert set(rows) == {"mnist", "two-digit-mnist"} and rows["two-digit-mnist"]["images"] == "60x60"
    assert rows["mnist"]["x_mnist"] == 1.0 and rows["two-digit-mnist"]["images_per_s"] > 0


def test_hoisted_image_product_prints_both_ways_and_their_ratio():
    """The README's figures for the no-attention model's hoisted product come from it."""
    run = subprocess.run([sys.executable, "benchmarks/hoisted_image_product.py", "--no-compile", "--batch", "4",
                          "--steps", "1", "--glimpses", "4"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    literal, hoisted = (float(v) for v in re.findall(r"(?:literal|hoisted) ([\d.]+)", lines[0]))
    assert abs(literal - hoisted) < 1e-3 * literal
    step, batch, *rates, ratio = lines[-1].split()
    assert (step, batch) == ("plain", "4") and all(float(r) > 0 for r in rates) and ratio.endswith("x")


def _gpu_run():
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_run", REPO / "benchmarks" / "gpu_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["mnist", "mnist-noattention"])
def test_gpu_run_continues_a_shipped_model_past_its_step_at_the_rate_it_ended(name):
    """gpu_run.py continues the shipped models at batch 1024. The trainer counts epochs in steps at
    that batch, so the shipped mnist (step 26,208, at batch 128) is at epoch 451 there: a schedule
    counted in the file's epochs ended before its step and trained nothing."""
    import torch

    from core.config import TrainConfig
    from core.loop import last_epoch
    saved = torch.load(REPO / "resources" / "models" / name / "checkpoint.pt", weights_only=True)
    step, done, epochs, decay, base = _gpu_run().continued_schedule(saved, batch=1024, fits=40)
    per_epoch = 60000 // 1024
    assert step == saved["step"] and done == step // per_epoch and epochs == done + 40
    assert epochs * per_epoch > step + 30 * per_epoch             # 40 epochs' steps from where it is
    trained = TrainConfig.from_dict(saved["train_config"])
    ended = trained.lr_at(last_epoch(saved))
    schedule = TrainConfig(lr=float(f"{base:.6g}"), lr_decay=decay)   # as the command line passes it
    first = schedule.lr_at(done)
    assert first == pytest.approx(ended * 1024 / trained.batch_size, rel=1e-4)   # the same rate per image
    assert schedule.lr_at(epochs - 1) == pytest.approx(first / 10, rel=0.1)      # 10x lower at the end


def test_gpu_runs_continuation_command_trains_the_shipped_mnist(shared_data, tmp_path):
    """The command gpu_run.py gives the shipped mnist, one step of batch 1024 on the CPU."""
    import torch
    saved = torch.load(REPO / "resources" / "models" / "mnist" / "checkpoint.pt", weights_only=True)
    step, done, epochs, decay, base = _gpu_run().continued_schedule(saved, batch=1024, fits=40)
    run = subprocess.run([sys.executable, "-m", "draw_gui", "train", "--restore", "mnist", "--data_dir", str(shared_data),
                          "--no_download", "--device", "cpu", "--batch_size", "1024", "--maxEpochs", str(epochs),
                          "--lr", f"{base:.6g}", "--lr_decay", str(decay), "--compile", "false", "--no_eval",
                          "--max_steps", str(step + 1), "--out", str(tmp_path / "run"), "--quiet"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == step + 1


def test_glimpse_stats_prints_a_shipped_models_intensities():
    """README's figures of what ran away in a diverged two-digit run come from it."""
    run = subprocess.run([sys.executable, "benchmarks/glimpse_stats.py", "mnist", "--images", "2"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    row = run.stdout.strip().splitlines()[-1].split()
    assert row[0] == "mnist" and row[1].isdigit() and float(row[-1]) >= 0      # step, centres off the canvas


def _learning_ablation():
    import importlib.util
    spec = importlib.util.spec_from_file_location("learning_ablation", REPO / "benchmarks" / "learning_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_learning_ablation_undoes_exactly_the_choices_a_row_names():
    """The README's Learning table: each row takes back some of draw-gui's starting choices."""
    import torch

    from core.model import DRAW, DrawConfig
    ablation = _learning_ablation()
    torch.manual_seed(0)
    shipped_like = DRAW(DrawConfig())
    shipped_like.init_canvas_from_mean(torch.full((1, 28, 28), 0.13))
    undone = DRAW(DrawConfig())
    undone.load_state_dict(shipped_like.state_dict())
    ablation.undo_choices(undone, mean_and_centred=True, forget_and_small=True)   # the defaults: nothing undone
    assert all(torch.equal(a, b) for a, b in zip(shipped_like.state_dict().values(), undone.state_dict().values()))

    ablation.undo_choices(undone, mean_and_centred=False, forget_and_small=False)  # the plain row
    H = undone.encoder.hidden_size
    assert torch.count_nonzero(undone.canvas0) == 0 and shipped_like.canvas0.mean() < -1    # c_0 no longer logit(0.13)
    assert torch.allclose(undone.encoder.bias_ih[H:2 * H], shipped_like.encoder.bias_ih[H:2 * H] - 1)
    assert torch.allclose(undone.write.patch.weight, 10 * shipped_like.write.patch.weight)
    centred = shipped_like.read.params.bias                 # centred, covering: (0, 0, log sigma^2, log delta, 0)
    assert not torch.allclose(undone.read.params.bias, centred)
    assert undone.read.params.weight.abs().max() > 5 * shipped_like.read.params.weight.abs().max()


def test_learning_ablation_prints_a_row_per_configuration():
    run = subprocess.run([sys.executable, "benchmarks/learning_ablation.py", "--sample", "--steps", "2",
                          "--seeds", "0", "--rows", "plain,defaults", "--limit", "20", "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert [r["row"] for r in report["rows"]] == ["plain", "defaults"] and report["test_images"] == 20
    assert all(r["steps"] == 2 and r["outcome"] == "finished" for r in report["runs"])
    plain, defaults = (r["mean_bound"] for r in report["rows"])
    assert plain > defaults > 0       # after 2 steps, full-size random writes still cost hundreds of nats
