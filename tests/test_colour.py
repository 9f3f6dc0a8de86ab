"""Colour images (CIFAR-10, SVHN) in every view, the paper's presets, and grey views unchanged.

CIFAR-10 files are written here in their real format (pickled python batches, as in
test_data.py), with coloured shapes on coloured backgrounds; training on them is a few steps of
a tiny model. Pixels are checked where a person would look: a red input must show red.
"""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from core.config import DrawConfig
from core.export import OUTLINE_COLOUR, READ_COLOUR, WRITE_COLOUR, glimpse_panel, save_drawing_gif
from core.presets import PRESETS, get_preset, matching_preset
from core.trace import GlimpseTrace
from draw_gui.cli.main import main
from tests.helpers import shown

TINY = ["--num_glimpses", "3", "--hidden_size", "16", "--latent_size", "4", "--batch_size", "8"]


def coloured_shapes(n: int, seed: int) -> np.ndarray:
    """(n, 3, 32, 32) uint8: an orange square on a blue background (so even the mean image,
    what an untrained model draws, is colour)."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, 3, 32, 32), np.uint8)
    for i in range(n):
        x[i] = rng.integers((0, 0, 150), (60, 60, 230))[:, None, None]
        r, c = rng.integers(4, 20, 2)
        x[i, :, r:r + 10, c:c + 10] = rng.integers((200, 60, 0), (256, 120, 40))[:, None, None]
    return x


def write_cifar(root, per_batch: int = 8, test: int = 8):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for b in range(1, 6):
        with open(folder / f"data_batch_{b}", "wb") as f:
            pickle.dump({"data": coloured_shapes(per_batch, b).reshape(per_batch, -1), "labels": [0] * per_batch}, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": coloured_shapes(test, 99).reshape(test, -1), "labels": [0] * test}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane"] * 10}, f)
    return root


@pytest.fixture
def skip_md5(monkeypatch):
    # torchvision checks CIFAR-10 files against the published md5 sums, which these small files
    # cannot match; here only, any file that exists passes.
    import torchvision.datasets.cifar
    import torchvision.datasets.svhn
    exists = lambda fpath, md5=None: os.path.isfile(fpath)  # noqa: E731
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", exists)
    monkeypatch.setattr(torchvision.datasets.svhn, "check_integrity", exists)


def run(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def is_colour(rgb: np.ndarray) -> bool:
    """Some pixel's channels differ clearly (not grey)."""
    rgb = np.asarray(rgb, np.int16)
    return int((rgb.max(-1) - rgb.min(-1)).max()) > 40


def red_trace(T: int = 3, B: int = 4) -> GlimpseTrace:
    """Red inputs, red canvases, centred read and write boxes."""
    images = np.zeros((B, 3, 8, 8), np.float32)
    images[:, 0] = 1.0
    box = np.tile(np.array([4.5, 4.5, 1.0, 0.5, 1.0], np.float32), (T, B, 1))   # a 3x3 box at the centre
    return GlimpseTrace(canvases=np.broadcast_to(images, (T, *images.shape)).copy(), read=box, write=box.copy(),
                        read_size=3, write_size=3, images=images, kl_steps=np.ones(T))


# ----------------------------------------------------------------------------- presets

