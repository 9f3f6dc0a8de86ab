"""The glimpse-by-glimpse record that visualisers draw: plain numpy, no torch, no Qt.

Coordinates follow the paper (eq. 21-24): pixel columns a = 1..A and rows b = 1..B, so the
centre of pixel a is at a and the image spans [0.5, A + 0.5]. `attention_box` turns a
glimpse into image coordinates where the image spans [0, A] (what PIL and Qt draw on).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Columns of the read/write attention arrays (Gaussian attention, eq. 21-24).
ATTENTION_COLUMNS = ("g_x", "g_y", "delta", "sigma", "gamma")


@dataclass
class GlimpseTrace:
    canvases: np.ndarray             # (T, B, C, H, W) sigma(c_t) in [0, 1], t = 1..T
    read: np.ndarray | None          # (T, B, 5) g_x, g_y, delta, sigma, gamma (pixels); None without attention
    write: np.ndarray | None         # (T, B, 5) same columns for the write glimpse
    read_size: int                   # N of the read filterbank
    write_size: int                  # N of the write filterbank
    images: np.ndarray | None = None  # (B, C, H, W) inputs x in [0, 1]; None for generated samples
    kl_steps: np.ndarray | None = None  # (T,) KL per glimpse, nats, mean over the batch

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
