"""Read and write operations of DRAW (Gregor et al. 2015, section 3), one pair per attention kind.

Every kind implements the same small interface, so a new kind is one new pair of modules:

    read  = Read(config);   r, params = read(x, x_hat, h_dec)    r: (B, read.out_size)
    write = Write(config);  update, params = write(h_dec)        update: (B, C, H, W)

`params` is what a visualiser needs to draw the glimpse (None when there is no glimpse):
for Gaussian attention a tuple (g_x, g_y, delta, sigma2, gamma) of (B, 1) tensors in the
paper's pixel units (pixels a = 1..A, so the image spans [0.5, A + 0.5]); for spatial-transformer
attention (c_x, c_y, delta, angle, gamma): the patch centre, the stride between its N sample
points (its side is N * delta, as a Gaussian box's), the rotation in radians and the intensity.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

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

    exp(-(a - mu)^2 / 2 sigma^2) / Z with Z the row's sum (eq. 25-26) is a softmax over the
    pixels a, and is computed as one: the same numbers wherever Z is representable, and every
    row still sums to 1, as eq. 25-26 ask, when the filter lies so far off the image that each
    exp underflows: it then reads the nearest edge pixels, the limit of the exact filter.
    Dividing by a Z clamped at 1e-8 (against 0/0) made such a filter read almost nothing.
    """
    i = torch.arange(1, N + 1, device=centre.device, dtype=centre.dtype)   # 1-based filter index
    a = torch.arange(1, size + 1, device=centre.device, dtype=centre.dtype)  # 1-based pixel index
    mu = centre.unsqueeze(-1) + (i - N / 2 - 0.5) * delta.unsqueeze(-1)     # (B, K, N)  eq. 19-20
    d = a - mu.unsqueeze(-1)                                                # (B, K, N, size)
    return torch.softmax(-d * d / (2 * sigma2.unsqueeze(-1).unsqueeze(-1)), -1)  # eq. 25-26


def filterbank(g_x, g_y, delta, sigma2, N: int, A: int, B: int):
    """Eq. 25-26: F_X (B, N, A) and F_Y (B, N, B). Both axes in one batched op when A == B."""
    if A == B:
        fb = _filters(torch.cat([g_x, g_y], 1), delta, sigma2, N, A)  # (B, 2, N, A)
        return fb[:, 0], fb[:, 1]
    return _filters(g_x, delta, sigma2, N, A)[:, 0], _filters(g_y, delta, sigma2, N, B)[:, 0]


def batched_product(a: torch.Tensor, b: torch.Tensor, as_sums: bool = False) -> torch.Tensor:
    """a @ b for (..., n, k) by (..., k, m), broadcasting the leading dimensions: the filterbank's
    small products (eq. 27, 29).

    as_sums: written as a broadcast multiply and a sum over k, for torch.compile on a CPU, where
    inductor fuses that into its own kernels, while each external bmm (2 x 28 by 28 x 28 per
    image) costs more than its arithmetic: the compiled training step ran 1.04x faster on one
    thread and 1.09-1.16x on two, in two runs of benchmarks/small_products.py. Evaluated
    eagerly it would materialise the (..., n, k, m) products, so the modules ask for it only
    while torch.compile traces them.
    """
    if as_sums:
        return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)
    return a @ b


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

    products_as_sums = False   # batched_product's as_sums while torch.compile traces (DRAW.compile_glimpse)

    def __init__(self, config):
        super().__init__()
        self.C, self.H, self.W = config.image_shape
        self.N = config.read_size
        self.params = nn.Linear(config.dec_size, 5)   # eq. 21
        self.out_size = 2 * self.C * self.N * self.N
        _init_glimpse_head(self.params, self.N, self.W, self.H)

    def forward(self, x, x_hat, h_dec):
        return self.read_at(x, x_hat, self.params(h_dec))

    def read_at(self, x, x_hat, head):
        """The read for the head's five outputs (B, 5), eq. 21-27."""
        g_x, g_y, delta, sigma2, gamma = attention_params(head, self.N, self.W, self.H)
        F_x, F_y = filterbank(g_x, g_y, delta, sigma2, self.N, self.W, self.H)  # (B, N, W), (B, N, H)
        both = torch.cat([x, x_hat], 1)                                  # (B, 2C, H, W)
        sums = self.products_as_sums and torch.compiler.is_compiling()
        glimpse = batched_product(batched_product(F_y.unsqueeze(1), both, sums),
                                  F_x.transpose(1, 2).unsqueeze(1), sums)  # (B, 2C, N, N)
        r = gamma * glimpse.flatten(1)                                   # (B, 2CN^2)
        return r, (g_x, g_y, delta, sigma2, gamma)


