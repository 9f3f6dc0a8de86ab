"""The benchmark scripts run (slow: they compile; run with -m slow)."""
import json
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


def test_glimpse_stats_prints_a_shipped_models_intensities():
    """README's figures of what ran away in a diverged two-digit run come from it."""
    run = subprocess.run([sys.executable, "benchmarks/glimpse_stats.py", "mnist", "--images", "2"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    row = run.stdout.strip().splitlines()[-1].split()
    assert row[0] == "mnist" and row[1].isdigit() and float(row[-1]) >= 0      # step, centres off the canvas
