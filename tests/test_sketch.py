"""The Sketch tab (draw your own digit, the model reads it) and `draw-gui reconstruct`."""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from core.reconstruct import fit_image, paint_segment, read_image


@pytest.fixture(scope="module")
def mnist_model():
    from core.checkpoint import load_model
    from draw_gui.models.shipped import shipped_model
    model, _, _ = load_model(shipped_model("mnist").checkpoint, "cpu")
    return model


@pytest.fixture(scope="module")
def digits():
    from draw_gui.resources import embedded_mnist
    return embedded_mnist().test[:4].float().numpy() / 255.0      # (4, 1, 28, 28)


@pytest.fixture
def view(qtbot, mnist_model):
    from draw_gui.sketch.view import SketchView
    v = SketchView()
    qtbot.addWidget(v)
    v.resize(900, 500)
    v.live_checkbox.setChecked(False)      # tests read on purpose
    v.set_model(mnist_model)
    v.show()
    qtbot.waitExposed(v)
    return v


def _drag(canvas, points, button=Qt.MouseButton.LeftButton):
    """A mouse stroke through image points (pixel units)."""
    at = [canvas.to_widget(x, y).toPoint() for x, y in points]
    QTest.mousePress(canvas, button, Qt.KeyboardModifier.NoModifier, at[0])
    for p in at[1:]:
        QTest.mouseMove(canvas, p)
    QTest.mouseRelease(canvas, button, Qt.KeyboardModifier.NoModifier, at[-1])


# ---------------------------------------------------------------------- core maths

def test_paint_segment_paints_the_stroke_and_erases_it():
    a = np.zeros((1, 28, 28), np.float32)
    paint_segment(a, (4, 14), (24, 14), width=2)
    assert a[0, 13:15, 5:24].min() == 1.0             # on the stroke
    assert a[0, :10].max() == 0 and a[0, 18:].max() == 0  # far from it
    paint_segment(a, (0, 14), (28, 14), width=4, erase=True)
    assert a.max() == 0


def test_read_image_is_deterministic_and_means_are_the_mean_path(mnist_model, digits):
    x = digits[0]
    r1, r2 = read_image(mnist_model, x), read_image(mnist_model, x)
    assert r1.bound == r2.bound                       # fixed noise: the same number every time
    T, Z = mnist_model.config.glimpses, mnist_model.config.z_size
    assert r1.means.shape == (T, Z) and r1.kl.shape == (T,)
    assert r1.bound == pytest.approx(r1.recon + r1.kl.sum(), rel=1e-5)
    with torch.no_grad():
        encoded = mnist_model.encode(torch.from_numpy(x)[None], eps=torch.zeros(T, 1, Z))[0].numpy()
    np.testing.assert_allclose(r1.means, encoded, atol=1e-4)
    assert r1.trace.glimpses == T and r1.trace.batch == 1
    np.testing.assert_allclose(r1.trace.kl_steps, r1.kl)
    # decoding the means draws the mean path's reconstruction (what the Latent tab will show)
    with torch.no_grad():
        image, _ = mnist_model.generate(z=torch.from_numpy(r1.means))
    np.testing.assert_allclose(image[0].numpy(), r1.reconstruction, atol=1e-4)


def test_a_digit_is_more_digit_like_than_noise(mnist_model, digits):
    noise = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    bounds = [read_image(mnist_model, d).bound for d in digits]
    assert max(bounds) < 200 < read_image(mnist_model, noise).bound


def test_fit_image_inverts_dark_ink_on_paper():
    rgb = np.full((28, 28, 3), 255, np.uint8)
    rgb[10:18, 12:16] = 0
    a = fit_image(rgb, (1, 28, 28))
    assert a.shape == (1, 28, 28) and a[0, 0, 0] == 0 and a[0, 12, 13] == 1
    assert fit_image(rgb, (1, 28, 28), invert="no")[0, 0, 0] == 1
    assert fit_image(rgb, (3, 28, 28)).shape == (3, 28, 28)


# ---------------------------------------------------------------------- the view

