"""How a DRAW model reads one image of the user's (a drawing, a file): plain torch and numpy.

`read_image` runs the model on one image x, (C, H, W) in [0, 1], and returns a `Reading`:

- the NLL bound L^x + L^z (eq. 9-12) in nats, made deterministic by fixed noise: the mean over
  `samples` draws of eps from a generator seeded with `seed` (the same eps for every image, so two
  drawings' bounds differ only by the drawings); with its L^x and per-glimpse L^z parts;
- the posterior means mu_t of Q(z_t | h^enc_t), (T, Z), along the *mean path*: z_t = mu_t at every
  glimpse (eps = 0). mu_t depends on the z drawn before it, and eps = 0 makes them the model's own
  deterministic reading; decoding them (DRAW.generate(z=means)) draws exactly the mean path's
  reconstruction, which is what makes them usable as a latent-space anchor;
- the glimpse trace (batch of 1) of that mean path, with the fixed-noise per-glimpse KL in
  trace.kl_steps, and its final canvas sigma(c_T) as the reconstruction.

The input is not binarized: the Bernoulli likelihood of eq. 9 is evaluated on x in [0, 1] as given
(a cross-entropy; for grey pixels it is not a likelihood of a binary image but still a fair
"how digit-like" number). `binarize` thresholds at 0.5 first, the form binarized-MNIST models were
trained and evaluated on.

`load_image_file` turns an image file into such an x at a model's image shape.
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

from core.trace import GlimpseTrace

if TYPE_CHECKING:
    import torch

# torch-free at import, as core.runfolder: the window builds the Sketch tab (its canvas uses
# paint_segment) before torch has loaded; only reading a drawing imports it.

DEFAULT_SAMPLES = 8   # fixed-noise draws the bound is averaged over (9 forward passes in one batch)
DEFAULT_SEED = 0


@dataclass
class Reading:
    bound: float            # mean over the fixed-noise draws of L^x + sum_t L^z_t, nats
    recon: float            # L^x part, nats
    kl: np.ndarray          # (T,) L^z_t per glimpse, nats (mean over the same draws)
    bound_std: float        # standard deviation of the bound over the draws (how much eps matters)
    means: np.ndarray       # (T, Z) posterior means along the mean path (eps = 0)
    trace: GlimpseTrace     # the mean path's glimpses (batch 1), kl_steps = kl
    reconstruction: np.ndarray  # (C, H, W) sigma(c_T) of the mean path, in [0, 1]
    samples: int
    seed: int

    @property
    def glimpses(self) -> int:
        return int(self.kl.shape[0])


def fixed_noise(model, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> torch.Tensor:
    """(T, samples, Z) standard normal noise from a CPU generator seeded with `seed` (the same on any
    device and for any image)."""
    import torch
    cfg = model.config
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(cfg.glimpses, samples, cfg.z_size, generator=g)


def as_input(image, model) -> torch.Tensor:
    """(1, C, H, W) float tensor on the model's device from a (C, H, W) or (H, W) array in [0, 1];
    ValueError when its shape is not the model's."""
    import torch
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))
    if x.dim() == 2:
        x = x.unsqueeze(0)
    shape = tuple(model.config.image_shape)
    if tuple(x.shape) != shape:
        raise ValueError(f"the image is {tuple(x.shape)} but the model reads {shape} (C, H, W)")
    device = model.canvas0.device
    return x.clamp(0, 1).unsqueeze(0).to(device=device, dtype=model.canvas0.dtype)


def read_image(model, image, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED,
               binarize: bool = False) -> Reading:
    """The model's reading of one image (see the module docstring). One forward pass over a batch
    of 1 + samples: the mean path first, then the fixed-noise draws."""
    import torch
    with torch.no_grad():
        if samples < 1:
            raise ValueError(f"samples must be at least 1, got {samples}")
        x = as_input(image, model)
        if binarize:
            x = (x > 0.5).to(x.dtype)
        cfg = model.config
        eps = torch.cat([torch.zeros(cfg.glimpses, 1, cfg.z_size), fixed_noise(model, samples, seed)], 1)
        eps = eps.to(device=x.device, dtype=x.dtype)
        mus = []
        hook = model.q.register_forward_hook(lambda mod, inp, out: mus.append(out.chunk(2, dim=1)[0][:1]))
        try:
            out = model(x.expand(samples + 1, -1, -1, -1), eps=eps, trace=True)
        finally:
            hook.remove()
        means = torch.cat(mus, 0).float().cpu().numpy()                      # (T, Z) of the mean path
        recon = out.recon[1:].float().cpu().numpy()                         # (samples,)
        kl = out.kl[1:].float().cpu().numpy()                               # (samples, T)
        bounds = recon + kl.sum(1)
        full = out.trace
        trace = GlimpseTrace(
            canvases=full.canvases[:, :1].copy(),
            read=None if full.read is None else full.read[:, :1].copy(),
            write=None if full.write is None else full.write[:, :1].copy(),
            read_size=full.read_size, write_size=full.write_size,
            images=full.images[:1].copy(), kl_steps=kl.mean(0), attention=full.attention)
        return Reading(bound=float(bounds.mean()), recon=float(recon.mean()), kl=kl.mean(0),
                       bound_std=float(bounds.std()), means=means, trace=trace,
                       reconstruction=trace.canvases[-1, 0].copy(), samples=samples, seed=int(seed))