class GaussianWrite(nn.Module):
    """Eq. 28-29: write = 1/gamma^ * F^_Y^T w_t F^_X with its own attention parameters."""

    products_as_sums = False   # as GaussianRead's

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
        # 1/gamma scales the N x N patch rather than the H x W update: the same product (eq. 29),
        # with 25 divisions per glimpse instead of 784 (64 samples drew in 44 ms instead of 60)
        w = (self.patch(h_dec) / gamma).view(-1, self.C, self.N, self.N)  # (B, C, N, N)
        sums = self.products_as_sums and torch.compiler.is_compiling()
        update = batched_product(batched_product(F_y.transpose(1, 2).unsqueeze(1), w, sums),
                                 F_x.unsqueeze(1), sums)                 # (B, C, H, W)
        return update, (g_x, g_y, delta, sigma2, gamma)


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


# --------------------------------------------------------------------------- spatial transformer
# Jaderberg, Simonyan, Zisserman and Kavukcuoglu, "Spatial Transformer Networks", NeurIPS 2015
# (arXiv 1506.02025). A glimpse is an affine crop: the N x N target grid G = {(x_t, y_t)} over
# [-1, 1]^2 is mapped into the image by (x_s, y_s) = A_theta (x_t, y_t, 1) (eq. 1), with A_theta
# restricted to attention, scale s and translation t (eq. 2), here optionally with a rotation too,
# and the image is sampled there with the bilinear kernel (eq. 3, 5). grid_sample's coordinates
# use align_corners=False: -1 and 1 are the outer edges of the image and of the patch, not the
# centres of their corner pixels, so a patch of side s * image side holds N cells sampled at their
# centres whatever N is, and s = 1 with N = image side hits every pixel centre exactly (identity).

def spatial_params(p: torch.Tensor, N: int, A: int, B: int):
    """Head outputs -> (c_x, c_y, delta, angle, gamma), each (B, 1), in the paper's pixel units.

    p: (B, 4) t~_x, t~_y, log s, log gamma, or (B, 5) with the angle before log gamma.
    t~ is Jaderberg's translation in normalised coordinates (-1 .. 1 from edge to edge, eq. 2),
    here turned into a centre in pixels as eq. 22-23 do for Gaussian glimpses. The scale is exp(log s)
    as delta is in eq. 24: s = 1 (the initial glimpse) must be reachable without saturating, which a
    sigmoid only approaches at its flat end, and a multiplicative scale gets the same relative
    gradient for a 2-pixel patch as for a whole-image one.
    """
    if p.shape[1] == 5:
        t_x, t_y, log_s, angle, log_gamma = p.split(1, dim=1)       # each (B, 1)
    else:
        t_x, t_y, log_s, log_gamma = p.split(1, dim=1)
        angle = torch.zeros_like(t_x)
    c_x = 0.5 + A * (t_x + 1) / 2                  # image spans [0.5, A + 0.5] in paper pixels
    c_y = 0.5 + B * (t_y + 1) / 2
    delta = max(A, B) / N * torch.exp(log_s)       # s = 1: the side N * delta covers the image
    return c_x, c_y, delta, angle, torch.exp(log_gamma)


def affine_theta(c_x, c_y, delta, angle, N: int, A: int, B: int) -> torch.Tensor:
    """Eq. 1-2: A_theta (B, 2, 3) from patch coordinates (x_t, y_t) to image coordinates (x_s, y_s).

    In pixels the patch point is c + R(angle) (N delta / 2) (x_t, y_t); grid_sample's x_s is
    2 (x - 0.5) / A - 1 for paper pixel x (align_corners=False). Rows: x_s, y_s.
    """
    cos, sin = torch.cos(angle), torch.sin(angle)
    sx, sy = N * delta / A, N * delta / B                      # half side in normalised units
    row_x = torch.cat([cos * sx, -sin * sx, (2 * c_x - 1) / A - 1], 1)  # (B, 3)
    row_y = torch.cat([sin * sy, cos * sy, (2 * c_y - 1) / B - 1], 1)
    return torch.stack([row_x, row_y], 1)                      # (B, 2, 3)


def inverse_theta(c_x, c_y, delta, angle, N: int, A: int, B: int) -> torch.Tensor:
    """The inverse of affine_theta: image (x_s, y_s) -> patch (x_t, y_t), for the write.

    (x_t, y_t) = R(-angle) diag(A, B) / (N delta) ((x_s, y_s) - b), b the translation column.
    """
    cos, sin = torch.cos(angle), torch.sin(angle)
    side = (N * delta).clamp_min(1e-6)            # a vanishing patch must not divide by zero
    ix, iy = A / side, B / side
    bx, by = (2 * c_x - 1) / A - 1, (2 * c_y - 1) / B - 1
    row_x = torch.cat([cos * ix, sin * iy, -(cos * ix * bx + sin * iy * by)], 1)   # (B, 3)
    row_y = torch.cat([-sin * ix, cos * iy, -(-sin * ix * bx + cos * iy * by)], 1)
    return torch.stack([row_x, row_y], 1)                      # (B, 2, 3)


