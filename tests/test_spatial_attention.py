"""Spatial-transformer attention (Jaderberg et al. 2015): affine crops read and written with
affine_grid / grid_sample, drawn as (possibly rotated) quadrilaterals, trained from the CLI."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from core.attention import SpatialRead, SpatialWrite, affine_theta
from core.checkpoint import load_checkpoint
from core.config import ConfigError, DrawConfig
from core.export import READ_COLOUR, WRITE_COLOUR, glimpse_panel, save_glimpse_pngs
from core.model import DRAW
from core.train import TrainConfig, make_optimizer, train_step
from core.trace import GlimpseTrace, attention_box, attention_corners
from tests.helpers import shown

TINY = dict(glimpses=3, enc_size=6, dec_size=5, z_size=2)


def config(shape=(1, 8, 8), read=8, write=8, rotation=False) -> DrawConfig:
    return DrawConfig(image_shape=shape, attention="spatial", read_size=read, write_size=write,
                      spatial_rotation=rotation, **TINY).validate()


def set_head(module, t_x=0.0, t_y=0.0, scale=1.0, angle=None, gamma=1.0) -> None:
    """A head that ignores h_dec: the glimpse is given by its bias (t~_x, t~_y, log s, [angle,] log gamma)."""
    bias = [t_x, t_y, math.log(scale)] + ([] if angle is None else [angle]) + [math.log(gamma)]
    with torch.no_grad():
        module.params.weight.zero_()
        module.params.bias.copy_(torch.tensor(bias))


def h_dec(batch=2) -> torch.Tensor:
    return torch.randn(batch, TINY["dec_size"])


# --------------------------------------------------------------------------- read and write

@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 12)])
def test_identity_transform_reads_back_the_image(shape):
    C, H, W = shape
    read = SpatialRead(config(shape, read=W, write=3))
    set_head(read)                                        # scale 1, no translation, N = image side
    x, x_hat = torch.rand(2, *shape), torch.rand(2, *shape) - 0.5
    r, (c_x, c_y, delta, angle, gamma) = read(x, x_hat, h_dec())
    assert r.shape == (2, read.out_size) == (2, 2 * C * H * W)
    glimpse = r.view(2, 2 * C, H, W)
    assert torch.allclose(glimpse[:, :C], x, atol=1e-6)  # every sample point is a pixel centre
    assert torch.allclose(glimpse[:, C:], x_hat, atol=1e-6)
    assert c_x.flatten().tolist() == pytest.approx([(W + 1) / 2] * 2) and delta.flatten().tolist() == pytest.approx([1.0] * 2)


def test_identity_write_places_the_patch_as_the_canvas():
    write = SpatialWrite(config(read=3, write=8))
    set_head(write, gamma=2.0)
    h = h_dec()
    update, _ = write(h, None)
    patch = write.patch(h).view(2, 1, 8, 8)
    assert torch.allclose(update, patch / 2.0, atol=1e-6)   # 1 / gamma^ as in eq. 29


def test_a_half_size_write_stays_in_its_box_and_is_zero_outside():
    write = SpatialWrite(config(shape=(1, 16, 16), read=3, write=4))
    set_head(write, t_x=-0.25, t_y=0.25, scale=0.5)        # an 8-pixel box centred at (6.5, 10.5)
    with torch.no_grad():
        write.patch.bias.fill_(1.0)
        write.patch.weight.zero_()
    with torch.no_grad():
        update, params = write(h_dec(1))
    u = update[0, 0]
    x0, y0, x1, y1 = attention_box(np.array([float(v) for v in params[:3]]), 4)
    assert (x0, y0, x1, y1) == pytest.approx((2, 6, 10, 14))
    assert torch.allclose(u[7:13, 3:9], torch.ones(6, 6), atol=1e-6)  # between the cells' centres: the patch
    # Past the outer cells' centres the bilinear kernel fades to zero over one cell (2 pixels):
    # 3/4 at the pixel just inside the box's edge, 1/4 at the one just outside.
    assert (float(u[10, 2]), float(u[10, 1]), float(u[10, 0])) == pytest.approx((0.75, 0.25, 0.0))
    outside = torch.ones_like(u, dtype=torch.bool)
    outside[5:15, 1:11] = False              # the box and the half cell (1 pixel) around it
    assert u[outside].abs().max() == 0       # nothing anywhere else


def test_a_shifted_scaled_read_samples_the_expected_pixels():
    x = torch.arange(64, dtype=torch.float32).view(1, 1, 8, 8)
    read = SpatialRead(config(read=2, write=3))
    # centre (c_x, c_y) = (3.5, 5.5) in 1-based pixels, stride delta = 2: the four sample points
    # lie half-way between pixels, at x = 2.5, 4.5 and y = 4.5, 6.5; intensity 2.
    set_head(read, t_x=-0.25, t_y=0.25, scale=0.5, gamma=2.0)
    with torch.no_grad():
        r, (c_x, c_y, delta, _, _) = read(x, torch.zeros_like(x), h_dec(1))
    assert (float(c_x), float(c_y), float(delta)) == pytest.approx((3.5, 5.5, 2.0))
    img = x[0, 0]
    expected = torch.tensor([[img[3:5, 1:3].mean(), img[3:5, 3:5].mean()],     # rows b = 4, 5 (0-based 3, 4)
                             [img[5:7, 1:3].mean(), img[5:7, 3:5].mean()]])    # rows b = 6, 7
    assert torch.allclose(r.view(1, 2, 2, 2)[0, 0], 2.0 * expected, atol=1e-5)
    assert torch.all(r.view(1, 2, 2, 2)[0, 1] == 0)                           # x_hat was zero

    # Stride 1, three points on pixel centres: plain pixels, no interpolation.
    read3 = SpatialRead(config(read=3, write=3))
    set_head(read3, t_x=(6.0 - 0.5) / 4 - 1, t_y=(3.0 - 0.5) / 4 - 1, scale=3 / 8)  # centre (6, 3), delta 1
    r3, _ = read3(x, x, h_dec(1))
    assert torch.equal(r3.view(1, 2, 3, 3)[0, 0], img[1:4, 4:7])


def test_a_quarter_turn_reads_the_image_rotated():
    x = torch.rand(1, 1, 6, 6)
    read = SpatialRead(config(shape=(1, 6, 6), read=6, write=3, rotation=True))
    set_head(read, angle=math.pi / 2)
    r, _ = read(x, x, h_dec(1))
    assert torch.allclose(r.view(1, 2, 6, 6)[0, 0], torch.rot90(x[0, 0], 1, (0, 1)), atol=1e-5)


def test_gradients_reach_the_attention_heads():
    torch.manual_seed(0)
    cfg = config(shape=(1, 12, 12), read=4, write=4, rotation=True)
    read, write = SpatialRead(cfg), SpatialWrite(cfg)
    for module in (read, write):                          # a glimpse off-centre, turned a little
        set_head(module, t_x=0.2, t_y=-0.1, scale=0.6, angle=0.3)
    x = torch.rand(3, 1, 12, 12)
    h = h_dec(3).requires_grad_(True)
    r, _ = read(x, x - 0.5, h)
    update, _ = write(h)
    target = torch.rand(3, 1, 12, 12)
    (r.square().sum() + (update - target).square().sum()).backward()
    for module in (read, write):
        g = module.params.bias.grad
        assert torch.isfinite(g).all()
        assert (g[:4].abs() > 1e-6).all(), g        # translation, scale and angle all get a gradient
    assert h.grad.abs().sum() > 0


def test_corners_of_a_known_transform():
    # centre (14.5, 14.5) -> (14, 14) in image coordinates; side N * delta = 8; a 45-degree turn
    # makes a diamond: top-left corner on top, top-right on the right.
    corners = attention_corners(np.array([14.5, 14.5, 2.0, math.pi / 4, 1.0]), 4, "spatial")
    d = 4 * math.sqrt(2)
    assert np.allclose(corners, [(14, 14 - d), (14 + d, 14), (14, 14 + d), (14 - d, 14)])
    upright = np.array([10.5, 12.5, 2.0, 0.0, 1.0])
    x0, y0, x1, y1 = attention_box(upright, 5)                    # the Gaussian box of the same columns
    box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    assert np.allclose(attention_corners(upright, 5, "spatial"), box)
    assert np.allclose(attention_corners(upright, 5, "gaussian"), box)
    with pytest.raises(ValueError):
        attention_corners(upright, 5, "none")


def test_corners_are_where_the_sampling_grid_is():
    """The drawn quadrilateral is the real glimpse: its corner cells' centres, mapped by A_theta."""
    N, A = 5, 20
    c_x, c_y, delta, angle = 8.3, 11.7, 1.6, 0.7
    col = lambda v: torch.tensor([[v]])                           # noqa: E731
    theta = affine_theta(col(c_x), col(c_y), col(delta), col(angle), N, A, A)
    grid = F.affine_grid(theta, [1, 1, N, N], align_corners=False)[0].double()   # (N, N, 2) in [-1, 1]
    points = (grid + 1) * A / 2                                   # image coordinates, image = [0, A]
    corners = np.array(attention_corners(np.array([c_x, c_y, delta, angle, 1.0]), N, "spatial"))
    # Each corner cell's centre lies half a cell in from the corner along both edges.
    cos, sin = math.cos(angle), math.sin(angle)
    inward = lambda u, v: np.array([cos * u - sin * v, sin * u + cos * v]) * delta / 2  # noqa: E731
    for (row, column), corner, (u, v) in zip([(0, 0), (0, N - 1), (N - 1, N - 1), (N - 1, 0)], corners,
                                             [(1, 1), (-1, 1), (-1, -1), (1, -1)]):
        assert np.allclose(points[row, column].numpy(), corner + inward(u, v), atol=1e-4)


