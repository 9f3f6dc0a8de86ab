import os
import tempfile
from pathlib import Path

# Qt tests run without a screen; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Session fixtures (a run trained once for a module) come before the per-test runs_dir below:
# they too must never list their runs in the user's runs folder.
os.environ["DRAW_GUI_RUNS_DIR"] = tempfile.mkdtemp(prefix="draw-gui-test-runs-")

import pytest  # noqa: E402
import torch  # noqa: E402

# Two cores: one torch thread per test process keeps tests fast and predictable.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.skip(f"real MNIST not found at {SHARED_DATA} (the README's Tests section: the tests that need it are skipped)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mnist_batch(shared_data) -> torch.Tensor:
    """64 threshold-binarized MNIST training digits, (64, 1, 28, 28) float."""
    from torchvision.datasets import MNIST
    images = MNIST(str(shared_data), train=True, download=False).data[:64]
    return (images > 127).float().unsqueeze(1)


@pytest.fixture(autouse=True)
def runs_dir(tmp_path_factory, monkeypatch) -> Path:
    """Runs the window trains go to a folder of the test's own, never the user's runs folder."""
    folder = tmp_path_factory.mktemp("runs")
    monkeypatch.setenv("DRAW_GUI_RUNS_DIR", str(folder))
    return folder
