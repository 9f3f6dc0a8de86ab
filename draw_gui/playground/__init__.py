"""The filterbank playground's pictures, without Qt (the command line imports this).

The numbers are core.playground's (F_X, F_Y, the read patch of eq. 27 and its write-back of
eq. 29, all from core.attention.filterbank); this module draws them. The filter centres drawn on
the image are eq. 19-20's mu = g + (i - N/2 - 0.5) delta (Glimpse.centres). The pictures are PIL
images: the window (draw_gui.playground.filterbank) shows the same pixels that
`draw-gui filterbank ... --out fig.png` writes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.playground import Glimpse, Panels, compute, default_glimpse  # noqa: F401 (re-exported)

TARGET_SIDE = 224          # the image panel's longer side in screen pixels, about
MAX_IMAGE_SIDE = 256       # image files are shrunk to this longer side (filterbanks of A = 4000 help no one)
CENTRE_COLOUR = (255, 190, 0)     # amber: the N x N filter centres (green is the read box)
PLOT_BACKGROUND = 40              # core.export.PANEL_BACKGROUND: dark grey
CURVE_COLOURS = ((86, 180, 233), (230, 159, 0), (0, 158, 115), (240, 228, 66), (204, 121, 167), (213, 94, 0))
CAPTION_HEIGHT = 14
GAP = 10


# --------------------------------------------------------------------------- images in

def load_image(path, max_side: int = MAX_IMAGE_SIDE) -> np.ndarray:
    """An image file as (C, H, W) floats in [0, 1]: one channel for grey images, else three;
    shrunk to `max_side` on its longer side. OSError / ValueError when it is not an image."""
    from PIL import UnidentifiedImageError
    try:
        with Image.open(Path(path)) as im:
            im.load()
            if im.mode in ("1", "L", "LA", "I", "I;16", "F"):
                im = im.convert("L")
            else:
                im = im.convert("RGB")
                r, g, b = (np.asarray(c) for c in im.split())
                if np.array_equal(r, g) and np.array_equal(g, b):    # a grey image stored as colour
                    im = im.convert("L")
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file PIL can read") from None
    if max(im.size) > max_side:
        ratio = max_side / max(im.size)
        im = im.resize((max(1, round(im.width * ratio)), max(1, round(im.height * ratio))), Image.Resampling.LANCZOS)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1).copy()


def mnist_digit(k: int) -> np.ndarray:
    """Test digit k of the embedded MNIST sample as (1, 28, 28) floats; IndexError out of range."""
    from draw_gui.resources import embedded_mnist
    test = embedded_mnist().test
    if not 0 <= k < len(test):
        raise IndexError(f"test digit {k}: the embedded sample has {len(test)} (0..{len(test) - 1})")
    return test[k].numpy().astype(np.float32) / 255.0


def mnist_digit_count() -> int:
    from draw_gui.resources import embedded_mnist
    return len(embedded_mnist().test)


# --------------------------------------------------------------------------- pictures out

def display_scale(height: int, width: int, target: int = TARGET_SIDE) -> int:
    """Screen pixels per image pixel: whole, so every image pixel is a square of the same size."""
    return max(1, target // max(height, width, 1))


def _rgb(arr: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) floats -> (H, W, 3) uint8, clipped to [0, 1]."""
    from core.export import to_rgb_uint8
    arr = np.asarray(arr, dtype=np.float32)
    return to_rgb_uint8((arr[None] if arr.ndim == 2 else arr)[None])[0]


def _upscale(rgb: np.ndarray, sy: int, sx: int) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(rgb.repeat(sy, axis=0).repeat(sx, axis=1)))


def box_pixels(g: Glimpse, scale: int) -> tuple[int, int, int, int]:
    """The box's outline in the image panel's pixels (x0, y0, x1, y1), both ends inclusive,
    rounded as core.export draws the glimpse boxes."""
    box = np.array(g.box(), dtype=np.float64) * scale
    x0, x1 = np.floor(box[[0, 2]] + 0.5).astype(int)
    y0, y1 = np.floor(box[[1, 3]] + 0.5).astype(int)
    return int(x0), int(y0), int(max(x0, x1 - 1)), int(max(y0, y1 - 1))


def to_panel(x: float, scale: int) -> float:
    """A paper pixel coordinate (pixel a's centre at a) -> the image panel's pixel coordinate."""
    return (x - 0.5) * scale


def from_panel(p: float, scale: int) -> float:
    """The inverse of to_panel."""
    return p / scale + 0.5


