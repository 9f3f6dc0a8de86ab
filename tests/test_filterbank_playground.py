"""The filterbank playground (issue 17): its numbers are core.attention's, its pictures show them
where they should be, the mouse moves the glimpse, and `draw-gui filterbank` writes the same panel."""
from __future__ import annotations

import argparse
import math
import types

import numpy as np
import pytest
import torch
from PIL import Image

from core.attention import GaussianRead, GaussianWrite, filterbank
from core.export import box_palette
from draw_gui import playground as pg
from draw_gui.cli.common import EXIT_USAGE
from draw_gui.cli.filterbank import add_filterbank_parser

GLIMPSES = [pg.Glimpse(14.5, 14.5, 2.0, 1.0, 1.0, 12), pg.Glimpse(9.3, 20.1, 1.4, 0.6, 2.5, 5),
            pg.Glimpse(3.0, 25.0, 3.7, 4.2, 0.4, 7), pg.Glimpse(14.0, 14.0, 1.0, 0.3, 1.0, 1)]


def _col(v):
    return torch.tensor([[float(v)]])


def _reference(image, g):
    """gamma F_Y x F_X^T (eq. 27) and F_Y^T patch F_X / gamma (eq. 29) from core.attention.filterbank."""
    _, H, W = image.shape
    F_x, F_y = filterbank(_col(g.gx), _col(g.gy), _col(g.delta), _col(g.sigma2), g.N, W, H)
    x = torch.from_numpy(image)
    patch = g.gamma * F_y[0] @ x @ F_x[0].T
    return F_x[0].numpy(), F_y[0].numpy(), patch.numpy(), (F_y[0].T @ patch @ F_x[0] / g.gamma).numpy()


@pytest.fixture
def digit():
    return pg.mnist_digit(7)


@pytest.mark.parametrize("g", GLIMPSES)
def test_the_numbers_are_core_attentions(digit, g):
    p = pg.compute(digit, g)
    F_x, F_y, patch, writeback = _reference(digit, g)
    assert p.F_X.shape == (g.N, 28) and p.F_Y.shape == (g.N, 28) and p.patch.shape == (1, g.N, g.N)
    np.testing.assert_allclose(p.F_X, F_x, atol=1e-7)
    np.testing.assert_allclose(p.F_Y, F_y, atol=1e-7)
    np.testing.assert_allclose(p.patch, patch, atol=1e-6)
    np.testing.assert_allclose(p.writeback, writeback, atol=1e-6)
    # eq. 29 written out: sum_ij patch_ij F_Y[i, b] F_X[j, a] / gamma
    explicit = np.einsum("ij,ib,ja->ba", p.patch[0], p.F_Y, p.F_X) / g.gamma
    np.testing.assert_allclose(p.writeback[0], explicit, atol=1e-6)


def test_a_rectangular_colour_image_uses_both_filterbanks():
    rng = np.random.default_rng(0)
    image = rng.random((3, 20, 32), dtype=np.float32)
    g = pg.Glimpse(10.0, 7.0, 1.5, 0.8, 1.3, 6)
    p = pg.compute(image, g)
    F_x, F_y, patch, writeback = _reference(image, g)
    assert p.F_X.shape == (6, 32) and p.F_Y.shape == (6, 20) and p.patch.shape == (3, 6, 6)
    np.testing.assert_allclose(p.patch, patch, atol=1e-6)
    np.testing.assert_allclose(p.writeback, writeback, atol=1e-6)


def _as_head(g, N, A, B):
    """The linear head's bias giving glimpse g through eq. 22-24 (zero weights: h_dec plays no part)."""
    gx_ = 2 * g.gx / (A + 1) - 1
    gy_ = 2 * g.gy / (B + 1) - 1
    log_delta_ = math.log(g.delta * (N - 1) / (max(A, B) - 1))
    return torch.tensor([gx_, gy_, math.log(g.sigma2), log_delta_, math.log(g.gamma)])


