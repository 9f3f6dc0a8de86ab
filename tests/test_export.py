"""core.export: the PNGs and GIFs a user opens — checked by their pixels and files."""
from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from core import export
from core.export import (READ_COLOUR, WRITE_COLOUR, atomic_path, atomic_write_bytes,
                         glimpse_panel, image_grid, save_drawing_gif, save_frames_gif,
                         save_glimpse_pngs, save_grid_png, to_rgb_uint8)
from core.trace import GlimpseTrace, attention_box

T, B, C, H, W = 4, 3, 1, 28, 28
SCALE, PAD = 4, 1
CELL = H * SCALE                       # 112 px
HALF_W = B * CELL + (B + 1) * PAD      # width of one grid of B cells in a row: 340 px
GAP = 2 * SCALE                        # glimpse_panel's default gap at scale 4
RIGHT = HALF_W + GAP                   # x where the canvas grid starts


def params(g_x, g_y, delta, sigma=1.0, gamma=1.0):
    return [g_x, g_y, delta, sigma, gamma]


def make_trace(images=True, read=True, write=True, canvases=None) -> GlimpseTrace:
    """Inputs a flat 0.5 grey; canvases a flat grey growing with t. Read: N=2, delta=5 centred on
    the image centre (paper coords 14.5) -> box [9, 19]^2. Write: N=5, delta=2 at (10.5, 12.5)
    -> box x [5, 15], y [7, 17]. Example 2's write box hangs off the right edge of its cell."""
    if canvases is None:
        canvases = np.stack([np.full((B, C, H, W), 0.2 * (t + 1)) for t in range(T)])
    r = np.array([[params(14.5, 14.5, 5.0)] * B] * T)
    w = np.array([[params(10.5, 12.5, 2.0), params(10.5, 12.5, 2.0), params(26.5, 12.5, 2.0)]] * T)
    return GlimpseTrace(canvases=canvases, read=r if read else None, write=w if write else None,
                        read_size=2, write_size=5,
                        images=np.full((B, C, H, W), 0.5) if images else None)


def px(img: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return tuple(img.convert("RGB").getpixel((x, y)))


def count(img: Image.Image, colour) -> int:
    return int(np.all(np.asarray(img.convert("RGB")) == colour, axis=-1).sum())


# --------------------------------------------------------------------------- numbers

def test_attention_box_centre_and_side():
    # centre of a 28-px image is pixel 14.5 in the paper's 1-based coords -> 14.0 in image coords;
    # the side is N * delta.
    assert attention_box(np.array(params(14.5, 14.5, 5.0)), 2) == pytest.approx((9, 9, 19, 19))
    assert attention_box(np.array(params(10.5, 12.5, 2.0)), 5) == pytest.approx((5, 7, 15, 17))
    # pixel a = 1 has its centre at 0.5 in image coords
    assert attention_box(np.array(params(1.0, 1.0, 1.0)), 1) == pytest.approx((0, 0, 1, 1))


def test_to_rgb_uint8_clips_rounds_and_greys():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]).reshape(1, 1, 1, 6)
    out = to_rgb_uint8(x)
    assert out.shape == (1, 1, 6, 3) and out.dtype == np.uint8
    assert out[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255, 0]
    assert np.all(out[..., 0] == out[..., 1]) and np.all(out[..., 1] == out[..., 2])


def test_colour_images_keep_their_colour_in_the_grid():
    imgs = np.zeros((2, 3, 5, 5))
    imgs[0, 2] = 1.0           # pure blue
    imgs[1, 0] = 1.0           # pure red
    grid = image_grid(imgs, per_row=8, scale=2, padding=1)
    assert grid.mode == "RGB" and grid.size == (2 * 10 + 3, 10 + 2)
    assert px(grid, 1, 1) == (0, 0, 255)
    assert px(grid, 12, 1) == (255, 0, 0)
    assert px(grid, 0, 0) == (0, 0, 0)          # padding is the background