def test_presets_are_table_3_of_the_paper():
    table = {"mnist": (64, 256, 100, 2, 5), "svhn": (32, 800, 100, 12, 12), "cifar10": (64, 400, 200, 5, 5)}
    assert set(PRESETS) == set(table) | {"two-digit-mnist"}    # that one's model is the MNIST row (Table 3 has none)
    for name, (T, h, z, read, write) in table.items():
        p = PRESETS[name]
        shape = (1, 28, 28) if name == "mnist" else (3, 32, 32)
        cfg = DrawConfig(image_shape=shape, **p.model).validate()
        assert (cfg.glimpses, cfg.enc_size, cfg.dec_size, cfg.z_size, cfg.read_size, cfg.write_size) == (T, h, h, z, read, write)
        assert cfg.attention == "gaussian" and p.dataset == name and "Table 3" in p.description()
    assert PRESETS["svhn"].size == 32 and PRESETS["svhn"].paper_size == 64 and "64x64" in PRESETS["svhn"].summary()
    assert get_preset("CIFAR-10") is PRESETS["cifar10"] and get_preset("cifar") is PRESETS["cifar10"]
    with pytest.raises(ValueError, match="mnist, svhn, cifar10, two-digit-mnist"):
        get_preset("imagenet")
    assert matching_preset("cifar10", PRESETS["cifar10"].model) is PRESETS["cifar10"]
    assert matching_preset("cifar10", {**PRESETS["cifar10"].model, "glimpses": 8}) is None
    assert matching_preset("svhn", PRESETS["cifar10"].model) is None


def test_train_help_lists_the_presets_with_their_numbers(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0 and "--preset NAME" in out
    words = " ".join(out.split())
    assert "cifar10 T 64, LSTM 400, z 200, read 5x5, write 5x5" in words
    assert "svhn T 32, LSTM 800, z 100, read 12x12, write 12x12" in words and "mnist T 64, LSTM 256" in words


def test_preset_sets_the_model_and_explicit_options_override_it(capsys, tmp_path, skip_md5):
    data = write_cifar(tmp_path / "data")
    code, _, err = run(capsys, "train", "--preset", "cifar10", "--num_glimpses", "3", "--hidden_size", "16",
                       "--batch_size", "8", "--max-steps", "1", "--no-eval", "--data-dir", data,
                       "--out", tmp_path / "run")
    assert code == 0, err
    from core.checkpoint import load_checkpoint
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    m = ckpt["model_config"]
    assert ckpt["dataset"] == "cifar10" and tuple(m["image_shape"]) == (3, 32, 32)
    assert (m["glimpses"], m["enc_size"], m["dec_size"]) == (3, 16, 16)                    # the options won
    assert (m["z_size"], m["read_size"], m["write_size"]) == (200, 5, 5)                  # the rest is Table 3
    assert "preset cifar10 (DRAW Table 3; changed: T 64 -> 3, LSTM 400 -> 16)" in err
    code, _, err = run(capsys, "train", "--preset", "svhn", "--dataset", "cifar10", "--max-steps", "1", "--no-eval",
                       "--batch_size", "8", "--data-dir", data, "--out", tmp_path / "run2")
    assert code == 0 and "preset svhn (DRAW Table 3; changed: dataset svhn -> cifar10)" in err, err


@pytest.mark.parametrize("argv, words", [
    (["--preset", "imagenet"], ["Unknown preset 'imagenet'", "mnist, svhn, cifar10"]),
    (["--preset", "svhn", "--restore", "x/checkpoint.pt"], ["--preset cannot change when restoring"]),
])
def test_bad_presets_exit_2_with_one_line(capsys, tmp_path, argv, words, trained_cifar):
    argv = [a.replace("x/checkpoint.pt", str(trained_cifar)) for a in argv]
    code, _, err = run(capsys, "train", *argv, "--out", tmp_path / "run")
    assert code == 2 and len(err.strip().splitlines()) == 1 and all(w in err for w in words), err
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- the command line

@pytest.fixture
def trained_cifar(tmp_path, skip_md5, capsys):
    data = write_cifar(tmp_path / "data")
    out = tmp_path / "cifar-run"
    code, _, err = run(capsys, "train", "--dataset", "cifar10", *TINY, "--max-steps", "4", "--no-eval", "--quiet",
                       "--save_image", "--img_per_row", "4", "--data-dir", data, "--out", out)
    assert code == 0, err
    return out / "checkpoint.pt"


def test_training_on_cifar_files_writes_colour_images_and_sample_draws_colour(capsys, tmp_path, trained_cifar):
    images = trained_cifar.parent / "images" / "step_000004"
    panel = np.asarray(Image.open(images / "glimpse_01.png"))
    assert panel.ndim == 3 and is_colour(panel)
    with Image.open(images / "glimpses.gif") as gif:
        assert gif.n_frames == 3 and is_colour(np.asarray(gif.convert("RGB")))
    code, out, err = run(capsys, "sample", trained_cifar, "-n", "4", "--out", tmp_path / "samples")
    assert code == 0, err
    with Image.open(tmp_path / "samples" / "samples.png") as png:
        assert png.mode == "RGB" and png.size == (4 * 65 + 1, 66)    # 32 px at scale 2, 1 px padding
        assert is_colour(np.asarray(png))


def test_svhn_preset_trains_on_mat_files_in_colour(capsys, tmp_path, skip_md5):
    """SVHN out of the box: scipy is a dependency, so the .mat files load (and the preset's
    12x12 read and write fit its 32x32 images)."""
    sio = pytest.importorskip("scipy.io", reason="scipy is not installed (pip install -e . brings it)")
    for split, n in (("train", 16), ("test", 8)):
        sio.savemat(tmp_path / f"{split}_32x32.mat", {"X": coloured_shapes(n, len(split)).transpose(2, 3, 1, 0),
                                                      "y": np.ones((n, 1), np.uint8)})   # SVHN's H, W, C, N
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--preset", "svhn", *TINY, "--max-steps", "2", "--no-eval", "--save_image",
                       "--img_per_row", "4", "--data-dir", tmp_path, "--out", out)
    assert code == 0, err
    assert "preset svhn (DRAW Table 3; changed: T 32 -> 3, LSTM 800 -> 16, z 100 -> 4)" in err
    from core.checkpoint import load_checkpoint
    m = load_checkpoint(out / "checkpoint.pt")["model_config"]
    assert tuple(m["image_shape"]) == (3, 32, 32) and (m["read_size"], m["write_size"]) == (12, 12)
    assert is_colour(np.asarray(Image.open(out / "images" / "step_000002" / "samples.png")))