# --------------------------------------------------------------------------- configuration

def test_config_validates_spatial_sizes_and_old_checkpoints_load():
    DrawConfig(attention="spatial", read_size=1, write_size=28).validate()   # no N - 1 divisor
    with pytest.raises(ConfigError, match="spatial attention needs 1 <= N <= 28") as e:
        DrawConfig(attention="spatial", read_size=29).validate()
    assert e.value.field == "read_size"
    with pytest.raises(ConfigError, match="write_size"):
        DrawConfig(attention="spatial", write_size=0).validate()
    old = DrawConfig().to_dict()
    del old["spatial_rotation"]                                   # a checkpoint from before the field
    assert DrawConfig.from_dict(old).spatial_rotation is False
    assert DrawConfig.from_dict(DrawConfig(attention="spatial", spatial_rotation=True).to_dict()).spatial_rotation


def test_model_trace_holds_spatial_columns_and_moved_writes_keep_their_angle():
    torch.manual_seed(1)
    model = DRAW(DrawConfig(image_shape=(1, 12, 12), attention="spatial", read_size=3, write_size=4,
                            spatial_rotation=True, **TINY)).eval()
    with torch.no_grad():
        model.write.params.bias[3] = 0.4                           # every write turned by ~0.4 rad
    x = (torch.rand(2, 1, 12, 12) > 0.5).float()
    with torch.no_grad():
        trace = model(x, trace=True).trace
        z = torch.randn(TINY["glimpses"], TINY["z_size"])
        _, before = model.generate(z=z, trace=True)
        _, after = model.generate(z=z, trace=True, write_glimpse={1: (4.0, 9.0, 0.5)})
    assert trace.attention == "spatial" and trace.read.shape == trace.write.shape == (3, 2, 5)
    assert np.allclose(trace.read[0, :, :2], 6.5, atol=0.5)      # first glimpses start near the centre
    assert np.allclose(trace.read[0, :, 2] * 3, 12, rtol=0.3)   # ... covering the image (s = 1)
    assert after.write[1, 0, :3].tolist() == pytest.approx([4.0, 9.0, 0.5])
    assert after.write[1, 0, 3:] == pytest.approx(before.write[1, 0, 3:])   # angle and gamma kept
    assert np.array_equal(after.canvases[0], before.canvases[0])
    assert not np.allclose(after.canvases[1], before.canvases[1])


