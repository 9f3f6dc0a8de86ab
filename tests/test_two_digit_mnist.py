"""Two-digit MNIST, the paper's "MNIST Generation with Two Digits": two MNIST digits at random places
on a 60x60 canvas, intensities added and clipped. From the data set to a trained model in the window.

The digits come from mnist_dir (the embedded sample written as MNIST's idx files), so no test here
needs ../shared.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import (DATASETS, Batches, DataUnavailable, canonical_dataset_name, load_dataset,
                       two_digit_images)
from core.presets import PRESETS, get_preset, matching_preset
from draw_gui.cli.main import main

TINY = ["--num_glimpses", "3", "--hidden_size", "16", "--latent_size", "4", "--batch_size", "8"]


def run(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def placed_by_hand(digits: torch.Tensor, count: int, seed: int, size: int = 60) -> np.ndarray:
    """The same images, one digit at a time: what two_digit_images' grouped slices must equal."""
    n, h, w = digits.shape[0], digits.shape[-2], digits.shape[-1]
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n, count)
    second = (first + rng.integers(1, n, count)) % n
    ys, xs = rng.integers(0, size - h + 1, (2, count)), rng.integers(0, size - w + 1, (2, count))
    out = np.zeros((count, size, size), np.int64)
    for i in range(count):
        for k, which in enumerate((first[i], second[i])):
            out[i, ys[k, i]:ys[k, i] + h, xs[k, i]:xs[k, i] + w] += digits[which, 0].numpy()
    return np.minimum(out, 255)


@pytest.fixture(scope="module")
def two_digits(mnist_dir):
    return load_dataset("two-digit-mnist", data_dir=mnist_dir, download=False)


# ----------------------------------------------------------------------------- the images

