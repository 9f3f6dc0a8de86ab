"""Model and training settings: plain dataclasses with the paper's defaults, validated with
messages that say what to change. No torch here, so the window can validate as the user types
without paying torch's import time.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

ATTENTIONS = ("gaussian", "spatial", "none")  # core.attention.ATTENTION_KINDS implements each


class ConfigError(ValueError):
    """An impossible model or training configuration; the message says what to change.

    `field` names the setting at fault (a dataclass field), so a form can mark it.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class DrawConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    glimpses: int = 64            # T
    enc_size: int = 256           # encoder LSTM units
    dec_size: int = 256           # decoder LSTM units
    z_size: int = 100             # latent units per glimpse
    attention: str = "gaussian"   # "gaussian" | "spatial" (Jaderberg et al. 2015) | "none"
    read_size: int = 2            # N of the read filterbank (spatial: of the sampled read patch)
    write_size: int = 5           # N of the write filterbank (spatial: of the write patch)
    learn_init_canvas: bool = True  # c_0 a learned bias (the Torch seed learned it)
    learn_init_state: bool = True   # h^dec_0 and the decoder cell a learned bias
    # Spatial attention only: the glimpses may also rotate (an angle from h_dec). Checkpoints from
    # before this field lack it and load with the default.
    spatial_rotation: bool = False

    def validate(self) -> "DrawConfig":
        C, H, W = self.image_shape
        if C not in (1, 3) or H < 2 or W < 2:
            raise ConfigError(f"image shape {self.image_shape} is not (1 or 3, H >= 2, W >= 2)", "image_shape")
        for name in ("glimpses", "enc_size", "dec_size", "z_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}", name)
        if self.attention not in ATTENTIONS:
            raise ConfigError(f"unknown attention '{self.attention}'; choose one of {', '.join(ATTENTIONS)}", "attention")
        if self.attention == "gaussian":
            for name in ("read_size", "write_size"):
                n = getattr(self, name)
                if n < 2:
                    raise ConfigError(f"{name} {n}: Gaussian attention needs N >= 2 (the stride delta "
                                      "divides by N - 1, eq. 24); use N >= 2, or no attention (--use_attention false)", name)
                if n > min(H, W):
                    raise ConfigError(f"{name} {n} is larger than the {H}x{W} image; use at most {min(H, W)}", name)
        if self.attention == "spatial":   # no N - 1 divisor here: a 1x1 patch is one bilinear sample
            for name in ("read_size", "write_size"):
                n = getattr(self, name)
                if not 1 <= n <= min(H, W):
                    raise ConfigError(f"{name} {n}: spatial attention needs 1 <= N <= {min(H, W)} "
                                      f"(the {H}x{W} image's side)", name)
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DrawConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown model settings {sorted(unknown)}")
        d = dict(d)
        if "image_shape" in d:
            d["image_shape"] = tuple(int(v) for v in d["image_shape"])
        return cls(**d)



OPTIMIZERS = ("adam", "sgd", "rmsprop")


@dataclass
class TrainConfig:
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_decay: float = 1.0         # learning rate multiplied by this after every epoch
    momentum: float = 0.9         # SGD momentum; RMSprop momentum is 0
    grad_clip: float = 5.0        # max global gradient norm; 0 turns it off
    grad_clamp: float = 0.0       # the Torch seed's element-wise clamp to [-v, v]; 0 turns it off
    kl_warmup_steps: int = 400    # KL weight rises linearly from 0 to 1 (measured: README); the bound reported is always the true one
    batch_size: int = 64
    epochs: int = 20
    max_steps: int = 0            # stop after this many steps in all; 0 means run all epochs
    seed: int = 0
    device: str = "auto"          # "auto" (cuda, then mps, then cpu) or a torch device name
    compile: bool = False         # torch.compile the glimpse step: ~1.3x faster on a CPU after ~40 s of compiling
    precision: str = "fp32"       # "fp32" or "bf16" (autocast of the forward pass; the loss stays float32)

    def validate(self) -> "TrainConfig":
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer '{self.optimizer}'; choose one of {', '.join(OPTIMIZERS)}", "optimizer")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}", "lr")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr decay must be in (0, 1], got {self.lr_decay}", "lr_decay")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"precision must be fp32 or bf16, got '{self.precision}'", "precision")
        for name in ("grad_clip", "grad_clamp", "kl_warmup_steps", "max_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}", name)
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}", name)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