def test_config_panel_offers_spatial_transformer_with_and_without_rotation(qtbot):
    from draw_gui.window.config_panel import ConfigPanel
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    index = panel.attention.findData("spatial+rotation")
    assert index >= 0 and "spatial transformer" in panel.attention.itemText(index)
    assert "Jaderberg" in panel.labels["attention"].toolTip()
    panel.attention.setCurrentIndex(index)
    panel.fields["read_size"].setValue(1)                         # allowed for spatial, not Gaussian
    model, _ = panel.configs()
    assert (model.attention, model.spatial_rotation, model.read_size) == ("spatial", True, 1)
    assert panel.is_valid()
    panel.attention.setCurrentIndex(panel.attention.findData("gaussian"))
    assert not panel.is_valid() and "N >= 2" in panel.error_for("read_size")
    panel.set_values({**panel.values(), "attention": "spatial", "spatial_rotation": True, "read_size": 2})
    assert panel.attention.currentData() == "spatial+rotation"  # what the settings file restores
    panel.show_configs(DrawConfig(attention="spatial"), TrainConfig(), "mnist")
    assert panel.attention.currentData() == "spatial"


# --------------------------------------------------------------------------- learning

def test_a_short_training_run_lowers_the_loss(mnist_batch):
    torch.manual_seed(0)                                          # ~4 s on one thread
    model = DRAW(DrawConfig(attention="spatial", read_size=5, write_size=5, glimpses=6, enc_size=48,
                            dec_size=48, z_size=10))
    model.init_canvas_from_mean(mnist_batch.mean(0))
    cfg = TrainConfig(lr=3e-3)
    optimizer = make_optimizer(model, cfg)
    eps = torch.zeros(6, 64, 10)                                  # the posterior means: a steady yardstick

    def loss() -> float:
        with torch.no_grad():
            return float(model(mnist_batch, eps=eps).loss)
    first = loss()
    for _ in range(150):
        train_step(model, optimizer, mnist_batch, cfg)
    last = loss()
    assert math.isfinite(last) and last < 0.8 * first, (first, last)   # measured: 196 -> 137 nats
    with torch.no_grad():
        trace = model(mnist_batch[:8], trace=True).trace
    # The glimpses have left their initial centred, whole-image place and differ between digits.
    assert trace.write[:, :, 0].std() > 0.2 and trace.write[:, :, 2].std() > 0.2