def test_a_mouse_stroke_paints_where_drawn_and_clear_empties(view):
    canvas = view.canvas
    assert canvas.is_empty() and canvas.shape == (1, 28, 28)
    before = canvas.grab().toImage()
    _drag(canvas, [(6, 14), (14, 14), (22, 14)])
    pixels = canvas.pixels()[0]
    assert pixels[14, 8:20].min() > 0.9                # on the stroke
    assert pixels[:8].max() == 0 and pixels[21:].max() == 0
    # and the widget shows it: the widget pixel over the stroke turned white, the one far off did not
    image = canvas.grab().toImage()
    on, off = canvas.to_widget(14, 14.5).toPoint(), canvas.to_widget(14, 3).toPoint()
    ratio = image.width() / canvas.width()             # device pixel ratio of the grab
    assert image.pixelColor(on * ratio).lightness() > 200
    assert before.pixelColor(on * ratio).lightness() < 50
    assert image.pixelColor(off * ratio).lightness() < 50
    # the right button erases
    _drag(canvas, [(6, 14), (22, 14)], Qt.MouseButton.RightButton)
    assert canvas.pixels()[0, 14, 9:20].max() == 0
    _drag(canvas, [(14, 4), (14, 24)])
    view.clear_button.click()
    assert canvas.is_empty()
    assert canvas.grab().toImage() == before


def test_a_stroke_changes_the_bound(view, mnist_model):
    empty = view.read()
    assert "NLL bound" in view.bound_label.text()
    _drag(view.canvas, [(14, 5), (14, 23)])            # a "1"
    assert view.is_stale()
    one = view.read()
    assert one.bound != pytest.approx(empty.bound, abs=0.5)
    assert f"{one.bound:.1f}" in view.bound_label.text()
    assert view.glimpse_view.trace() is one.trace
    assert one.bound == read_image(mnist_model, view.canvas.pixels()).bound


def test_live_reading_is_throttled(qtbot, view):
    view.live_checkbox.setChecked(True)
    with qtbot.waitSignal(view.read_done, timeout=3000):
        _drag(view.canvas, [(10, 10), (18, 18)])
    assert not view.is_stale()


def test_anchor_carries_the_drawings_posterior_means(qtbot, view, mnist_model, digits):
    view.canvas.set_pixels(digits[1])
    with qtbot.waitSignal(view.anchor_requested) as blocker:
        view.anchor_b_button.click()
    which, means = blocker.args
    T, Z = mnist_model.config.glimpses, mnist_model.config.z_size
    assert which == "B" and means.shape == (T, Z)
    with torch.no_grad():
        encoded = mnist_model.encode(torch.from_numpy(digits[1])[None], eps=torch.zeros(T, 1, Z))[0].numpy()
    np.testing.assert_allclose(means, encoded, atol=1e-4)


def test_weights_build_a_model_and_load_image(qtbot, mnist_model, tmp_path):
    from draw_gui.sketch.view import SketchView
    from draw_gui.workers.training import ModelWeights
    v = SketchView()
    qtbot.addWidget(v)
    assert not v.read_button.isEnabled() and v.read() is None
    state = {k: t.detach().clone() for k, t in mnist_model.state_dict().items()}
    v.set_weights(ModelWeights(config=mnist_model.config, state=state, step=7, examples=None))
    assert v.read_button.isEnabled() and v.read() is not None
    path = tmp_path / "ink.png"
    rgb = np.full((56, 56, 3), 255, np.uint8)
    rgb[10:46, 26:30] = 0                               # a dark "1" on white paper
    Image.fromarray(rgb).save(path)
    v.load_image(path)
    a = v.canvas.pixels()[0]
    assert a[14, 13:15].min() > 0.8 and a[0].max() < 0.05


# ---------------------------------------------------------------------- the command line

