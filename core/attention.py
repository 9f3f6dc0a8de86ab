"""Read and write operations of DRAW (Gregor et al. 2015, section 3), one pair per attention kind.

Every kind implements the same small interface, so a new kind is one new pair of modules:

    read  = Read(config);   r, params = read(x, x_hat, h_dec)    r: (B, read.out_size)
    write = Write(config);  update, params = write(h_dec)        update: (B, C, H, W)

`params` is what a visualiser needs to draw the glimpse (None when there is no glimpse):
for Gaussian attention a tuple (g_x, g_y, delta, sigma2, gamma) of (B, 1) tensors in the
paper's pixel units (pixels a = 1..A, so the image spans [0.5, A + 0.5]).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

# Lower bound of the filter normaliser Z (eq. 25-26): a filterbank centred far outside the image
# underflows to all-zero rows, and 0/0 would poison the whole batch with NaNs.
FILTER_EPS = 1e-8


def attention_params(p: torch.Tensor, N: int, A: int, B: int):
    """Eq. 21-24: five linear outputs of h_dec -> glimpse centre, stride, variance, intensity."""
    gx_, gy_, log_sigma2, log_delta_, log_gamma = p.split(1, dim=1)  # each (B, 1)
    g_x = (A + 1) / 2 * (gx_ + 1)                                    # eq. 22
    g_y = (B + 1) / 2 * (gy_ + 1)                                    # eq. 23
    delta = (max(A, B) - 1) / (N - 1) * torch.exp(log_delta_)        # eq. 24
    return g_x, g_y, delta, torch.exp(log_sigma2), torch.exp(log_gamma)


def _filters(centre: torch.Tensor, delta: torch.Tensor, sigma2: torch.Tensor, N: int, size: int):
    """Row-normalised Gaussian filters for one or more axes at once.

    centre: (B, K) glimpse centres of K axes; delta, sigma2: (B, 1). Returns (B, K, N, size).
    """
    i = torch.arange(1, N + 1, device=centre.device, dtype=centre.dtype)   # 1-based filter index
    a = torch.arange(1, size + 1, device=centre.device, dtype=centre.dtype)  # 1-based pixel index
    mu = centre.unsqueeze(-1) + (i - N / 2 - 0.5) * delta.unsqueeze(-1)     # (B, K, N)  eq. 19-20
    d = a - mu.unsqueeze(-1)                                                # (B, K, N, size)
    f = torch.exp(-d * d / (2 * sigma2.unsqueeze(-1).unsqueeze(-1)))        # eq. 25-26
    return f / f.sum(-1, keepdim=True).clamp_min(FILTER_EPS)


def filterbank(g_x, g_y, delta, sigma2, N: int, A: int, B: int):
    """Eq. 25-26: F_X (B, N, A) and F_Y (B, N, B). Both axes in one batched op when A == B."""
    if A == B:
        fb = _filters(torch.cat([g_x, g_y], 1), delta, sigma2, N, A)  # (B, 2, N, A)
        return fb[:, 0], fb[:, 1]
    return _filters(g_x, delta, sigma2, N, A)[:, 0], _filters(g_y, delta, sigma2, N, B)[:, 0]


def _init_glimpse_head(linear: nn.Linear, N: int, A: int, B: int) -> None:
    """Start every glimpse centred and covering the image, with filters half a stride wide.

    With small weights the first glimpses do not depend much on h_dec: a 2x2 read then sees the
    four blurred quadrants and a 5x5 write paints the whole canvas, instead of a random corner.
    """
    delta_cover = max(A, B) / N                               # box side N * delta = image side
    delta_unit = delta_cover * (N - 1) / (max(A, B) - 1)     # delta~ for that stride (eq. 24)
    sigma2 = (delta_cover / 2) ** 2
    with torch.no_grad():
        linear.weight.mul_(0.1)
        linear.bias.copy_(torch.tensor([0.0, 0.0, math.log(sigma2), math.log(delta_unit), 0.0]))


class GaussianRead(nn.Module):
    """Eq. 27: read = gamma * [F_Y x F_X^T, F_Y x_hat F_X^T], N x N per channel of each."""

    def __init__(self, config):
        super().__init__()
        self.C, self.H, self.W = config.image_shape
        self.N = config.read_size
        self.params = nn.Linear(config.dec_size, 5)   # eq. 21
        self.out_size = 2 * self.C * self.N * self.N
        _init_glimpse_head(self.params, self.N, self.W, self.H)

    def forward(self, x, x_hat, h_dec):
        g_x, g_y, delta, sigma2, gamma = attention_params(self.params(h_dec), self.N, self.W, self.H)
        F_x, F_y = filterbank(g_x, g_y, delta, sigma2, self.N, self.W, self.H)  # (B, N, W), (B, N, H)
        both = torch.cat([x, x_hat], 1)                                  # (B, 2C, H, W)
        glimpse = F_y.unsqueeze(1) @ both @ F_x.transpose(1, 2).unsqueeze(1)  # (B, 2C, N, N)
        r = gamma * glimpse.flatten(1)                                   # (B, 2CN^2)
        return r, (g_x, g_y, delta, sigma2, gamma)


class GaussianWrite(nn.Module):
    """Eq. 28-29: write = 1/gamma^ * F^_Y^T w_t F^_X with its own attention parameters."""

    def __init__(self, config):
        super().__init__()
        self.C, self.H, self.W = config.image_shape
        self.N = config.write_size
        self.params = nn.Linear(config.dec_size, 5)                      # eq. 21 (hatted)
        self.patch = nn.Linear(config.dec_size, self.C * self.N * self.N)  # eq. 28
        _init_glimpse_head(self.params, self.N, self.W, self.H)

    def glimpse(self, h_dec):
        """(g_x, g_y, delta, sigma2, gamma), each (B, 1): where the patch goes (eq. 21-24)."""
        return attention_params(self.params(h_dec), self.N, self.W, self.H)

    def forward(self, h_dec, glimpse=None):
        """glimpse: parameters to use instead of the decoder's own (a user moving the write box)."""
        g_x, g_y, delta, sigma2, gamma = self.glimpse(h_dec) if glimpse is None else glimpse
        F_x, F_y = filterbank(g_x, g_y, delta, sigma2, self.N, self.W, self.H)
        w = self.patch(h_dec).view(-1, self.C, self.N, self.N)            # (B, C, N, N)
        update = F_y.transpose(1, 2).unsqueeze(1) @ w @ F_x.unsqueeze(1)  # (B, C, H, W)
        return update / gamma.view(-1, 1, 1, 1), (g_x, g_y, delta, sigma2, gamma)


class FullRead(nn.Module):
    """Eq. 17: without attention the encoder reads both whole images."""

    def __init__(self, config):
        super().__init__()
        C, H, W = config.image_shape
        self.out_size = 2 * C * H * W

    def forward(self, x, x_hat, h_dec):
        return torch.cat([x.flatten(1), x_hat.flatten(1)], 1), None


class FullWrite(nn.Module):
    """Eq. 18: without attention the decoder writes a whole-canvas update."""

    def __init__(self, config):
        super().__init__()
        self.shape = config.image_shape
        self.patch = nn.Linear(config.dec_size, math.prod(self.shape))

    def forward(self, h_dec, glimpse=None):
        return self.patch(h_dec).view(-1, *self.shape), None


ATTENTION_KINDS = {
    "gaussian": (GaussianRead, GaussianWrite),
    "none": (FullRead, FullWrite),
}


def trace_columns(params) -> torch.Tensor | None:
    """(B, 5) g_x, g_y, delta, sigma, gamma for the trace; None without attention."""
    if params is None:
        return None
    g_x, g_y, delta, sigma2, gamma = params
    return torch.cat([g_x, g_y, delta, sigma2.sqrt(), gamma], 1)
