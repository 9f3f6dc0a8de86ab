"""One training step, and the loop that the command line and the window both drive."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from core.config import OPTIMIZERS, ConfigError, TrainConfig  # noqa: F401  (re-exported)
from core.model import DRAW

def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device '{name}'; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{name}' asked for, but this torch sees no CUDA GPU; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' asked for, but Apple's Metal backend is not available; use --device cpu")
    return device


def device_available(name: str) -> bool:
    """Whether resolve_device(name) gives a device on this machine (a checkpoint's saved device
    may be another machine's: a run trained on a GPU, continued on a laptop)."""
    try:
        resolve_device(name)
    except ConfigError:
        return False
    return True


def default_threads(device_type: str = "cpu") -> int:
    """torch threads for training, by measurement (benchmarks/train_throughput.py, README).

    On 2 cores one thread trains as fast as two spinning ones and does not collapse when
    something else (the window, the GUI thread) keeps the other core busy.
    """
    if os.environ.get("DRAW_GUI_THREADS", "").isdigit() and int(os.environ["DRAW_GUI_THREADS"]) > 0:
        return int(os.environ["DRAW_GUI_THREADS"])  # for measuring other settings (benchmarks/)
    cores = os.cpu_count() or 1
    if device_type != "cpu":
        return min(4, cores)  # the GPU does the work; threads only feed it
    return 1 if cores <= 2 else min(cores // 2, 16)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    # Fused Adam and SGD can skip a step on the device (found_inf), so a NaN gradient never
    # needs a host synchronisation to be caught (what keeps a GPU busy).
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=fused)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, fused=fused)
    return torch.optim.RMSprop(model.parameters(), lr=cfg.lr)


def kl_weight(step: int, cfg: TrainConfig) -> float:
    """Linear KL warm-up: weight of L^z in the optimised loss at a 0-based step."""
    if cfg.kl_warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / cfg.kl_warmup_steps)


@dataclass
class StepResult:
    loss: torch.Tensor   # () the bound L = L^x + L^z, nats per image (eq. 12), detached
    recon: torch.Tensor  # () L^x
    kl: torch.Tensor     # () L^z summed over glimpses
    kl_steps: torch.Tensor  # (T,) L^z per glimpse, batch mean
    skipped: torch.Tensor   # () bool: the gradient was not finite, so the step was not applied


def train_step(model: DRAW, optimizer: torch.optim.Optimizer, x: torch.Tensor, cfg: TrainConfig,
               kl_scale: float = 1.0, eps: torch.Tensor | None = None) -> StepResult:
    """One gradient step on the batch x (B, C, H, W). Returns detached tensors: with a fused
    optimizer there is no host synchronisation here."""
    if getattr(model, "compile_mode", None) == "reduce-overhead":
        # CUDA graph trees reuse their output memory from one step to the next: say where a new
        # step starts, since this loop keeps nothing of the last step's graph outputs alive.
        torch.compiler.cudagraph_mark_step_begin()
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
        out = model(x, eps=eps)
    recon, kl = out.recon.mean(), out.kl.sum(1).mean()
    objective = recon + kl_scale * kl if kl_scale != 1.0 else recon + kl
    optimizer.zero_grad(set_to_none=True)
    objective.backward()
    if cfg.grad_clamp > 0:
        for p in model.parameters():
            if p.grad is not None:
                p.grad.clamp_(-cfg.grad_clamp, cfg.grad_clamp)
    # The norm is needed anyway for clipping; a non-finite one means NaN/inf somewhere, and
    # applying it would destroy the weights, so the step is skipped and the last good state kept.
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip if cfg.grad_clip > 0 else math.inf)
    skipped = ~torch.isfinite(norm)
    if getattr(optimizer, "_step_supports_amp_scaling", False):
        optimizer.grad_scale, optimizer.found_inf = None, skipped.float()  # skipped on the device
        try:
            optimizer.step()
        finally:
            del optimizer.grad_scale, optimizer.found_inf
    elif not bool(skipped):
        optimizer.step()
    return StepResult(loss=(recon + kl).detach().float(), recon=recon.detach().float(), kl=kl.detach().float(),
                      kl_steps=out.kl.detach().float().mean(0), skipped=skipped)