def render_image(image: np.ndarray, g: Glimpse, scale: int, palette: str | None = None) -> Image.Image:
    """The image at `scale`, the read box N delta wide (core.export's colours) and the N x N
    filter centres (amber dots, eq. 19-20)."""
    from core.export import box_palette
    _, H, W = image.shape
    panel = _upscale(_rgb(image), scale, scale)
    draw = ImageDraw.Draw(panel)
    mx, my = g.centres()
    r = max(1, scale // 4)
    for y in my:
        for x in mx:
            px, py = to_panel(x, scale), to_panel(y, scale)
            if -r <= px < W * scale + r and -r <= py < H * scale + r:
                draw.rectangle((round(px) - r, round(py) - r, round(px) + r - 1, round(py) + r - 1), fill=CENTRE_COLOUR)
    x0, y0, x1, y1 = box_pixels(g, scale)
    draw.rectangle((x0, y0, x1, y1), outline=box_palette(palette).read, width=1)
    return panel


def render_filters(F: np.ndarray, scale_x: int, row_height: int) -> Image.Image:
    """A filterbank (N rows x A columns) as a grey image, white = the largest weight in it."""
    F = np.asarray(F, dtype=np.float32)
    top = float(F.max()) if F.size and F.max() > 0 else 1.0
    return _upscale(_rgb(F / top), row_height, scale_x)


def render_curves(F: np.ndarray, scale_x: int, height: int) -> Image.Image:
    """Each filter (row of F) as a curve over the pixels a = 1..A, the top = the largest weight."""
    F = np.asarray(F, dtype=np.float64)
    N, A = F.shape
    panel = Image.new("RGB", (A * scale_x, height), (PLOT_BACKGROUND,) * 3)
    draw = ImageDraw.Draw(panel)
    top = float(F.max()) if F.size and F.max() > 0 else 1.0
    xs = (np.arange(A) + 0.5) * scale_x
    for i in range(N):
        ys = (height - 1) - F[i] / top * (height - 3)
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        if A == 1:
            draw.point((xs[0], ys[0]), fill=colour)
        else:
            draw.line(list(zip(xs.tolist(), ys.tolist())), fill=colour, width=1)
    return panel


def render_patch(patch: np.ndarray, side: int) -> Image.Image:
    """The N x N read patch, values clipped to [0, 1] (gamma > 1 can saturate it), each filter's
    pixel a square, about `side` pixels in all."""
    N = patch.shape[-1]
    s = max(1, side // N)
    return _upscale(_rgb(patch), s, s)


def render_writeback(writeback: np.ndarray, scale: int) -> Image.Image:
    """The write-back canvas at `scale`, white = its largest value (it is faint: each patch value is
    spread over about delta^2 pixels)."""
    top = float(writeback.max()) if writeback.size and writeback.max() > 0 else 1.0
    return _upscale(_rgb(writeback / top), scale, scale)


def _font():
    try:
        return ImageFont.load_default(size=11)
    except TypeError:   # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def captions(p: Panels) -> dict[str, str]:
    """The panels' titles, with the equation each comes from."""
    g = p.glimpse
    return {
        "image": f"image, N={g.N} box {g.N * g.delta:.1f} px (eq. 19-20)",
        "patch": f"read patch, gamma={g.gamma:.2f} (eq. 27)",
        "writeback": f"write-back, max {float(p.writeback.max()):.3g} (eq. 29)",
        "F_X": f"F_X: N x A = {p.F_X.shape[0]} x {p.F_X.shape[1]} (eq. 25)",
        "F_Y": f"F_Y: N x B = {p.F_Y.shape[0]} x {p.F_Y.shape[1]} (eq. 26)",
    }


def figure(p: Panels, scale: int | None = None, palette: str | None = None) -> tuple[Image.Image, dict[str, tuple[int, int]]]:
    """The whole panel, and where each part's top-left corner is in it:

        image + box | read patch | write-back
        F_X image   | F_Y image
        F_X curves  | F_Y curves
    """
    _, H, W = p.image.shape
    scale = scale or display_scale(H, W)
    row_h = max(2, scale)
    parts = {
        "image": render_image(p.image, p.glimpse, scale, palette),
        "patch": render_patch(p.patch, H * scale),
        "writeback": render_writeback(p.writeback, scale),
        "F_X": render_filters(p.F_X, scale, row_h),
        "F_Y": render_filters(p.F_Y, scale, row_h),
        "F_X curves": render_curves(p.F_X, scale, 100),
        "F_Y curves": render_curves(p.F_Y, scale, 100),
    }
    titles = captions(p)
    cell_w = max(parts[k].width for k in parts)
    top_h = CAPTION_HEIGHT + max(parts[k].height for k in ("image", "patch", "writeback"))
    filt_h = CAPTION_HEIGHT + max(parts["F_X"].height, parts["F_Y"].height)
    curve_h = parts["F_X curves"].height
    width = GAP + 3 * (cell_w + GAP)
    height = GAP + top_h + GAP + filt_h + GAP // 2 + curve_h + GAP
    out = Image.new("RGB", (width, height), (PLOT_BACKGROUND,) * 3)
    draw = ImageDraw.Draw(out)
    font = _font()
    where = {}

    def place(name, x, y, title=None):
        if title:
            draw.text((x, y), title, fill=(230, 230, 230), font=font)
            y += CAPTION_HEIGHT
        out.paste(parts[name], (x, y))
        where[name] = (x, y)

    y = GAP
    for col, name in enumerate(("image", "patch", "writeback")):
        place(name, GAP + col * (cell_w + GAP), y, titles[name])
    y += top_h + GAP
    for col, name in enumerate(("F_X", "F_Y")):
        place(name, GAP + col * (cell_w + GAP), y, titles[name])
        place(f"{name} curves", GAP + col * (cell_w + GAP), y + filt_h + GAP // 2)
    return out, where
