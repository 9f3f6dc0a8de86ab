"""One training step, and the loop that the command line and the window both drive."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch

from core.model import DRAW, ConfigError, DrawConfig

OPTIMIZERS = ("adam", "sgd", "rmsprop")


@dataclass
class TrainConfig:
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_decay: float = 1.0         # learning rate multiplied by this after every epoch
    momentum: float = 0.9         # SGD momentum; RMSprop momentum is 0
    grad_clip: float = 5.0        # max global gradient norm; 0 turns it off
    grad_clamp: float = 0.0       # the Torch seed's element-wise clamp to [-v, v]; 0 turns it off
    kl_warmup_steps: int = 0      # KL weight rises linearly from 0 to 1; the bound reported is always the true one
    batch_size: int = 64
    epochs: int = 20
    max_steps: int = 0            # stop after this many steps in all; 0 means run all epochs
    seed: int = 0
    device: str = "auto"          # "auto" (cuda, then mps, then cpu) or a torch device name

    def validate(self) -> "TrainConfig":
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer '{self.optimizer}'; choose one of {', '.join(OPTIMIZERS)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr decay must be in (0, 1], got {self.lr_decay}")
        for name in ("grad_clip", "grad_clamp", "kl_warmup_steps", "max_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.batch_size < 1 or self.epochs < 1:
            raise ConfigError("batch size and epochs must be at least 1")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


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


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
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
    skipped: bool = False   # the gradient was not finite, so the step was not applied


def train_step(model: DRAW, optimizer: torch.optim.Optimizer, x: torch.Tensor, cfg: TrainConfig,
               kl_scale: float = 1.0, eps: torch.Tensor | None = None) -> StepResult:
    """One gradient step on the batch x (B, C, H, W). Returns detached tensors: no host sync here."""
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
    skipped = not bool(torch.isfinite(norm))
    if skipped:
        optimizer.zero_grad(set_to_none=True)
    else:
        optimizer.step()
    return StepResult(loss=(recon + kl).detach(), recon=recon.detach(), kl=kl.detach(),
                      kl_steps=out.kl.detach().mean(0), skipped=skipped)