def test_image_grid_layout_and_crisp_scaling():
    imgs = np.zeros((10, 1, 2, 2))
    imgs[:, 0, 0, 0] = 1.0     # top-left pixel white
    grid = image_grid(imgs, per_row=4, scale=3, padding=2, background=(7, 7, 7))
    assert grid.size == (4 * 6 + 5 * 2, 3 * 6 + 4 * 2)
    a = np.asarray(grid)
    cell = a[2:8, 2:8, 0]                         # first cell: a 3x3 white block, rest black
    assert (cell[:3, :3] == 255).all() and (cell[3:, :] == 0).all() and (cell[:, 3:] == 0).all()
    assert px(grid, 0, 0) == (7, 7, 7)
    assert px(grid, 4 * 6 + 5 * 2 - 3, 2 * 8 + 3) == (7, 7, 7)  # empty slots in the last row


# --------------------------------------------------------------------------- panels and boxes

def test_glimpse_panel_read_box_green_on_inputs_write_box_red_on_canvases():
    panel = glimpse_panel(make_trace(), 1, per_row=8, scale=SCALE)
    assert panel.size == (2 * HALF_W + GAP, CELL + 2 * PAD)
    o = PAD                                        # origin of example 0's cell in either half
    # read box [9, 19] * 4 = [36, 76): edges at 36 and 75
    for x, y in [(o + 36, o + 50), (o + 75, o + 50), (o + 50, o + 36), (o + 50, o + 75)]:
        assert px(panel, x, y) == READ_COLOUR
    assert px(panel, o + 35, o + 50) == (128, 128, 128)   # just outside: the input's grey
    assert px(panel, o + 50, o + 50) == (128, 128, 128)   # inside: the input, not a box colour
    # write box x [20, 60), y [28, 68) on the canvas half
    r = RIGHT + o
    for x, y in [(r + 20, o + 40), (r + 59, o + 40), (r + 40, o + 28), (r + 40, o + 67)]:
        assert px(panel, x, y) == WRITE_COLOUR
    assert px(panel, r + 40, o + 40) == (102, 102, 102)   # canvas grey 0.4 at t = 1
    # no red on the inputs, no green on the canvases
    a = np.asarray(panel)
    assert not np.all(a[:, :HALF_W] == WRITE_COLOUR, axis=-1).any()
    assert not np.all(a[:, RIGHT:] == READ_COLOUR, axis=-1).any()


def test_box_hanging_off_its_cell_is_clipped_to_the_cell():
    # example 2's write box spans x [21, 31] of a 28-px image: its right edge is off the cell.
    panel = glimpse_panel(make_trace(), 0, per_row=2, scale=SCALE)   # example 2 on row 2, col 0
    a = np.asarray(panel)
    x0, y0 = (2 * CELL + 3 * PAD) + GAP + PAD, 2 * PAD + CELL   # its cell in the canvas half
    cell = a[y0:y0 + CELL, x0:x0 + CELL]
    red = np.all(cell == WRITE_COLOUR, axis=-1)
    assert red[28, 84:CELL].all()                  # the top edge runs to the cell's border ...
    assert not red[40:60, CELL - 1].any()          # ... but there is no right edge inside
    # ... and nothing red beyond the cell: padding column and the empty slot to its right
    beyond = np.all(a[y0:y0 + CELL, x0 + CELL:] == WRITE_COLOUR, axis=-1)
    assert not beyond.any()
    # example 0 above it (row 1) keeps its own box only: nothing red below its box's bottom edge
    above = np.all(a[PAD + 68:PAD + CELL, x0:x0 + CELL] == WRITE_COLOUR, axis=-1)
    assert not above.any()


def test_no_boxes_without_attention_or_when_turned_off():
    for panel in (glimpse_panel(make_trace(read=False, write=False), 2),
                  glimpse_panel(make_trace(), 2, boxes=False)):
        assert count(panel, READ_COLOUR) == 0 and count(panel, WRITE_COLOUR) == 0


def test_generated_samples_show_only_canvases_with_write_boxes():
    panel = glimpse_panel(make_trace(images=False), 0, scale=SCALE)
    assert panel.size == (HALF_W, CELL + 2 * PAD)
    assert count(panel, WRITE_COLOUR) > 0 and count(panel, READ_COLOUR) == 0