@pytest.mark.parametrize("g", GLIMPSES[:3])
def test_the_patch_is_the_models_read_and_the_writeback_its_write(digit, g):
    config = types.SimpleNamespace(image_shape=(1, 28, 28), read_size=g.N, write_size=g.N, dec_size=4)
    read, write = GaussianRead(config), GaussianWrite(config)
    with torch.no_grad():
        read.params.weight.zero_()
        read.params.bias.copy_(_as_head(g, g.N, 28, 28))
        x = torch.from_numpy(digit)[None]
        r, params = read(x, torch.zeros_like(x), torch.zeros(1, 4))
    assert [float(v) for v in params] == pytest.approx([g.gx, g.gy, g.delta, g.sigma2, g.gamma], rel=1e-5)
    p = pg.compute(digit, g)
    np.testing.assert_allclose(p.patch.reshape(-1), r[0, :g.N * g.N].numpy(), atol=1e-5)
    with torch.no_grad():
        write.patch.weight.zero_()
        write.patch.bias.copy_(torch.from_numpy(p.patch.reshape(-1)))
        update, _ = write(torch.zeros(1, 4), glimpse=tuple(_col(v) for v in (g.gx, g.gy, g.delta, g.sigma2, g.gamma)))
    np.testing.assert_allclose(p.writeback, update[0].numpy(), atol=1e-5)


def test_the_drawn_centres_are_the_filters_centres():
    g = pg.Glimpse(14.2, 13.1, 2.0, 1.5, 1.0, 6)                # well inside: no filter cut off by the edge
    p = pg.compute(np.zeros((1, 28, 28), np.float32), g)
    a = np.arange(1, 29)
    mx, my = g.centres()
    np.testing.assert_allclose(p.F_X @ a, mx, atol=1e-4)        # each filter's mean is its centre (eq. 19)
    np.testing.assert_allclose(p.F_Y @ a, my, atol=1e-4)        # (eq. 20)
    assert mx[-1] - mx[0] == pytest.approx((g.N - 1) * g.delta)


def test_the_box_is_drawn_where_the_glimpse_is():
    image = np.zeros((1, 28, 28), np.float32)
    g = pg.Glimpse(10.5, 16.5, 1.0, 0.5, 1.0, 8)               # box from pixel 7 to pixel 14 across
    scale = 8
    rgb = np.asarray(pg.render_image(image, g, scale))
    green = box_palette().read
    # left edge: x = (10.5 - 0.5 - 4) * 8 = 48, top y = (16.5 - 0.5 - 4) * 8 = 96, right 111, bottom 159
    assert pg.box_pixels(g, scale) == (48, 96, 111, 159)
    mid_y, mid_x = (96 + 159) // 2, (48 + 111) // 2
    for x, y in ((48, mid_y), (111, mid_y), (mid_x, 96), (mid_x, 159)):
        assert tuple(rgb[y, x]) == green, (x, y)
    for x, y in ((47, mid_y), (112, mid_y), (mid_x, 95), (mid_x, 160), (5, 5)):
        assert tuple(rgb[y, x]) == (0, 0, 0), (x, y)
    centre = pg.to_panel(g.centres()[0][0], scale), pg.to_panel(g.centres()[1][0], scale)
    assert tuple(rgb[int(centre[1]), int(centre[0])]) == pg.CENTRE_COLOUR   # the first filter's centre


