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
