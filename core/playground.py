"""The filterbank playground's numbers: one Gaussian glimpse's filters, read patch and write-back.

A glimpse is (g_X, g_Y, delta, sigma^2, gamma, N) in the paper's pixel units (Gregor et al. 2015,
section 3.2: pixels a = 1..A, so the image spans [0.5, A + 0.5]). Every number comes from
core.attention.filterbank, the function the model trains with:

    F_X (N x A), F_Y (N x B)            eq. 25-26
    read patch  = gamma F_Y x F_X^T     eq. 27   (N x N per channel)
    write-back  = F_Y^T w F_X / gamma   eq. 29   (the read patch written onto an empty canvas)

draw_gui.playground draws them (the Filterbank tab, `draw-gui filterbank`).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class Glimpse:
    """One Gaussian glimpse in paper units: centre (g_x, g_y) and stride delta in pixels,
    variance sigma2 in pixels^2, intensity gamma, N x N filters."""
    gx: float
    gy: float
    delta: float
    sigma2: float
    gamma: float
    N: int

    def problem(self) -> str | None:
        """Why these parameters are not a glimpse (None when they are)."""
        if not (isinstance(self.N, (int, np.integer)) and self.N >= 1):
            return f"N must be a whole number >= 1, got {self.N}"
        for name in ("gx", "gy", "delta", "sigma2", "gamma"):
            if not math.isfinite(getattr(self, name)):
                return f"{name} must be a finite number, got {getattr(self, name)}"
        for name in ("delta", "sigma2", "gamma"):
            if getattr(self, name) <= 0:
                return f"{name} must be > 0, got {getattr(self, name)}"
        return None

    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the N delta wide box in image coordinates ([0, W] x [0, H], pixel a's
        centre at a - 0.5), as core.trace.attention_box gives it."""
        from core.trace import attention_box
        return attention_box(np.array([self.gx, self.gy, self.delta]), self.N)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Eq. 19-20: the filter centres mu_X (N,), mu_Y (N,) in paper pixels."""
        i = np.arange(1, self.N + 1)
        offsets = (i - self.N / 2 - 0.5) * self.delta
        return self.gx + offsets, self.gy + offsets


def default_glimpse(height: int, width: int, N: int = 12) -> Glimpse:
    """A glimpse centred on the image whose box covers it (as the model's first glimpses start)."""
    side = max(height, width)
    delta = side / N
    return Glimpse((width + 1) / 2, (height + 1) / 2, delta, (delta / 2) ** 2, 1.0, N)


@dataclasses.dataclass
class Panels:
    """What the playground shows, as numbers: F_X (N, A), F_Y (N, B), the read patch (C, N, N)
    and its write-back (C, H, W), for `image` (C, H, W) floats in [0, 1]."""
    image: np.ndarray
    glimpse: Glimpse
    F_X: np.ndarray
    F_Y: np.ndarray
    patch: np.ndarray
    writeback: np.ndarray


def compute(image: np.ndarray, g: Glimpse) -> Panels:
    """F_X, F_Y from core.attention.filterbank; the read patch (eq. 27) and its write-back (eq. 29)
    with the same filters, in float32 as the model computes them."""
    import torch
    from core.attention import filterbank
    problem = g.problem()
    if problem:
        raise ValueError(problem)
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"expected an image (C, H, W), got shape {image.shape}")
    _, H, W = image.shape
    col = lambda v: torch.tensor([[float(v)]], dtype=torch.float32)  # (B=1, 1), as attention_params gives
    with torch.no_grad():
        F_x, F_y = filterbank(col(g.gx), col(g.gy), col(g.delta), col(g.sigma2), int(g.N), W, H)
        F_x, F_y = F_x[0], F_y[0]                                          # (N, W), (N, H)
        x = torch.from_numpy(image)
        patch = g.gamma * (F_y @ x @ F_x.T)                                # eq. 27: (C, N, N)
        writeback = (F_y.T @ patch @ F_x) / g.gamma                        # eq. 29: (C, H, W)
    return Panels(image, g, F_x.numpy(), F_y.numpy(), patch.numpy(), writeback.numpy())
