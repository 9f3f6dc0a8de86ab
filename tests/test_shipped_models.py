"""The trained models that ship with draw-gui: their cards tell the truth, their names work wherever
a checkpoint does, and a normal (non-editable) install carries them and every other runtime file."""
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from draw_gui.cli.main import main as cli
from draw_gui.models.shipped import models_folder, shipped_model, shipped_models
from tests.conftest import REPO

NAMES = ("mnist", "mnist-noattention")


def test_both_paper_models_ship_with_a_card_for_each():
    found = {m.name: m for m in shipped_models()}
    assert set(NAMES) <= set(found) and shipped_models()[0].name == "mnist"   # the window's default first
    for name in NAMES:
        card = found[name].card
        t, e = card["training"], card["evaluation"]
        for key in ("command", "steps", "epochs", "images_seen", "wall_time_s", "hardware", "torch", "date"):
            assert t[key], (name, key)
        assert t["command"].startswith("draw-gui train") and "binarized-mnist" in t["command"]
        # steps x the last batch size, or more for a model continued at a smaller one (its command says so)
        assert t["images_seen"] == t["steps"] * t["batch_size"] or "batch_size 128" in t["command"]
        assert t["images_seen"] >= t["steps"] * t["batch_size"] and t["epochs"] == round(t["images_seen"] / 60000, 2)
        assert e["binarization"] == "stochastic" and e["test_images"] == 10000
        assert (e["iw_k"], e["iw_images"]) == (100, 1000)
        # an importance-weighted estimate is a tighter bound than the variational one on the same images
        assert e["nll_iw"] < e["nll_bound_first_images"]
        assert card["paper_nll"] == {"mnist": 80.97, "mnist-noattention": 87.40}[name]
    assert found["mnist"].card["model"]["attention"] == "gaussian"
    assert found["mnist-noattention"].card["model"]["attention"] == "none"


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_file_is_the_one_its_card_describes_and_holds_weights_only(name):
    from core.checkpoint import load_checkpoint
    model = shipped_model(name)
    assert hashlib.sha256(model.checkpoint.read_bytes()).hexdigest() == model.card["sha256"]
    assert model.checkpoint.stat().st_size < 16e6
    ckpt = load_checkpoint(model.checkpoint)
    assert "optimizer" not in ckpt and "noise_rng" not in ckpt
    assert ckpt["data_settings"]["data_dir"] is None        # no path of the machine it was trained on
    assert ckpt["step"] == model.card["training"]["steps"]
    assert ckpt["model_config"] == model.card["model"]
    assert ckpt["evals"][-1]["nll_bound"] == pytest.approx(model.card["evaluation"]["test_nll_bound"])