# ----------------------------------------------------------------------------- exports

def test_exported_png_and_gif_of_a_colour_trace_are_colour_with_outlined_boxes(tmp_path):
    trace = red_trace()
    panel = np.asarray(glimpse_panel(trace, 0, per_row=4, scale=4))
    cell = panel[1:33, 1:33]                     # the first input cell, 8 px at scale 4
    assert tuple(cell[2, 2]) == (255, 0, 0)      # red stays red
    # the 3x3 read box of stride 1 spans [2.5, 5.5), 10..21 at scale 4: green with a dark line each side
    assert tuple(cell[16, 10]) == READ_COLOUR and tuple(cell[16, 9]) == OUTLINE_COLOUR == tuple(cell[16, 11])
    save_drawing_gif(trace, tmp_path / "d.gif", per_row=4)
    with Image.open(tmp_path / "d.gif") as gif:
        frame = np.asarray(gif.convert("RGB"))
    assert tuple(frame[3, 3]) == (255, 0, 0)
    assert {tuple(p) for p in frame.reshape(-1, 3)} >= {READ_COLOUR, WRITE_COLOUR, OUTLINE_COLOUR}


def test_grey_panels_are_unchanged_grey_with_bare_boxes():
    """MNIST-like: grey pixels, and no dark outline beside the boxes (a regression check)."""
    trace = red_trace()
    grey = GlimpseTrace(canvases=np.full((3, 4, 1, 8, 8), 0.5, np.float32), read=trace.read, write=trace.write,
                        read_size=3, write_size=3, images=np.full((4, 1, 8, 8), 0.5, np.float32))
    panel = np.asarray(glimpse_panel(grey, 0, per_row=4, scale=4))
    cell = panel[1:33, 1:33]
    assert tuple(cell[16, 10]) == READ_COLOUR and tuple(cell[16, 9]) == (128, 128, 128) == tuple(cell[16, 11])
    boxes = np.all(panel == READ_COLOUR, -1) | np.all(panel == WRITE_COLOUR, -1)
    rest = panel[~boxes]
    assert np.all(rest[:, 0] == rest[:, 1]) and np.all(rest[:, 1] == rest[:, 2])   # grey everywhere else


