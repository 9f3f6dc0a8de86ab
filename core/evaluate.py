"""Test-set likelihood: the variational bound (eq. 12) and an importance-weighted estimate.

Both use their own seeded noise so the same model and data always give the same number.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.model import DRAW

EVAL_SEED = 1234


@dataclass
class Evaluation:
    nll_bound: float        # nats per image: E_q[L^x] + L^z, an upper bound on -log p(x)
    recon: float            # L^x part
    kl: float               # L^z part (all glimpses)
    kl_steps: np.ndarray    # (T,) L^z per glimpse
    images: int
    nll_iw: float | None = None  # importance-weighted estimate with k samples (tighter, still an upper bound)
    k: int | None = None


def _noise(model: DRAW, batch: int, generator: torch.Generator, device) -> torch.Tensor:
    cfg = model.config
    return torch.randn(cfg.glimpses, batch, cfg.z_size, generator=generator).to(device)


@torch.inference_mode()
def evaluate(model: DRAW, images: torch.Tensor, batch_size: int = 500, k: int = 0,
             progress=None) -> Evaluation:
    """images: (M, C, H, W) in evaluation form (e.g. the fixed binarization). k > 0 adds the
    importance-weighted estimate log p(x) ~ logmeanexp_k [log p(x, z_k) - log q(z_k | x)].

    progress(done, total) is called after each pass of the model over a batch, in images times
    passes: each image takes 1 + k passes (the bound's, then the k importance samples), so that
    with k = 100 it moves every pass rather than once per batch (minutes apart on a CPU)."""
    was_training = model.training
    model.eval()
    device = model.canvas0.device
    generator = torch.Generator().manual_seed(EVAL_SEED)
    iw_generator = torch.Generator().manual_seed(EVAL_SEED + 1)  # the bound must not depend on k
    M = images.shape[0]
    passes = 1 + k                                               # model passes per image
    recon = kl = 0.0
    kl_steps = 0.0
    iw_sum = 0.0
    for start in range(0, M, batch_size):
        x = images[start:start + batch_size].to(device)
        out = model(x, eps=_noise(model, x.shape[0], generator, device))
        recon += out.recon.double().sum().item()
        kl += out.kl.double().sum().item()
        kl_steps = kl_steps + out.kl.double().sum(0).cpu().numpy()
        b = x.shape[0]
        if progress is not None:
            progress(start * passes + b, M * passes)
        if k > 0:
            weights = []
            for j in range(k):
                o = model(x, eps=_noise(model, b, iw_generator, device), log_weight=True)
                weights.append(o.log_weight.double())
                if progress is not None:
                    progress(start * passes + b * (j + 2), M * passes)
            log_w = torch.stack(weights)                         # (k, b)
            iw_sum += -(torch.logsumexp(log_w, 0) - math.log(k)).sum().item()
    model.train(was_training)
    return Evaluation(nll_bound=(recon + kl) / M, recon=recon / M, kl=kl / M,
                      kl_steps=np.asarray(kl_steps / M, dtype=np.float64), images=M,
                      nll_iw=iw_sum / M if k > 0 else None, k=k or None)