@pytest.mark.parametrize("name", NAMES)
def test_the_cards_test_bound_is_what_draw_gui_eval_prints(name, shared_data, capsys):
    """Recomputed here on the CPU, on the card's subset (the first 1,000 fixed-binarized test
    images); the card's figure came from `draw-gui eval` on whatever machine shipped it. Full MNIST:
    the binarization samples its grey levels, which the embedded sample does not keep."""
    card = shipped_model(name).card["evaluation"]
    assert cli(["eval", name, "--limit", str(card["iw_images"]), "--json", "--data_dir", str(shared_data),
                "--no_download"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["images"] == card["iw_images"] and report["binarization"] == "stochastic"
    assert report["nll_bound"] == pytest.approx(card["nll_bound_first_images"], abs=0.02)


def test_a_model_name_works_for_sample_and_writes_nothing_into_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = {p: p.stat().st_mtime for p in models_folder().rglob("*")}
    assert cli(["sample", "mnist", "--num", "16", "--gif_count", "4"]) == 0
    assert (tmp_path / "mnist-samples" / "samples.png").is_file()
    assert cli(["sample", "mnist-noattention", "--num", "4", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "samples.png").is_file()
    assert {p: p.stat().st_mtime for p in models_folder().rglob("*")} == before


def test_an_unknown_name_is_one_line_naming_the_shipped_models(capsys):
    assert cli(["eval", "mnist-typo"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "mnist-typo" in err and "mnist, mnist-noattention" in err


def test_models_lists_the_cards_figures(capsys):
    assert cli(["models"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        bound = shipped_model(name).card["evaluation"]["test_nll_bound"]
        assert f"{name}\n" in out and f"{bound:.2f}" in out


def test_models_answers_without_importing_torch():
    """`draw-gui models` reads the cards: it must not wait seconds for torch (4.4 s against 0.5 s
    on the 2-core machine it was measured on), nor does a mistyped folder for `draw-gui follow`.
    Bad input that is found after torch loads still gets its one line."""
    code = ("import sys; from draw_gui.cli.main import main; "
            "print(main(['models']), main(['follow', 'no-such-folder']), 'torch' in sys.modules); "
            "print(main(['eval', 'no-such-model']), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.stdout.splitlines()[-1] == "0 2 False", r.stdout + r.stderr
    assert "draw-gui: no-such-folder" in r.stderr
    assert r.stderr.splitlines()[-1] == "2" and "draw-gui: no-such-model" in r.stderr, r.stderr


def test_compare_takes_model_names(capsys):
    assert cli(["compare", "mnist", "mnist-noattention", "--table"]) == 0
    out = capsys.readouterr().out
    assert "mnist-noattention" in out and f"{shipped_model('mnist').card['evaluation']['test_nll_bound']:.2f}" in out


def test_train_restore_continues_the_shipped_model_in_a_new_run_folder(tmp_path, mnist_dir, capsys):
    from core.checkpoint import load_checkpoint
    model = shipped_model("mnist")
    step = model.card["training"]["steps"]
    before = model.checkpoint.read_bytes()
    out = tmp_path / "continued"
    # a small batch keeps two steps of the paper-size model quick on a CPU
    assert cli(["train", "--restore", "mnist", "--out", str(out), "--data_dir", str(mnist_dir), "--no_download",
                "--batch_size", "8", "--max_steps", str(step + 2), "--no_eval", "--quiet", "--device", "cpu",
                "--compile", "false"]) == 0
    assert load_checkpoint(out / "checkpoint.pt")["step"] == step + 2
    assert model.checkpoint.read_bytes() == before


def _wheel(tmp_path) -> Path:
    try:
        import setuptools  # noqa: F401  (built with this environment's setuptools: no download)
        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(tmp_path),
                    str(REPO)], check=True, capture_output=True, timeout=600)
    return next(tmp_path.glob("draw_gui-*.whl"))


def test_a_wheel_carries_every_runtime_file_and_works_installed(tmp_path, mnist_dir):
    """`pip install draw-gui` (not editable): the icons, .desktop file, embedded MNIST sample and the
    shipped models are package data, found where the wheel installed them."""
    wheel = _wheel(tmp_path / "wheel")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [f"models/{n}/{f}" for n in NAMES for f in ("checkpoint.pt", "card.json", "metrics.csv", "snapshot.npz")]
    for f in ["icon.svg", "draw-gui.desktop", "mnist_sample.npz", "icons/draw-gui-256.png", *shipped,
              "models/mnist/history.npz"]:
        assert f"draw_gui/_resources/{f}" in names, f
    from draw_gui import __version__
    metadata = zipfile.ZipFile(wheel).read(f"draw_gui-{__version__}.dist-info/METADATA").decode()
    assert f"Version: {__version__}\n" in metadata and "License-Expression: MIT\n" in metadata
    assert f"draw_gui-{__version__}.dist-info/licenses/LICENSE" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "QT_QPA_PLATFORM": "offscreen"}
    work = tmp_path / "elsewhere"   # not the checkout: nothing may come from it
    work.mkdir()
    where = subprocess.run([sys.executable, "-c", "import draw_gui.resources as r, draw_gui.models.shipped as m; "
                            "print(r.resource_path('mnist_sample.npz')); print(m.shipped_model('mnist').checkpoint)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_file() and Path(p).is_relative_to(target) for p in where), where
    run = subprocess.run([sys.executable, "-m", "draw_gui", "--version"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and __version__ in run.stdout, run.stdout + run.stderr
    run = subprocess.run([sys.executable, "-m", "draw_gui", "sample", "mnist", "--num", "4", "--out", "s"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and (work / "s" / "samples.png").is_file(), run.stderr
    run = subprocess.run([sys.executable, "-m", "draw_gui", "eval", "mnist", "--json", "--limit", "50",
                          "--data_dir", str(mnist_dir), "--no_download"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and json.loads(run.stdout)["images"] == 50, run.stderr


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_first_screen_is_the_models_own_glimpses(name):
    """snapshot.npz lets the window show a shipped model's glimpses before torch has loaded: it must
    be exactly what the model draws on those digits."""
    import numpy as np
    from core.checkpoint import load_model
    from core.data import Batches, load_embedded_mnist
    from core.live_run import snapshot_trace
    from core.runfolder import load_trace
    from draw_gui.resources import resource_path
    model = shipped_model(name)
    step, shipped = load_trace(model.folder / "snapshot.npz")
    net, ckpt, _ = load_model(model.checkpoint)
    examples = Batches(load_embedded_mnist(resource_path("mnist_sample.npz")), 1).examples(8)
    fresh = snapshot_trace(net, examples)
    assert step == ckpt["step"]
    np.testing.assert_allclose(shipped.canvases, fresh.canvases, atol=1e-5)
    np.testing.assert_array_equal(shipped.images, fresh.images)


def test_the_attention_models_replay_is_its_own_training_from_step_1_to_the_shipped_weights():
    """history.npz, recorded as the shipped model trained: the Glimpses and Latent tabs replay it."""
    import numpy as np
    import torch
    from core.checkpoint import load_model
    from core.history import HISTORY_NAME, MAX_ENTRIES, TrainingHistory, fixed_samples
    from core.live_run import snapshot_trace
    model = shipped_model("mnist")
    history = TrainingHistory.load(model.folder / HISTORY_NAME)
    net, ckpt, _ = load_model(model.checkpoint)
    assert history.steps[0] == 1 and history.steps[-1] == ckpt["step"] == model.card["training"]["steps"]
    assert history.steps == sorted(set(history.steps)) and 20 <= len(history) <= MAX_ENTRIES
    assert history.attention == "gaussian" and history.read[0].shape == (64, 8, 5)
    # the last entry is the shipped weights: the fixed noise's samples, the fixed digits' canvases
    assert np.abs(history.samples[-1] - np.rint(fixed_samples(net) * 255)).max() <= 1
    final = snapshot_trace(net, torch.from_numpy(history.images.astype(np.float32) / 255))
    assert np.abs(history.canvases[-1] - np.rint(final.canvases[-1] * 255)).max() <= 1
    # and it shows learning: from a blurred mean digit (a third of it grey) to strokes on black

    def grey(a):
        return ((a > 50) & (a < 205)).mean()
    assert grey(history.samples[0]) > 0.2 and grey(history.samples[-1]) < grey(history.samples[0]) / 3
    assert (model.folder / HISTORY_NAME).stat().st_size < 5e6