def _cli(argv, capsys):
    """draw-gui reconstruct ... through cli.main once it knows the command, else the same dispatch here."""
    from draw_gui.cli import main as cli_main
    if "reconstruct" in cli_main.COMMANDS:
        code = cli_main.main(argv)
    else:
        from core.checkpoint import CheckpointError
        from draw_gui.cli.common import UsageError
        from draw_gui.cli.reconstruct import add_reconstruct_parser, run_reconstruct
        parser = cli_main._Parser(prog="draw-gui")
        add_reconstruct_parser(parser.add_subparsers(dest="command"))
        try:
            code = run_reconstruct(parser.parse_args(argv))
        except SystemExit as e:
            code = e.code
        except (UsageError, CheckpointError) as e:
            print(f"draw-gui: {e}", file=sys.stderr)
            code = 2
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_writes_the_glimpse_gif_and_prints_the_bound(tmp_path, capsys, mnist_model, digits):
    code, out, err = _cli(["reconstruct", "mnist", "mnist:0", "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    with Image.open(tmp_path / "r" / "glimpses.gif") as gif:
        assert gif.n_frames == mnist_model.config.glimpses
    bound = read_image(mnist_model, digits[0]).bound
    assert f"NLL bound {bound:.2f} nats" in out
    assert f"NLL bound {bound:.2f} nats" in (tmp_path / "r" / "bound.txt").read_text()
    assert "KL per glimpse" in out and (tmp_path / "r" / "reconstruction.png").is_file()


def test_cli_reads_an_image_file(tmp_path, capsys):
    path = tmp_path / "three.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 30), dtype=np.uint8)).save(path)
    code, out, err = _cli(["reconstruct", "mnist", str(path), "--out", str(tmp_path / "o"), "--json"], capsys)
    assert code == 0, err
    import json
    report = json.loads(out)
    assert report["nll_bound"] > 200 and len(report["kl_per_glimpse"]) == 64


@pytest.mark.parametrize("args", [
    ["reconstruct", "no-such-model", "mnist:0"],
    ["reconstruct", "mnist", "mnist:99999"],
    ["reconstruct", "mnist", "mnist:x"],
    ["reconstruct", "mnist", "/no/such/image.png"],
    ["reconstruct", "mnist", "NOT_AN_IMAGE"],
    ["reconstruct", "mnist"],
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args):
    if "NOT_AN_IMAGE" in args:
        bad = tmp_path / "bad.png"
        bad.write_text("not a picture")
        args = [a if a != "NOT_AN_IMAGE" else str(bad) for a in args]
    code, out, err = _cli(args + ["--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err


def test_add_reconstruct_parser_declares_the_command():
    from draw_gui.cli.reconstruct import add_reconstruct_parser
    p = argparse.ArgumentParser()
    add_reconstruct_parser(p.add_subparsers(dest="command"))
    args = p.parse_args(["reconstruct", "mnist", "mnist:3", "--out", "d", "--samples", "4"])
    assert (args.checkpoint, args.image, args.out, args.samples) == ("mnist", "mnist:3", "d", 4)


def test_the_window_sketch_tab_reads_with_the_model_shown_and_anchors_the_latent_tab(qtbot, tmp_path, monkeypatch):
    """In the window: the shipped model reaches the Sketch tab, a drawn stroke is read, and
    'Use as latent anchor A' makes the drawing the Latent tab's interpolation end A."""
    import urllib.request

    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    from tests.test_shipped_models_window import showing
    monkeypatch.setenv("DRAW_GUI_DATA", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network is unreachable")))
    w = MainWindow(Settings(tmp_path / "settings.json"))
    qtbot.addWidget(w)
    w.show()
    showing(qtbot, w, "mnist")
    sketch = w.sketch_view
    w.tabs.setCurrentIndex(w.tabs.indexOf(sketch.parentWidget().parentWidget()))
    qtbot.waitUntil(lambda: sketch._model is not None, timeout=20000)
    canvas = sketch.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    qtbot.mouseMove(canvas, pos=canvas.rect().center() + QPoint(0, 30))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center() + QPoint(0, 30))
    sketch.read_button.click()
    qtbot.waitUntil(lambda: sketch.reading() is not None, timeout=20000)
    assert "nats" in sketch.bound_label.text()
    sketch.anchor_a_button.click()
    means = sketch.reading().means
    assert np.array_equal(w.latent_view.interpolation._a, np.asarray(means, np.float32))
    assert "interpolation end A" in w.statusBar().currentMessage()
    w.close()