def test_sigma_width_draws_thicker_lines():
    trace = make_trace()
    trace.read[..., 3] = 3.0                       # sigma 3 px at scale 4 -> 6-px lines
    thin = glimpse_panel(trace, 0)
    thick = glimpse_panel(trace, 0, sigma_width=True)
    assert count(thick, READ_COLOUR) > 4 * count(thin, READ_COLOUR)
    o = PAD
    assert all(px(thick, o + 36 + i, o + 50) == READ_COLOUR for i in range(6))  # drawn inward
    assert px(thick, o + 35, o + 50) != READ_COLOUR


def test_colour_inputs_stay_coloured_in_the_panel():
    trace = make_trace()
    trace.images = np.zeros((B, 3, H, W))
    trace.images[:, 2] = 1.0                        # blue inputs
    trace.canvases = np.repeat(trace.canvases, 3, axis=2)
    panel = glimpse_panel(trace, 0)
    assert px(panel, PAD + 5, PAD + 5) == (0, 0, 255)
    assert px(panel, PAD + 36, PAD + 50) == READ_COLOUR


def test_glimpse_index_is_checked():
    trace = make_trace()
    with pytest.raises(IndexError):
        glimpse_panel(trace, T)
    assert glimpse_panel(trace, -1).tobytes() == glimpse_panel(trace, T - 1).tobytes()


# --------------------------------------------------------------------------- files

def test_save_glimpse_pngs_names_count_and_size(tmp_path):
    trace = make_trace()
    out = tmp_path / "new" / "folder"
    paths = save_glimpse_pngs(trace, out, prefix="mnist", scale=2)
    assert [p.name for p in paths] == [f"mnist_{i:02d}.png" for i in range(1, T + 1)]
    assert sorted(os.listdir(out)) == [p.name for p in paths]          # no temp files left
    expected = glimpse_panel(trace, 0, scale=2).size
    for t, p in enumerate(paths):
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size == expected
            assert np.array_equal(np.asarray(im.convert("RGB")),
                                  np.asarray(glimpse_panel(trace, t, scale=2)))


def test_save_glimpse_pngs_pads_numbers_to_the_glimpse_count(tmp_path):
    trace = GlimpseTrace(canvases=np.zeros((100, 1, 1, 2, 2)), read=None, write=None,
                         read_size=2, write_size=2)
    paths = save_glimpse_pngs(trace, tmp_path, scale=1)
    assert paths[0].name == "glimpse_001.png" and paths[-1].name == "glimpse_100.png"


def test_drawing_gif_has_T_distinct_frames_even_when_the_canvas_is_still(tmp_path):
    still = np.full((T, B, C, H, W), 0.3)          # nothing changes between glimpses
    trace = make_trace(canvases=still)
    path = save_drawing_gif(trace, tmp_path / "sub" / "draw.gif", frame_ms=50, hold_last_ms=700)
    assert path == tmp_path / "sub" / "draw.gif" and os.listdir(path.parent) == ["draw.gif"]
    panel = glimpse_panel(trace, 0)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == T
        assert gif.size[0] == panel.width and gif.size[1] > panel.height   # + the progress bar
        frames, durations = [], []
        for t in range(T):
            gif.seek(t)
            durations.append(gif.info["duration"])
            frames.append(np.asarray(gif.convert("RGB")))
    assert durations == [50] * (T - 1) + [700]
    assert all(not np.array_equal(a, b) for a, b in zip(frames, frames[1:]))
    f = frames[0]
    o = PAD
    assert tuple(f[o + 50, o + 36]) == READ_COLOUR                   # box colours exact
    assert tuple(f[o + 40, RIGHT + o + 20]) == WRITE_COLOUR
    grey = f[o + 40, RIGHT + o + 40].astype(int)                     # 0.3 -> 77, still grey
    assert grey[0] == grey[1] == grey[2] and abs(grey[0] - 77) <= 1