def test_each_image_is_two_different_digits_added_and_clipped():
    digits = torch.randint(0, 256, (50, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    images = two_digit_images(digits, 400, seed=7)
    assert images.shape == (400, 1, 60, 60) and images.dtype == torch.uint8
    np.testing.assert_array_equal(images[:, 0].numpy(), placed_by_hand(digits, 400, seed=7))
    assert torch.equal(images, two_digit_images(digits, 400, seed=7))          # the same on every call
    assert not torch.equal(images, two_digit_images(digits, 400, seed=8))


def test_overlapping_digits_clip_at_white_and_never_wrap():
    digits = torch.full((2, 1, 28, 28), 200, dtype=torch.uint8)       # wherever both lie, 400 -> 255
    images = two_digit_images(digits, 200, seed=0)
    values = set(images.unique().tolist())
    assert values == {0, 200, 255}                                    # 400 % 256 = 144 would be a wrap
    ink = (images > 0).flatten(1).sum(1)
    assert ink.min() >= 28 * 28 and ink.max() <= 2 * 28 * 28          # two whole digits, inside the canvas


def test_load_two_digit_mnist_from_the_mnist_files(two_digits, mnist_dir):
    mnist = load_dataset("mnist", data_dir=mnist_dir, download=False)
    assert two_digits.name == "two-digit-mnist" and two_digits.binarization == "stochastic"
    assert two_digits.image_shape == (1, 60, 60)
    assert (two_digits.train.shape[0], two_digits.test.shape[0]) == (mnist.train.shape[0], mnist.test.shape[0])
    assert "two digits per 60x60 image" in two_digits.source and "MNIST" in two_digits.source
    # each test image's ink is two test digits' ink (the ones with no overlap: exactly their sum)
    np.testing.assert_array_equal(two_digits.test[:20, 0].numpy(), placed_by_hand(mnist.test, 2000, 61)[:20])
    # the fixed evaluation binarization: binary, and the same whatever the training seed
    a, b = Batches(two_digits, 8, seed=0).test_images(), Batches(two_digits, 8, seed=5).test_images()
    assert torch.equal(a, b) and set(a.unique().tolist()) <= {0.0, 1.0}


def test_image_size_scales_the_canvas(mnist_dir):
    data = load_dataset("two-digit-mnist", data_dir=mnist_dir, download=False, image_size=30)
    assert data.image_shape == (1, 30, 30)


@pytest.mark.parametrize("spelling", ["two-digit-mnist", "Two_Digit_MNIST", "mnist-two-digits", "two digits"])
def test_its_names(spelling):
    assert canonical_dataset_name(spelling) == "two-digit-mnist"
    assert "two-digit-mnist" in DATASETS


def test_without_mnist_files_the_message_says_they_are_what_it_needs(tmp_path):
    with pytest.raises(DataUnavailable) as e:
        load_dataset("two-digit-mnist", data_dir=tmp_path, download=False)
    text = str(e.value)
    assert text.startswith("Two-digit MNIST is made from the MNIST digits.")
    assert str(tmp_path / "MNIST" / "raw") in text and "train-images-idx3-ubyte" in text


# ----------------------------------------------------------------------------- the preset

def test_preset_is_the_mnist_model_on_60x60_and_says_where_it_comes_from():
    p = PRESETS["two-digit-mnist"]
    assert p.dataset == "two-digit-mnist" and (p.size, p.paper_size) == (60, 60)
    assert p.model == PRESETS["mnist"].model                       # Table 3 has no row of its own
    assert "MNIST model row (it has none for Two-digit MNIST)" in p.description()
    assert p.train == {"lr": 3e-4} and "learning rate 0.0003" in p.summary()
    assert all(not q.train for q in PRESETS.values() if q is not p)   # the others keep draw-gui's defaults
    assert get_preset("two-digits") is p and get_preset("Two_Digit_MNIST") is p
    assert matching_preset("two-digit-mnist", PRESETS["mnist"].model) is p
    assert matching_preset("mnist", PRESETS["mnist"].model) is PRESETS["mnist"]


# ----------------------------------------------------------------------------- the command line

def test_train_the_preset_from_the_command_line_writes_60x60_images(capsys, tmp_path, mnist_dir):
    from PIL import Image

    from core.checkpoint import load_checkpoint
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--preset", "two-digits", *TINY, "--max-steps", "2", "--no-eval",
                       "--save_image", "--img_per_row", "4", "--data-dir", mnist_dir, "--no_download", "--out", out)
    assert code == 0, err
    assert "preset two-digit-mnist (DRAW Table 3's MNIST model row; changed: T 64 -> 3" in err
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["dataset"] == "two-digit-mnist" and tuple(ckpt["model_config"]["image_shape"]) == (1, 60, 60)
    assert ckpt["train_config"]["lr"] == 3e-4                          # the preset's, not the default 1e-3
    with Image.open(out / "images" / "step_000002" / "samples.png") as png:
        assert png.size == (4 * 121 + 1, 4 * 121 + 1)                   # 4x4 samples of 60 px at scale 2
    code, out_text, err = run(capsys, "eval", out / "checkpoint.pt", "--json", "--data_dir", mnist_dir,
                              "--no_download", "--limit", "16")
    assert code == 0, err
    assert '"binarization": "stochastic"' in out_text


def test_a_learning_rate_given_overrides_the_presets_and_the_run_says_so(capsys, tmp_path, mnist_dir):
    code, _, err = run(capsys, "train", "--preset", "two-digit-mnist", *TINY, "--lr", "1e-3", "--max-steps", "1",
                       "--no-eval", "--data-dir", mnist_dir, "--no_download", "--out", tmp_path / "run")
    assert code == 0, err
    assert "lr 0.0003 -> 0.001" in err


def test_train_help_lists_the_preset_and_the_dataset(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    assert "two-digit-mnist T 64, LSTM 256, z 100, read 2x2, write 5x5, 60x60 images, learning rate 0.0003" in out
    assert "Table 3 has no row for two-digit MNIST" in out
    assert "two-digit-mnist (two digits on 60x60" in " ".join(out.split())


# ----------------------------------------------------------------------------- the window

def test_window_offline_trains_on_two_digits_made_from_the_embedded_sample(qtbot, new_window, monkeypatch):
    import urllib.request
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    w = new_window()
    w.config_panel.preset.setCurrentIndex(w.config_panel.preset.findData("two-digit-mnist"))
    assert w.config_panel.values()["dataset"] == "two-digit-mnist"
    assert "60×60 canvas" in w.config_panel.dataset.itemData(w.config_panel.dataset.currentIndex(), 3)
    assert w.config_panel.configs()[0].image_shape == (1, 60, 60)
    assert w.config_panel.configs()[1].lr == 3e-4 and w.config_panel.values()["lr"] == "0.0003"
    assert "Table 3's MNIST model row" in w.config_panel.preset.itemData(
        w.config_panel.preset.currentIndex(), 3)                     # the chooser's tooltip
    w.config_panel.set_values({**w.config_panel.values(), "glimpses": 3, "hidden": 16, "z_size": 4,
                               "batch_size": 8})
    assert w.config_panel.preset.currentText() == "custom"
    w.start_button.click()
    qtbot.waitUntil(lambda: w.glimpse_view.trace() is not None, timeout=60000)
    assert w.banner.isVisible() and "two-digit images made from the embedded MNIST sample" in w.banner.text()
    images = w.glimpse_view.trace().images
    assert images.shape[1:] == (1, 60, 60)
    from core.data import two_digit_mnist
    from draw_gui.resources import embedded_mnist
    expected = Batches(two_digit_mnist(embedded_mnist()), 1).examples(len(images)).numpy()
    np.testing.assert_array_equal(images, expected)      # the first test images made from the sample
    qtbot.waitUntil(lambda: w.state == "running", timeout=10000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state in ("stopped", "finished"), timeout=10000)


def test_a_two_digit_run_opened_where_mnist_is_gone_uses_images_made_from_the_sample(
        qtbot, new_window, capsys, tmp_path, mnist_dir):
    """Its data folder deleted, a two-digit checkpoint still opens, to train (paused) and to view
    read-only, on test images made from the embedded sample, instead of failing to open."""
    import shutil
    data = tmp_path / "data"
    shutil.copytree(mnist_dir, data)
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--dataset", "two-digit-mnist", *TINY, "--max-steps", "2", "--no-eval",
                       "--quiet", "--data-dir", data, "--no_download", "--out", out)
    assert code == 0, err
    shutil.rmtree(data)
    w = new_window()
    w.open_checkpoint(str(out / "checkpoint.pt"))                       # to train on: paused
    qtbot.waitUntil(lambda: w.run_info is not None and w.glimpse_view.trace() is not None, timeout=60000)
    assert not w.run_info.view_only and w.run_info.step == 2 and not w.dialogs
    assert w.glimpse_view.trace().images.shape[1:] == (1, 60, 60)
    assert w.banner.isVisible() and "two-digit images made from the embedded MNIST sample" in w.banner.text()
    w.close()
    w = new_window()
    w.view_checkpoint(str(out / "checkpoint.pt"))                       # read-only, as a shipped model is
    qtbot.waitUntil(lambda: w.run_info is not None and w.glimpse_view.trace() is not None, timeout=60000)
    assert w.run_info.view_only and not w.dialogs
    assert w.glimpse_view.trace().images.shape[1:] == (1, 60, 60)
    assert "embedded sample" in w.run_info.source
    from draw_gui.compare.view import CompareView                      # and in the Compare tab,
    (out / "snapshot.npz").unlink()                                     # drawn from the checkpoint
    v = CompareView()
    qtbot.addWidget(v)
    run_id = v.add_run(out)
    qtbot.waitUntil(lambda: not v.busy() and v.column(run_id).trace() is not None, timeout=60000)
    column = v.column(run_id)
    assert column.trace().images.shape[1:] == (1, 60, 60)
    assert "test images made from the embedded MNIST sample" in column.source()
    v.shutdown()
