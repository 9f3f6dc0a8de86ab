"""The PyInstaller bundle (dist/draw-gui/): builds, answers --version, trains headless, shows its window.

Not in the default run: `pytest -m bundle` (a build takes minutes and ~4 GB of disk with CUDA torch).
Reuses dist/draw-gui when it is newer than every source file; set DRAW_GUI_REBUILD=1 to force a build.
"""
import os
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.bundle

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "dist" / "draw-gui"
EXE = BUNDLE / "draw-gui"
SOURCES = ["draw_gui", "core", "resources", "draw-gui.spec", "pyproject.toml"]


def _newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        path = REPO / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        newest = max([newest] + [p.stat().st_mtime for p in files])
    return newest


@pytest.fixture(scope="module")
def bundle() -> Path:
    fresh = EXE.exists() and EXE.stat().st_mtime > _newest_source()
    if os.environ.get("DRAW_GUI_REBUILD") or not fresh:
        subprocess.run(["bash", str(REPO / "scripts" / "build_bundle.sh")], cwd=REPO, check=True, timeout=3600)
    assert EXE.exists()
    return EXE


def _env(tmp_path):
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DRAW_GUI_CONFIG_DIR": str(tmp_path / "config")}


def test_bundle_contains_resources(bundle):
    internal = bundle.parent / "_internal"
    for name in ["resources/icon.svg", "resources/icons/draw-gui-256.png", "resources/draw-gui.desktop",
                 "resources/mnist_sample.npz"]:
        assert (internal / name).exists(), name
    assert list(internal.rglob("torchvision/*_stable.so")) or list(internal.rglob("torchvision/*.so")), \
        "torchvision's compiled ops are missing (torchvision::nms would not exist)"


def test_bundle_version(bundle, tmp_path):
    from draw_gui import __version__
    result = subprocess.run([str(bundle), "--version"], capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


def test_bundle_trains_five_steps(bundle, tmp_path, mnist_dir):
    out = tmp_path / "run"
    result = subprocess.run([str(bundle), "train", "--data-dir", str(mnist_dir), "--max-steps", "5",
                             "--num_glimpses", "4", "--hidden_size", "32", "--no-eval", "--out", str(out)],
                            capture_output=True, text=True, timeout=600, env=_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert list(out.rglob("*.pt")), f"no checkpoint in {out}: {sorted(p.name for p in out.rglob('*'))}"


def test_bundle_window_shows_within_3_s(bundle, tmp_path):
    env = {**_env(tmp_path), "DRAW_GUI_STARTUP_PROBE": "1"}
    subprocess.run([str(bundle), "--version"], capture_output=True, timeout=120, env=env)  # warm the file cache
    t = time.perf_counter()
    child = subprocess.Popen([str(bundle)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    shown = None
    for line in child.stdout:
        if line.startswith("shown"):
            shown = time.perf_counter() - t
            break
    child.wait(60)
    assert shown is not None, "the bundled window never showed"
    assert shown < 3.0, f"window took {shown:.2f} s"