def test_drawing_gif_keeps_greys_grey_with_many_levels(tmp_path):
    # a smooth ramp: more than 256 colours with the box colours, so the palette is not exact
    ramp = np.linspace(0, 1, H * W).reshape(1, 1, 1, H, W)
    canvases = np.broadcast_to(ramp, (T, B, C, H, W)) * np.linspace(0.5, 1, T)[:, None, None, None, None]
    trace = make_trace(canvases=np.ascontiguousarray(canvases))
    trace.images = np.broadcast_to(ramp[0], (B, C, H, W)).copy()
    path = save_drawing_gif(trace, tmp_path / "ramp.gif", progress_bar=False)
    with Image.open(path) as gif:
        assert gif.n_frames == T
        gif.seek(T - 1)
        f = np.asarray(gif.convert("RGB")).astype(int)
    want = np.asarray(glimpse_panel(trace, T - 1)).astype(int)
    assert f.shape == want.shape
    grey = np.all(want == want[..., :1], axis=-1)
    assert np.all(f[grey] == f[grey][:, :1]) and np.abs(f - want)[grey].max() <= 1
    assert np.array_equal(f[~grey], want[~grey])                      # boxes exact


def test_frames_gif_counts_identical_frames_and_keeps_colours(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)         # >256 colours: adaptive
    img[10, :] = WRITE_COLOUR
    frame = Image.fromarray(img)
    path = save_frames_gif([frame, frame.copy(), frame.copy()], tmp_path / "same.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 3
        f = np.asarray(gif.convert("RGB")).astype(int)
    assert (f[10] == WRITE_COLOUR).all()
    assert np.abs(f - img.astype(int)).mean() < 25                  # roughly the same picture
    # a plain black frame repeated still gives every frame
    black = [Image.new("RGB", (5, 5))] * 4
    with Image.open(save_frames_gif(black, tmp_path / "black.gif")) as gif:
        assert gif.n_frames == 4


def test_save_grid_png(tmp_path):
    imgs = np.random.default_rng(1).random((5, 1, 28, 28))
    path = save_grid_png(imgs, tmp_path / "a" / "grid.png", per_row=4, scale=2)
    with Image.open(path) as im:
        assert im.size == (4 * 56 + 5, 2 * 56 + 3)
        assert np.array_equal(np.asarray(im.convert("RGB")),
                              np.asarray(image_grid(imgs, per_row=4, scale=2)))


# --------------------------------------------------------------------------- atomicity

def test_failed_replace_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    dest = tmp_path / "grid.png"
    dest.write_bytes(b"old contents")

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "read-only folder", str(dst))
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        save_grid_png(np.zeros((2, 1, 4, 4)), dest)
    with pytest.raises(OSError):
        save_drawing_gif(make_trace(), tmp_path / "draw.gif", scale=1)
    with pytest.raises(OSError):
        atomic_write_bytes(dest, b"new")
    assert os.listdir(tmp_path) == ["grid.png"] and dest.read_bytes() == b"old contents"


def test_disk_full_midway_removes_the_partial_file(tmp_path, monkeypatch):
    def half_then_full(self, fp, *args, **kwargs):
        with open(fp, "wb") as f:
            f.write(b"GIF89a partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Image.Image, "save", half_then_full)
    dest = tmp_path / "draw.gif"
    with pytest.raises(OSError) as err:
        save_drawing_gif(make_trace(), dest, scale=1)
    assert err.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        save_glimpse_pngs(make_trace(), tmp_path / "pngs", scale=1)
    assert os.listdir(tmp_path) == ["pngs"] and os.listdir(tmp_path / "pngs") == []


def test_atomic_path_and_bytes(tmp_path):
    dest = tmp_path / "x.bin"
    with pytest.raises(ValueError):
        with atomic_path(dest) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".bin" and tmp != dest
            tmp.write_bytes(b"partial")
            raise ValueError("interrupted")
    assert os.listdir(tmp_path) == []
    atomic_write_bytes(dest, b"hello")
    assert dest.read_bytes() == b"hello" and os.listdir(tmp_path) == ["x.bin"]
    old = os.umask(0o022)                          # the result gets normal permissions, not 0600
    try:
        atomic_write_bytes(dest, b"again")
    finally:
        os.umask(old)
    assert dest.stat().st_mode & 0o777 == 0o644


def test_module_imports_neither_torch_nor_qt():
    code = ("import sys, core.export; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'PyQt5', "
            "'PyQt6', 'pyqtgraph')]; print(bad); sys.exit(bool(bad))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(export.__file__)))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