def test_the_figure_holds_the_panels_pixels(digit):
    p = pg.compute(digit, GLIMPSES[1])
    picture, where = pg.figure(p, scale=6)
    rgb = np.asarray(picture)
    image = np.asarray(pg.render_image(digit, p.glimpse, 6))
    x, y = where["image"]
    assert np.array_equal(rgb[y:y + image.shape[0], x:x + image.shape[1]], image)
    patch = np.asarray(pg.render_patch(p.patch, 28 * 6))
    x, y = where["patch"]
    assert np.array_equal(rgb[y:y + patch.shape[0], x:x + patch.shape[1]], patch)
    s = patch.shape[0] // p.glimpse.N                           # each filter's value is an s x s square
    assert patch[s // 2, s // 2, 0] == round(min(1, p.patch[0, 0, 0]) * 255)
    writeback = np.asarray(pg.render_writeback(p.writeback, 6))
    assert writeback.max() == 255 and writeback.shape[:2] == (28 * 6, 28 * 6)


# --------------------------------------------------------------------------- the window's view

@pytest.fixture
def view(qtbot):
    from draw_gui.playground.filterbank import FilterbankPlayground
    w = FilterbankPlayground()
    qtbot.addWidget(w)
    w.resize(1000, 900)        # wide enough for the full-size pictures
    w.show()
    return w


def test_the_view_shows_core_attentions_numbers(view):
    view.set_params(12.0, 15.5, 1.8, 1.2, 2.0, 9)
    g = pg.Glimpse(12.0, 15.5, 1.8, 1.2, 2.0, 9)
    assert view.params() == (12.0, 15.5, 1.8, 1.2, 2.0, 9)
    F_x, F_y, patch, writeback = _reference(view.image(), g)
    shown = view.panels()
    np.testing.assert_allclose(shown["patch"], patch, atol=1e-6)
    np.testing.assert_allclose(shown["F_X"], F_x, atol=1e-7)
    np.testing.assert_allclose(shown["F_Y"], F_y, atol=1e-7)
    np.testing.assert_allclose(shown["writeback"], writeback, atol=1e-6)
    assert "eq. 25-26" in view.labels["sigma2"].text() and "1.2" in view.labels["sigma2"].text()
    assert "eq. 27" in view.labels["gamma"].text() and view.labels["N"].text().startswith("N = 9")
    with pytest.raises(ValueError):
        view.set_params(12.0, 15.5, -1.0, 1.2, 2.0, 9)


def test_the_sliders_set_sigma_gamma_and_n(view):
    view.sigma2.setValue(50)                                    # 10^(50/100)
    assert view.params()[3] == pytest.approx(10 ** 0.5)
    view.gamma.setValue(-30)
    assert view.params()[4] == pytest.approx(10 ** -0.3)
    view.N.setValue(5)
    assert view.params()[5] == 5 and view.panels()["patch"].shape == (1, 5, 5)


def test_dragging_moves_the_centre_and_the_wheel_and_edge_change_delta(qtbot, view):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    view.set_params(14.5, 14.5, 1.5, 1.0, 1.0, 6)
    canvas = view.canvas
    scale = canvas.scale
    assert scale == pg.display_scale(28, 28) == 8
    start = QPoint(int(pg.to_panel(14.5, scale)), int(pg.to_panel(14.5, scale)))   # the centre: not an edge
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, pos=start + QPoint(3 * scale, -2 * scale))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=start + QPoint(3 * scale, -2 * scale))
    gx, gy, delta = view.params()[:3]
    assert (gx, gy, delta) == (pytest.approx(17.5), pytest.approx(12.5), 1.5)
    np.testing.assert_allclose(view.panels()["patch"], _reference(view.image(), view.glimpse())[2], atol=1e-6)

    centre = QPointF(pg.to_panel(gx, scale), pg.to_panel(gy, scale))
    QApplication.sendEvent(canvas, QWheelEvent(centre, canvas.mapToGlobal(centre), QPoint(), QPoint(0, 120),
                                               Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                               Qt.ScrollPhase.NoScrollPhase, False))
    assert view.params()[2] == pytest.approx(1.5 * 1.1)
    assert view.params()[:2] == (pytest.approx(17.5), pytest.approx(12.5))

    x0, y0, x1, y1 = pg.box_pixels(view.glimpse(), scale)      # drag the right edge 2 image pixels out
    edge = QPoint(x1, (y0 + y1) // 2)
    assert canvas.on_edge(QPointF(edge))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=edge)
    target = QPoint(int(pg.to_panel(17.5 + 6.0, scale)), (y0 + y1) // 2)   # half side 6 px: delta = 2 * 6 / N
    qtbot.mouseMove(canvas, pos=target)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=target)
    assert view.params()[2] == pytest.approx(2 * 6.0 / 6, abs=1 / scale)
    assert view.params()[:2] == (pytest.approx(17.5), pytest.approx(12.5))


def test_the_image_choosers(view, tmp_path):
    view.digit.setValue(5)
    np.testing.assert_array_equal(view.image(), pg.mnist_digit(5))
    canvas = np.linspace(0, 1, 3 * 16 * 20, dtype=np.float32).reshape(3, 16, 20)   # the model's canvas, say
    view.set_image(canvas, "model's canvas")
    assert view.source_label.text() == "model's canvas" and view.panels()["writeback"].shape == (3, 16, 20)
    assert view.panels()["F_X"].shape[1] == 20 and view.panels()["F_Y"].shape[1] == 16
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((10, 12), 128, np.uint8)).save(path)
    assert view.open_file(str(path)) and view.image().shape == (1, 10, 12)
    assert view.image()[0, 0, 0] == pytest.approx(128 / 255)
    bad = tmp_path / "not.png"
    bad.write_text("no image")
    assert not view.open_file(str(bad)) and "could not read" in view.source_label.text()


# --------------------------------------------------------------------------- the command line

def _cli(argv, capsys):
    """`draw-gui filterbank ARGV` through the real entry point."""
    from draw_gui.cli.main import main
    return main(["filterbank", *argv])