# ----------------------------------------------------------------------------- the window's views

def qimage_rgb(image) -> np.ndarray:
    image = image.convertToFormat(image.Format.Format_RGB888)
    ptr = image.constBits()
    a = np.frombuffer(ptr, np.uint8, count=image.bytesPerLine() * image.height())
    return a.reshape(image.height(), image.bytesPerLine())[:, :3 * image.width()].reshape(image.height(), image.width(), 3)


def test_glimpse_viewer_shows_a_red_input_red_in_the_input_and_canvas_panels(qtbot):
    from draw_gui.glimpses.view import GlimpseView
    view = GlimpseView()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    view.set_trace(red_trace())
    pixels = qimage_rgb(view.image())
    for half in ("input", "canvas"):
        r = view.cell_rect(half, 1)
        assert tuple(pixels[int(r.top()) + 1, int(r.left()) + 1]) == (255, 0, 0), half
    view.error_checkbox.setChecked(True)
    view.set_t(2)     # x - sigma(c_1) = 0 everywhere: mid-grey, the channels kept
    r = view.cell_rect("input", 0)
    assert tuple(qimage_rgb(view.image())[int(r.top()) + 1, int(r.left()) + 1]) == (128, 128, 128)


def colour_weights():
    from core.model import DRAW
    from draw_gui.workers.training import ModelWeights
    config = DrawConfig(image_shape=(3, 16, 16), glimpses=3, enc_size=16, dec_size=16, z_size=4)
    torch.manual_seed(0)
    model = DRAW(config)
    with torch.no_grad():    # a red-orange canvas: R, G and B clearly apart
        model.canvas0.copy_(torch.tensor([4.0, 0.0, -4.0]).view(3, 1, 1).expand(3, 16, 16))
    return ModelWeights(config=config, state={k: v.clone() for k, v in model.state_dict().items()}, step=1,
                        examples=torch.rand(8, 3, 16, 16).numpy())


def test_latent_tab_shows_colour_samples_grid_and_drawing_and_saves_colour(qtbot, tmp_path, monkeypatch):
    from draw_gui.latent.view import LatentView
    view = shown(qtbot, LatentView(), 1000, 640)
    view.set_weights(colour_weights())
    qtbot.waitUntil(lambda: view.up_to_date() and view.grid_images() is not None, timeout=10000)
    assert view.image().shape == (3, 16, 16)
    for widget in (view.sample, view.grid, view.drawing.canvas):
        rgb = qimage_rgb(widget.image()).reshape(-1, 3).astype(int)
        inside = rgb[rgb.sum(1) > 0]
        r, g, b = np.median(inside, 0)
        assert r > g + 60 and g > b + 60, (widget, r, g, b)
    view.pad.moved.emit(2.0, -1.0)               # the pad redraws the sample, still in colour
    qtbot.waitUntil(view.up_to_date, timeout=10000)
    assert is_colour(qimage_rgb(view.sample.image()))
    path = tmp_path / "sample.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    view.save_sample_png()
    with Image.open(path) as png:
        assert png.mode == "RGB" and is_colour(np.asarray(png))
    view.interpolation.set_a_button.click()
    view.randomize()
    view.interpolation.set_b_button.click()
    path = tmp_path / "mix.gif"
    with qtbot.waitSignal(view.shown, timeout=10000, check_params_cb=lambda kind: kind == "frames"):
        view.interpolation.save_interpolation_gif()
    with Image.open(path) as gif:
        assert gif.n_frames == view.interpolation.frames_spin.value() and is_colour(np.asarray(gif.convert("RGB")))
    view.shutdown()


