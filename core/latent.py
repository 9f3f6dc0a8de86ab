"""Moving through DRAW's latent space: a latent is a T x Z tensor, one z_t per glimpse (eq. 13).

Interpolations, sweeps along one dimension, and the directions a 2-D pad can map to.
Pure torch; the window and the command line both call these.
"""
from __future__ import annotations

import torch

from core.model import DRAW


def lerp(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    return a + (b - a) * w


def slerp(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    """Spherical interpolation over the whole T x Z latent: stays at the norm a Gaussian sample
    has, where linear interpolation passes through the improbable middle."""
    a_flat, b_flat = a.reshape(-1), b.reshape(-1)
    cos = torch.dot(a_flat, b_flat) / (a_flat.norm() * b_flat.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:  # nearly parallel: the two coincide
        return lerp(a, b, w)
    s = torch.sin(omega)
    return (torch.sin((1 - w) * omega) / s) * a + (torch.sin(w * omega) / s) * b


def interpolation(a: torch.Tensor, b: torch.Tensor, steps: int, spherical: bool = True) -> torch.Tensor:
    """(steps, T, Z) latents from a to b inclusive."""
    mix = slerp if spherical else lerp
    return torch.stack([mix(a, b, i / max(1, steps - 1)) for i in range(steps)])


def sweep(z: torch.Tensor, dim: int, values, glimpse: int | None = None) -> torch.Tensor:
    """(len(values), T, Z): z with latent dimension `dim` set to each value, in every glimpse
    (one z shared by all glimpses) or only in glimpse `glimpse` (0-based)."""
    T, Z = z.shape
    if not 0 <= dim < Z:
        raise ValueError(f"latent dimension {dim} does not exist: the model has z of size {Z} (0..{Z - 1})")
    if glimpse is not None and not 0 <= glimpse < T:
        raise ValueError(f"glimpse {glimpse + 1} does not exist: the model has T = {T}")
    out = z.unsqueeze(0).repeat(len(values), 1, 1)
    for i, v in enumerate(values):
        if glimpse is None:
            out[i, :, dim] = v
        else:
            out[i, glimpse, dim] = v
    return out


def random_directions(T: int, Z: int, k: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """k orthonormal directions in the T*Z latent space: (k, T, Z)."""
    q, _ = torch.linalg.qr(torch.randn(T * Z, k, generator=generator))
    return q.T.reshape(k, T, Z).contiguous()


@torch.inference_mode()
def principal_directions(model: DRAW, images: torch.Tensor, k: int = 2, seed: int = 0):
    """The k directions along which the posterior means of `images` vary most (PCA of the
    flattened T x Z means), with their standard deviations: ((k, T, Z), (k,))."""
    cfg = model.config
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn(cfg.glimpses, images.shape[0], cfg.z_size, generator=generator).to(images.device)
    mu = model.encode(images, eps=eps).reshape(images.shape[0], -1).double()   # (B, T*Z)
    centred = mu - mu.mean(0)
    _, s, v = torch.linalg.svd(centred, full_matrices=False)
    std = s[:k] / max(1, images.shape[0] - 1) ** 0.5
    return v[:k].reshape(k, cfg.glimpses, cfg.z_size).float(), std.float()


@torch.inference_mode()
def decode(model: DRAW, latents: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """sigma(c_T) for (N, T, Z) latents, in batches: (N, C, H, W)."""
    return torch.cat([model.generate(z=latents[i:i + batch])[0] for i in range(0, latents.shape[0], batch)])