# --------------------------------------------------------------------------- command line

def test_cli_trains_samples_and_evaluates_a_spatial_model(capsys, mnist_dir, tmp_path):
    from draw_gui.cli.main import main
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", "--attention", "spatial", "--spatial_rotation", "--read_size", "4", "--write_size", "4",
                 "--num_glimpses", "3", "--hidden_size", "16", "--latent_size", "4", "--batch_size", "16",
                 "--max-steps", "4", "--no-eval", "--save_image", "--img_per_row", "2",
                 "--data-dir", str(mnist_dir), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "spatial transformer attention (scale, translation and rotation) read 4x4 write 4x4" in err
    model = DrawConfig.from_dict(load_checkpoint(out / "checkpoint.pt")["model_config"])
    assert (model.attention, model.spatial_rotation, model.read_size) == ("spatial", True, 4)
    assert len(list(out.glob("images/step_*/glimpse_*.png"))) == 3
    assert len(list(out.glob("images/step_*/glimpses.gif"))) == 1

    assert main(["sample", str(out / "checkpoint.pt"), "--out", str(tmp_path / "samples"), "-n", "4"]) == 0
    with Image.open(tmp_path / "samples" / "drawing.gif") as gif:
        assert gif.n_frames == 3
    assert (tmp_path / "samples" / "samples.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["eval", str(out / "checkpoint.pt"), "--limit", "64", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert math.isfinite(report["nll_bound"]) and report["nll_bound"] > 0


def test_cli_refuses_a_spatial_glimpse_larger_than_the_image(capsys, mnist_dir, tmp_path):
    from draw_gui.cli.main import main
    capsys.readouterr()
    code = main(["train", "--attention", "spatial", "--read_size", "30", "--data-dir", str(mnist_dir),
                 "--out", str(tmp_path / "run")])
    assert code == 2 and "spatial attention needs 1 <= N <= 28" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- drawing

SIZE, B = 28, 2


def spatial_trace(angle: float) -> GlimpseTrace:
    T = 2
    read = np.zeros((T, B, 5), np.float32)
    read[...] = [10.5, 12.5, 3.0, angle, 1.0]         # N 3 -> side 9
    write = np.zeros((T, B, 5), np.float32)
    write[...] = [16.5, 14.5, 2.0, angle, 1.0]        # N 5 -> side 10
    canvases = np.full((T, B, 1, SIZE, SIZE), 0.3, np.float32)
    images = np.full((B, 1, SIZE, SIZE), 0.8, np.float32)
    return GlimpseTrace(canvases, read, write, 3, 5, images, None, attention="spatial")


def near(image, point: QPointF, colour, radius: int = 1) -> bool:
    """Whether `colour` is within `radius` pixels of `point` in the QImage."""
    x, y = int(point.x()), int(point.y())
    return any((image.pixelColor(x + dx, y + dy).getRgb()[:3] == tuple(colour))
               for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1))


