"""The glimpse-by-glimpse record that visualisers draw: plain numpy, no torch, no Qt.

Coordinates follow the paper (eq. 21-24): pixel columns a = 1..A and rows b = 1..B, so the
centre of pixel a is at a and the image spans [0.5, A + 0.5]. `attention_box` turns a
glimpse into image coordinates where the image spans [0, A] (what PIL and Qt draw on), and
`attention_corners` the four corners of any glimpse (a spatial transformer's may be rotated).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Columns of the read/write attention arrays (Gaussian attention, eq. 21-24).
ATTENTION_COLUMNS = ("g_x", "g_y", "delta", "sigma", "gamma")
# Per attention kind. The first three columns mean the same in both: the glimpse's centre in the
# paper's pixels and the stride delta, the box side being N * delta. A spatial transformer has no
# sigma; its fourth column is the rotation in radians (clockwise on screen, as y points down).
TRACE_COLUMNS = {"gaussian": ATTENTION_COLUMNS, "spatial": ("c_x", "c_y", "delta", "angle", "gamma")}


@dataclass
class GlimpseTrace:
    canvases: np.ndarray             # (T, B, C, H, W) sigma(c_t) in [0, 1], t = 1..T
    read: np.ndarray | None          # (T, B, 5) g_x, g_y, delta, sigma, gamma (pixels); None without attention
    write: np.ndarray | None         # (T, B, 5) same columns for the write glimpse
    read_size: int                   # N of the read filterbank
    write_size: int                  # N of the write filterbank
    images: np.ndarray | None = None  # (B, C, H, W) inputs x in [0, 1]; None for generated samples
    kl_steps: np.ndarray | None = None  # (T,) KL per glimpse, nats, mean over the batch
    attention: str = "gaussian"      # which TRACE_COLUMNS the read/write arrays hold

    @property
    def glimpses(self) -> int:
        return self.canvases.shape[0]

    @property
    def batch(self) -> int:
        return self.canvases.shape[1]


def attention_box(params: np.ndarray, size: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of an N x N Gaussian glimpse in image coordinates (image = [0, W] x [0, H]).

    The filter centres span (N - 1) * delta around (g_x, g_y) (eq. 24); the box adds half a
    stride on each side, so its side is N * delta. Pixel a's centre is at a - 0.5 here.
    """
    g_x, g_y, delta = float(params[0]) - 0.5, float(params[1]) - 0.5, float(params[2])
    half = size * delta / 2
    return g_x - half, g_y - half, g_x + half, g_y + half


def attention_corners(params: np.ndarray, size: int, kind: str = "gaussian") -> list[tuple[float, float]]:
    """The four corners of an N x N glimpse in image coordinates (image = [0, W] x [0, H]):
    the patch corners (-1, -1), (1, -1), (1, 1), (-1, 1), i.e. top-left, top-right,
    bottom-right, bottom-left of the upright box.

    Gaussian: attention_box's axis-aligned box. Spatial: the centre plus R(angle) times the half
    side N * delta / 2 in each direction, the image of the patch's outline under A_theta
    (Jaderberg et al. 2015, eq. 1-2); with angle 0 it is the same box as a Gaussian's.
    """
    if kind == "gaussian":
        x0, y0, x1, y1 = attention_box(params, size)
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if kind != "spatial":
        raise ValueError(f"no glimpse corners for attention '{kind}'")
    c_x, c_y = float(params[0]) - 0.5, float(params[1]) - 0.5
    half, angle = size * float(params[2]) / 2, float(params[3])
    cos, sin = math.cos(angle), math.sin(angle)
    return [(c_x + half * (cos * u - sin * v), c_y + half * (sin * u + cos * v))
            for u, v in ((-1, -1), (1, -1), (1, 1), (-1, 1))]


def outline_vertices(corners, scale: int) -> np.ndarray | None:
    """A glimpse's corners (image coordinates) -> the pixels (x, y) a 1-pixel outline joins.

    The outline lies inside the quadrilateral, as a box's does: each corner moves half a pixel
    in along both of its edges, then to the pixel whose centre is nearest (pixel i spans
    [i, i + 1)). For an upright box these are the corner pixels of the rectangle core.export draws.
    """
    c = np.asarray(corners, dtype=np.float64) * scale                  # (4, 2)
    if not np.all(np.isfinite(c)):
        return None
    inset = np.zeros_like(c)
    for k in range(4):
        for other in (c[k - 1], c[(k + 1) % 4]):                      # the two edges at corner k
            d = other - c[k]
            length = float(np.hypot(*d))
            if length > 1:
                inset[k] += 0.5 * d / length
    return np.floor(np.clip(c + inset - 0.5, -1e5, 1e5) + 0.5).astype(int)
