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