@pytest.mark.parametrize("kind, colour", [("read", READ_COLOUR), ("write", WRITE_COLOUR)])
def test_glimpse_view_paints_the_quadrilateral_where_its_corners_are(qtbot, kind, colour):
    from draw_gui.glimpses.view import GlimpseView
    view = shown(qtbot, GlimpseView(), 900, 500)
    angle = math.radians(30)
    view.set_trace(spatial_trace(angle))
    image = view.image()
    half = "input" if kind == "read" else "canvas"
    for example in range(B):
        cell = view.cell_rect(half, example)
        scale = cell.width() / SIZE
        assert scale >= 4
        corners = view.box_corners(kind, example)
        params = (view.trace().read if kind == "read" else view.trace().write)[0, example]
        expected = attention_corners(params, 3 if kind == "read" else 5, "spatial")
        for corner, (x, y) in zip(corners, expected):            # corners where attention_corners says
            assert abs(corner.x() - (cell.x() + x * scale)) <= 1 and abs(corner.y() - (cell.y() + y * scale)) <= 1
        for k in range(4):                                       # every edge drawn, end to end
            a, b = corners[k], corners[(k + 1) % 4]
            for f in (0.0, 0.25, 0.5, 0.75):
                assert near(image, a + (b - a) * f, colour), (k, f)
        centre = (corners[0] + corners[2]) / 2
        assert not near(image, centre, colour, radius=3)         # hollow
        # The corners of the upright box of the same size are not drawn: it is really turned.
        x0, y0, x1, y1 = attention_box(params, 3 if kind == "read" else 5)
        for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
            assert not near(image, QPointF(cell.x() + x * scale, cell.y() + y * scale), colour)
        rect = view.box_rect(kind, example)                      # the bounding box of the outline
        assert rect.left() == min(c.x() for c in corners) and rect.bottom() == max(c.y() for c in corners)
    assert not view.sigma_checkbox.isEnabled()                   # no sigma to show