def _init_spatial_head(linear: nn.Linear) -> None:
    """As _init_glimpse_head: the first glimpses centred (t = 0), covering the image (s = 1),
    upright and at intensity 1, whatever h_dec is, since the weights start small."""
    with torch.no_grad():
        linear.weight.mul_(0.1)
        linear.bias.zero_()                        # t_x, t_y, log s, [angle,] log gamma = 0


class SpatialRead(nn.Module):
    """DRAW eq. 27 with an affine crop: read = gamma * [x, x_hat] sampled on the N x N grid."""

    def __init__(self, config):
        super().__init__()
        self.C, self.H, self.W = config.image_shape
        self.N = config.read_size
        self.params = nn.Linear(config.dec_size, 5 if config.spatial_rotation else 4)
        self.out_size = 2 * self.C * self.N * self.N
        _init_spatial_head(self.params)

    def forward(self, x, x_hat, h_dec):
        params = spatial_params(self.params(h_dec), self.N, self.W, self.H)
        c_x, c_y, delta, angle, gamma = params
        theta = affine_theta(c_x, c_y, delta, angle, self.N, self.W, self.H)       # (B, 2, 3)
        both = torch.cat([x, x_hat], 1)                                            # (B, 2C, H, W)
        grid = F.affine_grid(theta, [x.shape[0], 2 * self.C, self.N, self.N], align_corners=False)  # (B, N, N, 2) eq. 1
        glimpse = F.grid_sample(both, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=False)                               # (B, 2C, N, N) eq. 5
        return gamma * glimpse.flatten(1), params                                  # (B, 2CN^2)


class SpatialWrite(nn.Module):
    """DRAW eq. 28-29 with an affine crop: the C x N x N patch w_t is warped onto the canvas by
    the inverse transform (each canvas pixel looks itself up in the patch) and divided by gamma^.

    Outside the patch the update is zero: grid_sample pads with zeros, so the bilinear kernel
    fades the patch out over half a cell beyond its box. That soft edge, like a Gaussian
    filter's tail, is what gives the loss a gradient for moving and resizing the write.
    """

    def __init__(self, config):
        super().__init__()
        self.C, self.H, self.W = config.image_shape
        self.N = config.write_size
        self.params = nn.Linear(config.dec_size, 5 if config.spatial_rotation else 4)
        self.patch = nn.Linear(config.dec_size, self.C * self.N * self.N)           # eq. 28
        _init_spatial_head(self.params)

    def glimpse(self, h_dec):
        """(c_x, c_y, delta, angle, gamma), each (B, 1): where the patch goes."""
        return spatial_params(self.params(h_dec), self.N, self.W, self.H)

    def forward(self, h_dec, glimpse=None):
        """glimpse: parameters to use instead of the decoder's own (a user moving the write box)."""
        c_x, c_y, delta, angle, gamma = self.glimpse(h_dec) if glimpse is None else glimpse
        inverse = inverse_theta(c_x, c_y, delta, angle, self.N, self.W, self.H)      # (B, 2, 3)
        w = (self.patch(h_dec) / gamma).view(-1, self.C, self.N, self.N)              # (B, C, N, N)
        grid = F.affine_grid(inverse, [w.shape[0], self.C, self.H, self.W], align_corners=False)  # (B, H, W, 2)
        # bilinear sampling is linear in w: dividing the patch by gamma divides the update by it
        update = F.grid_sample(w, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (B, C, H, W)
        return update, (c_x, c_y, delta, angle, gamma)


ATTENTION_KINDS = {
    "gaussian": (GaussianRead, GaussianWrite),
    "spatial": (SpatialRead, SpatialWrite),
    "none": (FullRead, FullWrite),
}


def trace_columns(params, kind: str = "gaussian") -> torch.Tensor | None:
    """(B, 5) trace columns (core.trace.TRACE_COLUMNS[kind]); None without attention.

    Gaussian: g_x, g_y, delta, sigma, gamma. Spatial: c_x, c_y, delta, angle, gamma; the first
    three mean the same box (centre and N * delta side) in both, so box code can share them.
    """
    if params is None:
        return None
    a, b, delta, fourth, gamma = params
    if kind == "gaussian":
        fourth = fourth.sqrt()                       # sigma^2 -> sigma
    return torch.cat([a, b, delta, fourth, gamma], 1)
