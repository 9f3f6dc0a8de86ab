"""Images and GIFs of a DRAW run: what the old Torch script's --save_image wrote.

Per-glimpse PNGs (inputs with the read box | canvases sigma(c_t) with the write box), an animated
GIF of the same sequence, and for samples a grid PNG and a GIF of the drawing process. Plain
numpy + Pillow (no torch, no Qt) so the CLI and the GUI can both use it.

The window's conventions, kept here too: read boxes green, write boxes red (or, with the
"colour-blind" box palette, blue and orange), nearest-neighbour scaling, grey on black. Every
saver writes to a temporary file in the destination folder and os.replace()s it onto the
destination, so a failure (read-only folder, disk full) raises OSError and leaves neither a partial
file nor a temporary file behind, and an existing file at the destination untouched.
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from core.files import atomic_path, atomic_write_bytes  # noqa: F401  (atomic_write_bytes re-exported)
from core.trace import GlimpseTrace, attention_box, attention_corners, outline_vertices

READ_COLOUR = (0, 200, 0)     # green
WRITE_COLOUR = (230, 0, 0)    # red


class BoxPalette(NamedTuple):
    """The colours of the read and write boxes, their names (for tooltips) and a menu label."""
    read: tuple[int, int, int]
    write: tuple[int, int, int]
    read_name: str
    write_name: str
    label: str


# The box colours, declared once: the window (View > Box colours), the command line (--box_colours)
# and every saver take one of these names. "classic" is the original Torch script's green/red;
# green against red is the pair the commonest colour blindness (deuteranomaly) confuses most, so
# "colour-blind" is Okabe & Ito's sky blue and orange: apart on the blue-yellow axis every
# dichromat keeps, and both bright on the black MNIST background (contrast ~9:1 against black).
BOX_PALETTES = {
    "classic": BoxPalette(READ_COLOUR, WRITE_COLOUR, "green", "red", "green / red (classic)"),
    "colour-blind": BoxPalette((86, 180, 233), (230, 159, 0), "blue", "orange",
                               "blue / orange (colour-blind safe)"),
}
DEFAULT_BOX_PALETTE = "classic"


def box_palette(name: str | None = None) -> BoxPalette:
    """The BoxPalette called `name` (None: the default); ValueError for an unknown name."""
    name = DEFAULT_BOX_PALETTE if name is None else name
    try:
        return BOX_PALETTES[name]
    except KeyError:
        raise ValueError(f"unknown box colours {name!r}; choose from {', '.join(BOX_PALETTES)}") from None


def reserved_colours(palette: str | None = None) -> tuple:
    """The colours a GIF's palette keeps exact for `palette`'s boxes (and their outline)."""
    boxes = box_palette(palette)
    return (boxes.read, boxes.write, OUTLINE_COLOUR)


PROGRESS_COLOUR = (128, 128, 128)  # the GIF's progress bar: grey, so it never reads as a box
# A 1-pixel dark line each side of a box on colour images: a green box on a green photo, or a red
# one on a red canvas, would vanish otherwise. Grey images on black need none, and keep their look.
OUTLINE_COLOUR = (0, 0, 0)
PANEL_BACKGROUND = 40              # dark grey between the cells of a glimpse panel

PathLike = str | os.PathLike


def _prepare_destination(path: PathLike) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- arrays -> images

def to_rgb_uint8(images: np.ndarray) -> np.ndarray:
    """(B, C, H, W) in [0, 1] (C = 1 or 3) -> (B, H, W, 3) uint8. Values are clipped to [0, 1],
    NaN becomes 0. A uint8 array is taken as already 0..255; (B, H, W) as C = 1."""
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (B, 1 or 3, H, W), got {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        arr = np.floor(np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.shape[1] == 1:
        arr = np.repeat(arr, 3, axis=1)
    return np.ascontiguousarray(arr.transpose(0, 2, 3, 1))


def _rgb(colour) -> tuple[int, int, int]:
    if np.isscalar(colour):
        return (int(colour),) * 3
    r, g, b = colour
    return int(r), int(g), int(b)


def _cell_origin(i: int, per_row: int, cell_w: int, cell_h: int, padding: int) -> tuple[int, int]:
    row, col = divmod(i, per_row)
    return padding + col * (cell_w + padding), padding + row * (cell_h + padding)


def image_grid(images: np.ndarray, per_row: int = 8, scale: int = 1, padding: int = 1,
               background=0) -> Image.Image:
    """(B, C, H, W) floats in [0, 1] -> one RGB image: `per_row` cells a row, each upscaled by the
    integer `scale` with nearest neighbour, `padding` pixels of `background` around every cell."""
    if per_row < 1 or scale < 1 or padding < 0:
        raise ValueError("per_row and scale must be >= 1 and padding >= 0")
    rgb = to_rgb_uint8(images)
    n, h, w, _ = rgb.shape
    if n == 0:
        raise ValueError("no images to put in a grid")
    if scale > 1:
        rgb = rgb.repeat(scale, axis=1).repeat(scale, axis=2)
    ch, cw = h * scale, w * scale
    cols, rows = min(n, per_row), -(-n // per_row)
    out = np.empty((rows * ch + (rows + 1) * padding, cols * cw + (cols + 1) * padding, 3), np.uint8)
    out[:] = _rgb(background)
    for i in range(n):
        x, y = _cell_origin(i, per_row, cw, ch, padding)
        out[y:y + ch, x:x + cw] = rgb[i]
    return Image.fromarray(out)


# --------------------------------------------------------------------------- attention boxes

def _box_width(sigma: float, scale: int, sigma_width: bool, cap: int) -> int:
    if not sigma_width or not np.isfinite(sigma):
        return 1
    return int(min(max(1, round(abs(sigma) * scale / 2)), cap))


def _draw_quadrilateral(grid: Image.Image, corners, origin: tuple[int, int], cell_w: int,
                        cell_h: int, scale: int, colour, outline: bool) -> None:
    """A rotated spatial-transformer glimpse: its four edges, 1 pixel wide, clipped to the cell."""
    vertices = outline_vertices(corners, scale)
    if vertices is None or vertices[:, 0].max() < 0 or vertices[:, 1].max() < 0 \
            or vertices[:, 0].min() >= cell_w or vertices[:, 1].min() >= cell_h:
        return
    ox, oy = origin
    cell = grid.crop((ox, oy, ox + cell_w, oy + cell_h))
    draw = ImageDraw.Draw(cell)
    points = [(int(x), int(y)) for x, y in vertices]
    if outline:   # the dark line on both sides, as for boxes
        draw.line(points + points[:2], fill=OUTLINE_COLOUR, width=3, joint="curve")
    draw.polygon(points, outline=colour, width=1)
    grid.paste(cell, (ox, oy))


def _draw_boxes(grid: Image.Image, params: np.ndarray, size: int, colour, per_row: int,
                cell_w: int, cell_h: int, scale: int, padding: int, sigma_width: bool,
                outline: bool = False, kind: str = "gaussian") -> None:
    """Draw one attention box per cell, clipped to the cell (drawn on a crop of the cell); with
    `outline`, a line of OUTLINE_COLOUR just outside and just inside the coloured one.
    A rotated spatial-transformer glimpse is its quadrilateral; an upright one a box."""
    cap = max(1, min(cell_w, cell_h) // 8)
    margin = cap + 2                       # clamp far-off edges to just outside the cell
    for i, p in enumerate(np.asarray(params, dtype=np.float64)):
        if kind == "spatial" and p[3] != 0:
            _draw_quadrilateral(grid, attention_corners(p, size, kind), _cell_origin(
                i, per_row, cell_w, cell_h, padding), cell_w, cell_h, scale, colour, outline)
            continue
        box = np.array(attention_box(p, size), dtype=np.float64) * scale
        if not np.all(np.isfinite(box)):
            continue
        x0, x1 = (np.clip(np.floor(box[[0, 2]] + 0.5), -margin, cell_w + margin)).astype(int)
        y0, y1 = (np.clip(np.floor(box[[1, 3]] + 0.5), -margin, cell_h + margin)).astype(int)
        # The outline lies inside the box [x0, x1): its last pixel column is x1 - 1.
        x1, y1 = max(x0, x1 - 1), max(y0, y1 - 1)
        if x1 < 0 or y1 < 0 or x0 >= cell_w or y0 >= cell_h:
            continue
        ox, oy = _cell_origin(i, per_row, cell_w, cell_h, padding)
        cell = grid.crop((ox, oy, ox + cell_w, oy + cell_h))
        sigma = p[3] if kind == "gaussian" and p.shape[0] > 3 else np.nan   # spatial: no sigma
        width = _box_width(sigma, scale, sigma_width, cap)
        draw = ImageDraw.Draw(cell)
        if outline:   # PIL's width grows inwards: 1 px beyond the box on each side of its line
            draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=OUTLINE_COLOUR, width=width + 2)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        grid.paste(cell, (ox, oy))


def _boxed_grid(images: np.ndarray, params: np.ndarray | None, size: int, colour, per_row: int,
                scale: int, padding: int, background, boxes: bool, sigma_width: bool,
                kind: str = "gaussian") -> Image.Image:
    grid = image_grid(images, per_row=per_row, scale=scale, padding=padding, background=background)
    if boxes and params is not None:
        params = np.asarray(params)
        if params.shape[0] != len(images) or params.ndim != 2 or params.shape[1] < 3:
            raise ValueError(f"attention params of shape {params.shape} do not match "
                             f"{len(images)} images")
        h, w = np.asarray(images).shape[-2:]
        _draw_boxes(grid, params, size, colour, per_row, w * scale, h * scale, scale, padding,
                    sigma_width, outline=np.ndim(images) == 4 and np.shape(images)[1] == 3, kind=kind)
    return grid


def glimpse_panel(trace: GlimpseTrace, t: int, per_row: int = 8, scale: int = 4,
                  boxes: bool = True, sigma_width: bool = False, padding: int = 1,
                  gap: int | None = None, background=PANEL_BACKGROUND,
                  palette: str | None = None) -> Image.Image:
    """Glimpse t (0-based; negative counts from the end) for every example of `trace`.

    With inputs (trace.images): left the inputs with the read box of glimpse t (green), right the
    canvases sigma(c_t) with the write box (red), `gap` pixels apart (default 2 * scale, at least
    4). Without inputs (generated samples): only the canvases with write boxes. Boxes are clipped
    to their cell; with sigma_width the line width follows the filter's sigma (the paper's
    Figure 1: max(1, round(sigma * scale / 2)), at most 1/8 of a cell), else it is 1 pixel (always
    for spatial-transformer glimpses: no sigma; a rotated one is drawn as its quadrilateral). No
    boxes where trace.read / trace.write is None. Cells sit `padding` pixels apart on a dark grey
    `background` so that black MNIST cells (and the clipping of boxes) stay visible. `palette`
    names the box colours (BOX_PALETTES; None: the classic green / red).
    """
    colours = box_palette(palette)
    T = trace.glimpses
    if not -T <= t < T:
        raise IndexError(f"glimpse {t} out of range for a trace of {T} glimpses")
    t %= T
    canvases = np.asarray(trace.canvases[t])
    write = None if trace.write is None else np.asarray(trace.write)[t]
    right = _boxed_grid(canvases, write, trace.write_size, colours.write, per_row, scale, padding,
                        background, boxes, sigma_width, trace.attention)
    if trace.images is None:
        return right
    images = np.asarray(trace.images)
    if images.shape != canvases.shape:
        raise ValueError(f"inputs {images.shape} and canvases {canvases.shape} differ in shape")
    read = None if trace.read is None else np.asarray(trace.read)[t]
    left = _boxed_grid(images, read, trace.read_size, colours.read, per_row, scale, padding,
                       background, boxes, sigma_width, trace.attention)
    gap = max(4, 2 * scale) if gap is None else max(0, gap)
    panel = Image.new("RGB", (left.width + gap + right.width, left.height), _rgb(background))
    panel.paste(left, (0, 0))
    panel.paste(right, (left.width + gap, 0))
    return panel


def progress_bar_height(scale: int) -> int:
    return max(2, scale // 2)


def with_progress_bar(panel: Image.Image, fraction: float, height: int, background=0) -> Image.Image:
    """`panel` with a strip below it whose bar covers `fraction` of the width (GIF frames show t/T)."""
    out = Image.new("RGB", (panel.width, panel.height + height), _rgb(background))
    out.paste(panel, (0, 0))
    length = int(round(min(max(fraction, 0.0), 1.0) * panel.width))
    if length > 0:
        out.paste(PROGRESS_COLOUR, (0, panel.height, length, panel.height + height))
    return out


# --------------------------------------------------------------------------- GIF palette

def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack(keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, dtype=np.uint32)
    return np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=-1).astype(np.uint8)


def _quantize_frames(frames: list[np.ndarray], reserved: Sequence) -> tuple[list[np.ndarray], np.ndarray]:
    """Map RGB frames (H, W, 3) uint8 to palette indices with one palette shared by all frames.

    Exact when the frames use at most 256 colours; else, if everything but the `reserved` colours
    (the box colours) is grey, a grey ramp plus the reserved colours; else an adaptive (median cut)
    palette from a sample of the frames, with the reserved colours kept exactly.
    Returns (index arrays (H, W) uint8, palette (K, 3) uint8). Consumes `frames`: each entry is
    replaced by its index array as it is mapped, to keep memory low for long GIFs.
    """
    all_keys = np.unique(_pack(np.array([_rgb(c) for c in reserved], dtype=np.uint8)))
    res_rgb = _unpack(all_keys)
    res_keys = all_keys[np.any(res_rgb != res_rgb[:, :1], axis=1)]  # greys come with the ramp
    n_res = len(res_keys)
    uniq: np.ndarray | None = np.zeros(0, np.uint32)
    greys_only = True
    for f in frames:
        k = _pack(f)
        if uniq is not None:
            uniq = np.union1d(uniq, np.unique(k[::4, ::4]))  # cheap early-out for rich images
            if uniq.size <= 256:
                uniq = np.union1d(uniq, np.unique(k))
            if uniq.size > 256:
                uniq = None
        if greys_only:
            greys_only = bool(np.isin(k[(f[..., 0] != f[..., 1]) | (f[..., 1] != f[..., 2])],
                                      res_keys).all())
        if uniq is None and not greys_only:
            break

    if uniq is not None:
        palette = _unpack(uniq)
        mapper = lambda f, k: np.searchsorted(uniq, k).astype(np.uint8)  # noqa: E731
    elif greys_only:
        levels = 256 - n_res
        ramp = np.floor(np.arange(levels) * 255.0 / (levels - 1) + 0.5).astype(np.uint8)
        palette = np.concatenate([_unpack(res_keys), np.repeat(ramp[:, None], 3, axis=1)])
        scale = (levels - 1) / 255.0
        mapper = lambda f, k: (n_res + np.floor(f[..., 0] * scale + 0.5)).astype(np.uint8)  # noqa: E731
    else:
        res_keys, n_res = all_keys, len(all_keys)   # no ramp here: keep reserved greys (box outlines) exact
        step = max(1, len(frames) // 16)
        sample = np.concatenate([f.reshape(-1, 3) for f in frames[::step]])
        sample = sample[:: max(1, len(sample) // 2_000_000)]
        q = Image.fromarray(sample[None]).quantize(256 - n_res, method=Image.Quantize.MEDIANCUT,
                                                   dither=Image.Dither.NONE)
        used = np.unique(np.asarray(q))
        adaptive = np.asarray(q.getpalette()[: 3 * 256], dtype=np.uint8).reshape(-1, 3)[used]
        palette = np.concatenate([_unpack(res_keys), adaptive])
        pal_img = Image.new("P", (1, 1))
        pal_img.putpalette(palette.tobytes())
        mapper = lambda f, k: np.array(Image.fromarray(f).quantize(  # noqa: E731
            palette=pal_img, dither=Image.Dither.NONE))
    for i, f in enumerate(frames):
        k = _pack(f)
        idx = mapper(f, k)
        if uniq is None:                     # reserved colours always map to themselves
            for j, rk in enumerate(res_keys):
                idx[k == rk] = j
        frames[i] = idx
    return frames, palette


def _keep_frames_distinct(indices: list[np.ndarray], palette: np.ndarray) -> np.ndarray:
    """Pillow merges identical consecutive GIF frames; nudge the bottom-right pixel of a frame that
    equals its predecessor to the nearest other palette colour. Returns the (maybe grown) palette."""
    for i in range(1, len(indices)):
        if not np.array_equal(indices[i], indices[i - 1]):
            continue
        c = int(indices[i][-1, -1])
        dist = np.abs(palette.astype(int) - palette[c].astype(int)).sum(axis=1)
        dist[np.all(palette == palette[c], axis=1)] = 1 << 30
        if dist.min() >= 1 << 30:          # a one-colour palette: add a neighbour colour
            near = palette[c].astype(int) + (1 if palette[c].max() < 255 else -1)
            palette = np.concatenate([palette, near[None].astype(np.uint8)])
            d = len(palette) - 1
        else:
            d = int(dist.argmin())
        indices[i] = indices[i].copy()
        indices[i][-1, -1] = d
    return palette


# --------------------------------------------------------------------------- savers

def save_frames_gif(frames: list[Image.Image], path: PathLike, frame_ms: int = 80,
                    hold_last_ms: int = 1000, loop: int | None = 0,
                    reserved_colours: Sequence = (READ_COLOUR, WRITE_COLOUR, OUTLINE_COLOUR)) -> pathlib.Path:
    """An animated GIF with exactly len(frames) frames (all the same size), `frame_ms` each and
    the last held `hold_last_ms` (at least frame_ms). loop=0 repeats forever, None plays once.
    One palette for all frames keeps `reserved_colours` exact (the box colours). Identical
    consecutive frames still count (Pillow would merge them): the bottom-right pixel of a repeat
    is nudged to the nearest other palette colour."""
    if not frames:
        raise ValueError("no frames to write")
    if any(f.size != frames[0].size for f in frames):
        raise ValueError("all frames of a GIF must have the same size")
    arrays = [np.asarray(f if f.mode == "RGB" else f.convert("RGB")) for f in frames]
    return _save_gif_arrays(arrays, path, frame_ms, hold_last_ms, loop, reserved_colours)


def _save_gif_arrays(arrays: list[np.ndarray], path: PathLike, frame_ms: int, hold_last_ms: int,
                     loop: int | None, reserved_colours: Sequence) -> pathlib.Path:
    """save_frames_gif on (H, W, 3) uint8 arrays; consumes the list (frees memory as it goes)."""
    path = _prepare_destination(path)
    h, w = arrays[0].shape[:2]
    indices, palette = _quantize_frames(arrays, reserved_colours)
    palette = _keep_frames_distinct(indices, palette)
    flat = palette.tobytes()
    for i, idx in enumerate(indices):
        im = Image.frombytes("P", (w, h), np.ascontiguousarray(idx).tobytes())
        im.putpalette(flat)
        indices[i] = im
    images = indices
    durations = [int(frame_ms)] * (len(images) - 1) + [int(max(frame_ms, hold_last_ms))]
    options = dict(format="GIF", save_all=True, append_images=images[1:], duration=durations,
                   disposal=1, optimize=False)
    if loop is not None:
        options["loop"] = int(loop)
    with atomic_path(path) as tmp:
        images[0].save(tmp, **options)
    return path


def save_grid_png(images: np.ndarray, path: PathLike, per_row: int = 8, scale: int = 2) -> pathlib.Path:
    """A grid of (B, C, H, W) images in [0, 1] as one PNG."""
    grid = image_grid(images, per_row=per_row, scale=scale)
    path = _prepare_destination(path)
    with atomic_path(path) as tmp:
        grid.save(tmp, format="PNG")
    return path


def save_glimpse_pngs(trace: GlimpseTrace, out_dir: PathLike, prefix: str = "glimpse",
                      **panel_kwargs) -> list[pathlib.Path]:
    """One glimpse_panel PNG per glimpse: out_dir/prefix_01.png .. prefix_T.png (numbered from 1,
    zero-padded to len(str(T)) digits, at least 2). Each file is written atomically."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    T = trace.glimpses
    digits = max(2, len(str(T)))
    paths = []
    for t in range(T):
        panel = glimpse_panel(trace, t, **panel_kwargs)
        path = out_dir / f"{prefix}_{t + 1:0{digits}d}.png"
        with atomic_path(path) as tmp:
            panel.save(tmp, format="PNG")
        paths.append(path)
    return paths


def save_drawing_gif(trace: GlimpseTrace, path: PathLike, frame_ms: int = 80,
                     hold_last_ms: int = 1000, loop: int | None = 0, progress_bar: bool = True,
                     **panel_kwargs) -> pathlib.Path:
    """An animated GIF of glimpse_panel for t = 0..T-1 (exactly T frames, the last held longer),
    with a thin grey bar along the bottom showing t / T (which also keeps frames distinct when the
    canvas does not change between glimpses)."""
    scale = int(panel_kwargs.get("scale", 4))
    arrays = []
    for t in range(trace.glimpses):
        panel = glimpse_panel(trace, t, **panel_kwargs)
        if progress_bar:
            panel = with_progress_bar(panel, (t + 1) / trace.glimpses, progress_bar_height(scale),
                                       panel_kwargs.get("background", PANEL_BACKGROUND))
        arrays.append(np.asarray(panel))
    return _save_gif_arrays(arrays, path, frame_ms, hold_last_ms, loop,
                            reserved_colours(panel_kwargs.get("palette")))