def fit_image(rgb: np.ndarray, shape, invert: str = "auto") -> np.ndarray:
    """(C, H, W) float32 in [0, 1] for a model of image `shape` from an (h, w, 3) uint8 RGB array
    already square and at the model's size: luma for 1-channel models. invert "auto" turns dark ink
    on a light background (a border brighter than mid-grey) into light on dark, as MNIST is drawn;
    "yes" / "no" always / never."""
    channels = int(shape[0])
    a = rgb.astype(np.float32) / 255.0
    if channels == 1:
        a = (a @ np.array([0.299, 0.587, 0.114], np.float32))[None]     # (1, H, W), PIL's "L"
    else:
        a = a.transpose(2, 0, 1)
    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"invert must be auto, yes or no, got {invert!r}")
    if invert == "auto":
        border = np.concatenate([a[:, 0].ravel(), a[:, -1].ravel(), a[:, :, 0].ravel(), a[:, :, -1].ravel()])
        invert = "yes" if border.mean() > 0.5 else "no"
    if invert == "yes":
        a = 1.0 - a
    return np.ascontiguousarray(a, dtype=np.float32)


def load_image_file(path: str | os.PathLike, shape, invert: str = "auto") -> np.ndarray:
    """An image file as (C, H, W) float32 in [0, 1] for a model of image `shape`: its first frame,
    centre-cropped to a square, resized (Lanczos), greyscale for 1-channel models (fit_image).
    OSError / PIL's UnidentifiedImageError for files that are not images."""
    from core.data import _open_image
    rgb, _ = _open_image(pathlib.Path(path), int(shape[-1]))
    if rgb.shape[0] != int(shape[-2]):  # a non-square model: stretch to its height
        from PIL import Image
        rgb = np.asarray(Image.fromarray(rgb).resize((int(shape[-1]), int(shape[-2])), Image.Resampling.LANCZOS))
    return fit_image(rgb, shape, invert)


def resize_image(image: np.ndarray, shape) -> np.ndarray:
    """A (C, H, W) image in [0, 1] at another model's shape: resized, channels averaged or repeated."""
    from PIL import Image
    a = np.asarray(image, np.float32)
    c, h, w = (int(s) for s in shape)
    if a.shape[0] != c:
        a = a.mean(0, keepdims=True) if c == 1 else np.repeat(a[:1], c, 0)
    if a.shape[1:] != (h, w):
        a = np.stack([np.asarray(Image.fromarray(ch).resize((w, h), Image.Resampling.BILINEAR)) for ch in a])
    return np.clip(a, 0, 1).astype(np.float32)


def paint_segment(pixels: np.ndarray, p0, p1, width: float, erase: bool = False) -> np.ndarray:
    """Paint (or erase) a stroke of `width` pixels from p0 to p1 ((x, y) in pixel units, the image
    spanning [0, W] x [0, H]) into `pixels` (C, H, W) in [0, 1], in place, and return it.

    Every channel gets the same ink. Coverage falls linearly over one pixel at the stroke's edge
    (1 within width/2 - 0.5 of the segment, 0 beyond width/2 + 0.5), so strokes have the soft grey
    rims of MNIST digits; painting takes the maximum with what is there, erasing the minimum with
    1 - coverage. A segment of length 0 paints a dot."""
    h, w = pixels.shape[-2:]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5          # pixel centres
    (x0, y0), (x1, y1) = (float(v) for v in p0), (float(v) for v in p1)
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    s = np.zeros_like(xs) if length2 == 0 else np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0, 1)
    dist = np.hypot(xs - (x0 + s * dx), ys - (y0 + s * dy))
    cover = np.clip(max(float(width), 0.0) / 2 + 0.5 - dist, 0, 1).astype(pixels.dtype)
    if erase:
        np.minimum(pixels, 1 - cover, out=pixels)
    else:
        np.maximum(pixels, cover, out=pixels)
    return pixels
