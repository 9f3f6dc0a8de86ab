import gc
import os
import tempfile
from pathlib import Path

# Qt tests run without a screen; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Session fixtures (a run trained once for a module) come before the per-test runs_dir below:
# they too must never list their runs in the user's runs folder.
os.environ["DRAW_GUI_RUNS_DIR"] = tempfile.mkdtemp(prefix="draw-gui-test-runs-")
# Nor do windows and subprocesses started by tests write into the user's log folder.
os.environ["DRAW_GUI_LOG_DIR"] = tempfile.mkdtemp(prefix="draw-gui-test-logs-")
# Windows that train would build a compiled step in a child process (core.background_compile):
# only the tests of that feature do, with a stand-in child
os.environ["DRAW_GUI_NO_BACKGROUND_COMPILE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

# Two cores: one torch thread per test process keeps tests fast and predictable.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
# The full MNIST files live in ../shared/data on the developers' machines; DRAW_GUI_TEST_SHARED names
# another folder (e.g. /nonexistent, to see what a fresh clone without ../shared runs).
SHARED_DATA = Path(os.environ.get("DRAW_GUI_TEST_SHARED") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.skip(f"real MNIST not found at {SHARED_DATA} (the README's Tests section: the tests that need it are skipped)")
    return SHARED_DATA


MNIST_SAMPLE_TRAIN, MNIST_SAMPLE_TEST = 10_000, 2_000  # digits in mnist_dir's files: the embedded sample's


def write_idx(path: Path, array) -> None:
    """`array` (uint8) as an MNIST idx file: magic 0x0000 08 <ndim>, big-endian sizes, then the bytes."""
    import numpy as np
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    path.write_bytes(header + array.tobytes())


def grey_edged(bits):
    """Binary digits (N, 28, 28) of 0/1 as grey uint8 images, like MNIST's anti-aliased strokes: ink
    is 255 inside a stroke and 192 on its edge, paper 0 away from it and 96 beside it. Thresholded at
    127 they are `bits` again; binarized stochastically their edges vary, as real MNIST's do."""
    import numpy as np
    ink = np.pad(bits.astype(bool), ((0, 0), (1, 1), (1, 1)))
    inside = ink[:, 1:-1, 1:-1]
    near = [ink[:, 1 + dy:ink.shape[1] - 1 + dy, 1 + dx:ink.shape[2] - 1 + dx]
            for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    all_ink, any_ink = np.logical_and.reduce(near), np.logical_or.reduce(near)
    return np.where(inside, np.where(all_ink, 255, 192), np.where(any_ink, 96, 0)).astype(np.uint8)


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """A data folder for tests that need some MNIST digits, not all 70,000 (a fresh clone has no
    ../shared): MNIST/raw holds the four MNIST idx files, written from the embedded sample (the first
    10,000 training and 2,000 test digits; labels all 0), so the real MNIST loading code reads them.
    The digits are grey_edged: thresholded at 127, as the "mnist" set is, they are exactly the first
    digits of MNIST; binarized-mnist's stochastic binarization has grey edges to sample."""
    import numpy as np
    from core.data import load_embedded_mnist
    from draw_gui.resources import resource_path
    sample = load_embedded_mnist(resource_path("mnist_sample.npz"))
    assert (sample.train.shape[0], sample.test.shape[0]) == (MNIST_SAMPLE_TRAIN, MNIST_SAMPLE_TEST)
    root = tmp_path_factory.mktemp("data")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, images in (("train", sample.train), ("t10k", sample.test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", grey_edged(images[:, 0].numpy() > 127))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.zeros(images.shape[0], np.uint8))
    return root


@pytest.fixture(scope="session")
def mnist_batch(mnist_dir) -> torch.Tensor:
    """64 threshold-binarized MNIST training digits, (64, 1, 28, 28) float (the first 64 of MNIST)."""
    from torchvision.datasets import MNIST
    images = MNIST(str(mnist_dir), train=True, download=False).data[:64]
    return (images > 127).float().unsqueeze(1)


@pytest.fixture(scope="session")
def qapp_cls():
    """pytest-qt's application is the one draw-gui runs on (it takes the files macOS hands over)."""
    from draw_gui.window.application import DrawGuiApplication
    return DrawGuiApplication


@pytest.fixture(autouse=True)
def collect_garbage_in_the_main_thread():
    """Cycles a test leaves (closed windows, lambdas connected to them) are freed here, in the GUI
    thread, never later by another test's training thread (draw_gui/workers/gui_gc.py)."""
    yield
    gc.collect()
    gc.freeze()   # what outlived the test is not scanned again: the next collection stays quick


@pytest.fixture(autouse=True)
def runs_dir(tmp_path_factory, monkeypatch) -> Path:
    """Runs the window trains go to a folder of the test's own, never the user's runs folder."""
    folder = tmp_path_factory.mktemp("runs")
    monkeypatch.setenv("DRAW_GUI_RUNS_DIR", str(folder))
    return folder


@pytest.fixture
def new_window(qtbot, tmp_path, monkeypatch):
    """new_window() -> a shown MainWindow without the shipped model, on tmp_path/settings.json (so a
    second one reads what the first saved), no data folder, its dialogs recorded in w.dialogs and
    answered Ok; all closed at the end."""
    from PySide6.QtWidgets import QMessageBox

    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    from tests.helpers import record_dialogs
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("DRAW_GUI_DATA", str(empty))
    windows = []

    def make():
        w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
        qtbot.addWidget(w)
        w.dialogs = []
        record_dialogs(monkeypatch, w, w.dialogs, lambda: QMessageBox.Ok)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.worker.dirty = False
        w.close()