# ----------------------------------------------------------------------------- the configuration panel

def test_preset_chooser_fills_the_fields_and_editing_shows_custom(qtbot):
    from draw_gui.window.config_panel import ConfigPanel
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    assert panel.preset.currentData() == "mnist"      # the defaults are the paper's MNIST model
    assert "Table 3" in panel.preset.toolTip()
    panel.preset.setCurrentIndex(panel.preset.findData("svhn"))
    v = panel.values()
    assert (v["dataset"], v["glimpses"], v["hidden"], v["z_size"], v["read_size"], v["write_size"]) == \
        ("svhn", 32, 800, 100, 12, 12)
    model, _ = panel.configs()
    assert model.image_shape == (3, 32, 32) and panel.is_valid()
    panel.fields["z_size"].setValue(50)
    assert panel.preset.currentText() == "custom"
    panel.fields["z_size"].setValue(100)               # back to the paper's numbers
    assert panel.preset.currentData() == "svhn"
    panel.dataset.setCurrentIndex(panel.dataset.findData("cifar10"))
    assert panel.preset.currentText() == "custom"      # SVHN's model on CIFAR-10 is no preset


def test_window_trains_on_cifar_and_every_tab_shows_colour(qtbot, tmp_path, skip_md5, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    from draw_gui.window.settings import Settings
    from draw_gui.window.main_window import MainWindow
    data = write_cifar(tmp_path / "data")
    w = MainWindow(Settings(tmp_path / "settings.json"))
    qtbot.addWidget(w)
    monkeypatch.setattr(w, "_exec", lambda box: QMessageBox.Discard)
    w.config_panel.apply_preset("cifar10")
    w.config_panel.set_values({**w.config_panel.values(), "data_dir": str(data), "glimpses": 3, "hidden": 16,
                               "z_size": 4, "batch_size": 8})
    w.show()
    w.start_button.click()
    qtbot.waitUntil(lambda: w.glimpse_view.trace() is not None, timeout=30000)
    assert w.glimpse_view.trace().images.shape == (8, 3, 32, 32)
    assert is_colour(qimage_rgb(w.glimpse_view.image()))
    w.tabs.setCurrentWidget(w.latent_view)
    qtbot.waitUntil(lambda: w.latent_view.grid_images() is not None and w.latent_view.up_to_date(), timeout=30000)
    for widget in (w.latent_view.sample, w.latent_view.grid, w.latent_view.drawing.canvas):
        assert is_colour(qimage_rgb(widget.image())), widget
    w.worker.dirty = False
    w.close()


def test_display_with_a_preset_opens_the_window_showing_that_preset(qtbot, monkeypatch):
    import draw_gui.app
    from draw_gui.window.config_panel import ConfigPanel
    seen = []
    monkeypatch.setattr(draw_gui.app, "run_app", lambda *a, **k: seen.append(k.get("setup")) or 0)
    assert main(["train", "--display", "--preset", "cifar10", "--backend", "cpu"]) == 0
    setup = seen[0]
    assert setup.dataset == "cifar10" and (setup.model.glimpses, setup.model.z_size, setup.model.enc_size) == (64, 200, 400)
    panel = ConfigPanel()       # what MainWindow.start_with shows
    qtbot.addWidget(panel)
    panel.show_configs(setup.model, setup.train, setup.dataset)
    assert panel.preset.currentText() == "CIFAR-10 (paper)" and panel.configs()[0].image_shape == (3, 32, 32)


def test_cifar_files_that_fail_the_checksum_are_named_as_such(tmp_path):
    """Files of the right names that are not the published ones: the message says to replace them,
    not torchvision's "use download=True"."""
    from core.data import DataUnavailable, load_dataset
    write_cifar(tmp_path)
    with pytest.raises(DataUnavailable) as e:
        load_dataset("cifar10", tmp_path, download=False)
    message = str(e.value)
    assert "do not match the published checksums" in message and "replace them" in message
    assert "download=True" not in message
