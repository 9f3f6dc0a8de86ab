"""Model and training settings: plain dataclasses with the paper's defaults, validated with
messages that say what to change. No torch here, so the window can validate as the user types
without paying torch's import time.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields

ATTENTIONS = ("gaussian", "spatial", "none")  # core.attention.ATTENTION_KINDS implements each

# Upper bounds far beyond any DRAW in the literature (the paper's largest: T 64, LSTM 800, 64x64
# SVHN) and below what would hang or exhaust a machine. A checkpoint, an option and a Run panel
# field are held to the same limits.
MAX_SIDE = 512          # image height and width, pixels
MAX_GLIMPSES = 1024     # T
MAX_UNITS = 8192        # LSTM units
MAX_Z = 4096            # latent units per glimpse
MAX_BATCH = 65536
MAX_EPOCHS = 1_000_000


MAX_COUNT = 2**53   # steps, epochs, sizes read from files: past this a float no longer holds a whole number


def is_number(v) -> bool:
    """A finite int or float (not a bool): what a number read from an untrusted file must be."""
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def is_count(v, floats: bool = False) -> bool:
    """A whole number in [0, MAX_COUNT): an int, or with floats=True also a whole float (a CSV's)."""
    return (is_number(v) and 0 <= v < MAX_COUNT
            and (isinstance(v, int) or (floats and float(v).is_integer())))


def _whole(value, name: str, low: int, high: int, label: str | None = None) -> int:
    """value as an int in [low, high], or a ConfigError naming the field (floats like 8.5, bools,
    strings and huge numbers are refused, not truncated)."""
    label = label or name
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{label} must be a whole number, got {value!r}", name)
    if value < low:
        raise ConfigError(f"{label} must be at least {low}, got {value}", name)
    if value > high:
        raise ConfigError(f"{label} must be at most {high:,}, got {value:,}", name)
    return value


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (MemAvailable on Linux, else all of it)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


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
        shape = self.image_shape
        if not isinstance(shape, (tuple, list)) or len(shape) != 3:
            raise ConfigError(f"image shape {shape!r} is not (channels, height, width)", "image_shape")
        C, H, W = (_whole(v, "image_shape", 1, MAX_SIDE) for v in shape)
        self.image_shape = (C, H, W)
        if C not in (1, 3) or H < 2 or W < 2:
            raise ConfigError(f"image shape {self.image_shape} is not (1 or 3, H >= 2, W >= 2)", "image_shape")
        # read and write N only matter with attention (checked below); without, any N >= 0 is kept
        for name, low, high in (("glimpses", 1, MAX_GLIMPSES), ("enc_size", 1, MAX_UNITS), ("dec_size", 1, MAX_UNITS),
                                ("z_size", 1, MAX_Z), ("read_size", 0, MAX_SIDE), ("write_size", 0, MAX_SIDE)):
            setattr(self, name, _whole(getattr(self, name), name, low, high))
        for name in ("learn_init_canvas", "learn_init_state", "spatial_rotation"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}", name)
        if not isinstance(self.attention, str) or self.attention not in ATTENTIONS:
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
        free = available_memory()
        if free is not None and 4 * self.parameter_count() > free:
            raise ConfigError(f"this model's {self.parameter_count():,} weights need {_gb(4 * self.parameter_count())}"
                              f" and this machine has {_gb(free)} free; use fewer LSTM units or smaller images",
                              "enc_size")
        return self

    def parameter_count(self) -> int:
        """The number of weights DRAW(self) has (core.model), computed without building it."""
        C, H, W = self.image_shape
        pixels = C * H * W
        if self.attention == "none":
            read, write, attention = 2 * pixels, pixels, 0
        else:
            read, write = 2 * C * self.read_size ** 2, C * self.write_size ** 2
            attention = 2 * (self.dec_size + 1) * 6      # read and write parameters from h_dec (5 or 6 each)
        lstm = lambda n_in, n: 4 * n * (n_in + n + 2)    # noqa: E731  (weights and both biases)
        return (lstm(read + self.dec_size, self.enc_size) + lstm(self.z_size, self.dec_size)
                + (self.enc_size + 1) * 2 * self.z_size + (self.dec_size + 1) * write + attention
                + pixels + 2 * self.dec_size)

    def training_bytes(self, batch_size: int) -> int:
        """About the memory a training step needs: weights, gradients and Adam's two moments, and
        what backpropagation keeps of every glimpse (canvas, error image, LSTM states and gates)."""
        C, H, W = self.image_shape
        per_glimpse = 3 * C * H * W + 12 * (self.enc_size + self.dec_size) + 6 * self.z_size
        if self.attention != "none":
            per_glimpse += 2 * C * (self.read_size + self.write_size) * (H + W)
        return 4 * (4 * self.parameter_count() + batch_size * self.glimpses * per_glimpse)

    def check_affordable(self, batch_size: int) -> None:
        """ConfigError when training this model at this batch would not fit in free memory."""
        free = available_memory()
        need = self.training_bytes(batch_size)
        if free is not None and need > free:
            raise ConfigError(f"training this model at batch {batch_size} needs about {_gb(need)} and this "
                              f"machine has {_gb(free)} free; use a smaller batch, fewer glimpses or smaller "
                              "images", "batch_size")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DrawConfig":
        """From a checkpoint or run.json (untrusted): call validate() on the result before use."""
        if not isinstance(d, dict):
            raise ConfigError(f"model settings are not a table of values ({type(d).__name__})")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown model settings {sorted(map(str, unknown))}")
        d = dict(d)
        if isinstance(d.get("image_shape"), list):
            d["image_shape"] = tuple(d["image_shape"])
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
        for name, low, high in (("batch_size", 1, MAX_BATCH), ("epochs", 1, MAX_EPOCHS),
                                ("max_steps", 0, MAX_BATCH * MAX_EPOCHS), ("kl_warmup_steps", 0, 10**9),
                                ("seed", -2**63, 2**63 - 1)):
            setattr(self, name, _whole(getattr(self, name), name, low, high, name.replace("_", " ")))
        for name in ("lr", "lr_decay", "momentum", "grad_clip", "grad_clamp"):
            value = getattr(self, name)
            if not is_number(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}", name)
        if not isinstance(self.compile, bool):
            raise ConfigError(f"compile must be true or false, got {self.compile!r}", "compile")
        if not isinstance(self.device, str):
            raise ConfigError(f"device must be a name such as cpu or cuda, got {self.device!r}", "device")
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
        if not isinstance(d, dict):
            raise ConfigError(f"training settings are not a table of values ({type(d).__name__})")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