def test_an_upright_spatial_glimpse_is_drawn_exactly_as_the_gaussian_box():
    spatial = spatial_trace(0.0)
    gaussian = dataclasses.replace(spatial, attention="gaussian")
    gaussian.read, gaussian.write = spatial.read.copy(), spatial.write.copy()
    gaussian.read[..., 3] = gaussian.write[..., 3] = 2.0        # sigma: only drawn with sigma_width
    for scale in (3, 4):
        a = np.asarray(glimpse_panel(spatial, 0, scale=scale))
        assert np.array_equal(a, np.asarray(glimpse_panel(gaussian, 0, scale=scale)))
        assert (a == WRITE_COLOUR).all(-1).any() and (a == READ_COLOUR).all(-1).any()
    # sigma as line width does not apply: a spatial glimpse keeps its 1-pixel line.
    assert np.array_equal(np.asarray(glimpse_panel(spatial, 0, scale=4, sigma_width=True)),
                          np.asarray(glimpse_panel(spatial, 0, scale=4)))


def test_saved_glimpse_pngs_show_rotated_boxes(tmp_path):
    trace = spatial_trace(math.radians(45))
    paths = save_glimpse_pngs(trace, tmp_path, per_row=2, scale=4)
    image = np.asarray(Image.open(paths[0]).convert("RGB"))
    red = np.argwhere((image == WRITE_COLOUR).all(-1))           # (y, x) of the write outline
    # A 45-degree square: its outline pixels span its diagonal, side * sqrt 2 = 10 * 1.41 * 4 px.
    cell_red = red[red[:, 1] < red[:, 1].min() + 100]
    assert np.ptp(cell_red[:, 0]) == pytest.approx(10 * math.sqrt(2) * 4, abs=3)


def test_the_latent_drawing_box_turns_and_is_dragged_in_its_own_frame(qtbot):
    from draw_gui.latent.drawing import DrawingProcess
    drawing = shown(qtbot, DrawingProcess(), 400, 450)
    trace = spatial_trace(math.pi / 4)
    trace.images = trace.read = None
    drawing.set_trace(trace, glimpses=2)
    canvas = drawing.canvas
    polygon = canvas.box_polygon()
    rect = canvas.box_rect()
    centre = rect.center()
    assert canvas._hit(centre) == "move"
    corner = QPointF(rect.left() + 3, rect.top() + 3)           # inside the bounding box, outside the diamond
    assert canvas._hit(corner) is None
    top = polygon[0]                                             # the diamond's top vertex: on the outline
    assert canvas._hit(top + QPointF(0, 2)) == "resize"
    with qtbot.waitSignal(drawing.box_changed) as moved:
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=top.toPoint() + QPointF(0, 2).toPoint())
        qtbot.mouseMove(canvas, pos=(top + QPointF(0, -30)).toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=(top + QPointF(0, -30)).toPoint())
    t, g_x, g_y, delta = moved.args
    assert (t, g_x, g_y) == (1, pytest.approx(16.5), pytest.approx(14.5))
    # Dragging the top vertex up lengthens the box's diagonal: half side = diagonal distance / sqrt 2.
    zoom = rect.width() / (10 * math.sqrt(2))
    expected_half = (10 * math.sqrt(2) / 2 + 28 / zoom) / math.sqrt(2)
    assert delta == pytest.approx(2 * expected_half / 5, rel=0.08)


def test_a_rotated_box_on_a_colour_image_gets_the_dark_outline():
    trace = spatial_trace(math.radians(30))
    trace.images = np.full((B, 3, SIZE, SIZE), 0.5, np.float32)
    trace.canvases = np.full((2, B, 3, SIZE, SIZE), 0.5, np.float32)
    panel = np.asarray(glimpse_panel(trace, 0, scale=4))
    red = np.argwhere((panel == WRITE_COLOUR).all(-1))
    black = (panel == 0).all(-1)
    assert len(red) > 100
    # every red pixel of the outline has a dark pixel beside it, as upright boxes on colour do
    assert all(black[max(0, y - 1):y + 2, max(0, x - 1):x + 2].any() for y, x in red)