def test_the_command_writes_the_panel(tmp_path, capsys):
    out = tmp_path / "fig.png"
    argv = ["mnist:7", "--gx", "12", "--gy", "15.5", "--delta", "1.8", "--sigma2", "1.2", "--gamma", "2", "-N", "9",
            "--out", str(out)]
    assert _cli(argv, capsys) == 0
    assert "wrote" in capsys.readouterr().out
    written = Image.open(out)
    expected, where = pg.figure(pg.compute(pg.mnist_digit(7), pg.Glimpse(12.0, 15.5, 1.8, 1.2, 2.0, 9)))
    assert written.size == expected.size and written.width >= 3 * 28 * 8
    assert np.array_equal(np.asarray(written.convert("RGB")), np.asarray(expected))
    x, y = where["image"]                                       # the box's left edge, in the file
    x0, y0, x1, y1 = pg.box_pixels(pg.Glimpse(12.0, 15.5, 1.8, 1.2, 2.0, 9), 8)
    assert written.convert("RGB").getpixel((x + x0, y + (y0 + y1) // 2)) == box_palette().read


def test_the_command_reads_image_files(tmp_path, capsys):
    src = tmp_path / "colour.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (24, 40, 3), dtype=np.uint8)).save(src)
    out = tmp_path / "sub" / "fig.png"
    assert _cli([str(src), "--out", str(out), "--scale", "2"], capsys) == 0
    assert Image.open(out).size == pg.figure(pg.compute(pg.load_image(src), pg.default_glimpse(24, 40)), scale=2)[0].size


@pytest.mark.parametrize("argv", [
    ["mnist:0", "--delta", "0"], ["mnist:0", "--sigma2", "-1"], ["mnist:0", "--gamma", "0"], ["mnist:0", "-N", "0"],
    ["mnist:0", "-N", "2.5"], ["mnist:0", "--gx", "nan"], ["mnist:99999"], ["mnist:x"], ["nowhere.png"],
])
def test_bad_parameters_exit_2_with_one_line(tmp_path, capsys, argv):
    out = tmp_path / "fig.png"
    assert _cli([*argv, "--out", str(out)], capsys) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("draw-gui") and "\n" not in err, err
    assert not out.exists()


def test_the_parser_is_argparse(tmp_path):
    sub = argparse.ArgumentParser().add_subparsers()
    parser = add_filterbank_parser(sub)
    args = parser.parse_args(["mnist:3", "--out", str(tmp_path / "f.png")])
    assert (args.N, args.gamma, args.gx, args.delta) == (12, 1.0, None, None)


def test_the_window_playground_looks_at_the_models_canvas_and_remembers_the_image_folder(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    from tests.test_shipped_models_window import showing
    monkeypatch.setenv("DRAW_GUI_DATA", str(tmp_path))
    w = MainWindow(Settings(tmp_path / "settings.json"))
    qtbot.addWidget(w)
    w.show()
    trace = showing(qtbot, w, "mnist")
    w.glimpse_view.set_t(10)
    view = w.filterbank_view
    view.source.setCurrentIndex(2)
    view.source.activated.emit(2)
    assert np.array_equal(view.image(), trace.canvases[9, 0]) and view.source_label.text() == "the model's canvas"
    picture = tmp_path / "pictures" / "x.png"
    picture.parent.mkdir()
    Image.fromarray(np.full((20, 30), 200, np.uint8)).save(picture)
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda parent, title, folder, filters: (asked.append(folder), (str(picture), ""))[1])
    view.source.activated.emit(1)
    assert view.image().shape == (1, 20, 30) and w.settings.get("playground_folder") == str(picture.parent)
    view.source.activated.emit(1)
    assert asked[-1] == str(picture.parent)                  # the dialog opens where the last image was
    w.close()


def test_the_three_pictures_across_fit_a_narrow_tab_and_grow_back(qtbot, view):
    """At 1024x768 with the Run panel open the tab is ~650 pixels wide: the image, read patch and
    write-back shrink to whole smaller zooms rather than hiding the write-back past the edge."""
    from PySide6.QtWidgets import QScrollArea
    scroll = next(s for s in view.findChildren(QScrollArea))
    qtbot.waitUntil(lambda: view.canvas.scale == 8)
    view.resize(650, 700)
    qtbot.waitUntil(lambda: view.canvas.scale < 8)
    assert scroll.horizontalScrollBar().maximum() == 0
    right = view.writeback_view.mapTo(scroll.viewport(), view.writeback_view.rect().topRight()).x()
    assert right < scroll.viewport().width()
    assert view.writeback_view.pixmap().width() == 28 * view.canvas.scale    # the same zoom for all three
    view.resize(1000, 900)
    qtbot.waitUntil(lambda: view.canvas.scale == 8)
