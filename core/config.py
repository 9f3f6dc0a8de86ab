"""Model and training settings: plain dataclasses with the paper's defaults, validated with
messages that say what to change. No torch here, so the window can validate as the user types
without paying torch's import time.

Each setting is declared once, beside its default: `glimpses: int = setting(64, low=1, high=...,
cli=("--num_glimpses", ...), label="glimpses T", ...)`. From that Setting come its `draw-gui train`
option (draw_gui.cli.main) and what the option changes, also on --restore (draw_gui.cli.train), its
Run panel row (draw_gui.window.config_panel), preset matching (core.presets) and validate()'s bounds.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

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


def _whole(value, name: str, low: int | None, high: int | None, label: str | None = None) -> int:
    """value as an int in [low, high] (None: unbounded), or a ConfigError naming the field (floats like 8.5, bools,
    strings and huge numbers are refused, not truncated)."""
    label = label or name
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{label} must be a whole number, got {value!r}", name)
    if low is not None and value < low:
        raise ConfigError(f"{label} must be at least {low}, got {value}", name)
    if high is not None and value > high:
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


@dataclass(frozen=True)
class Setting:
    """How one configuration field is checked, typed and shown, declared beside its default
    (`x: int = setting(64, ...)`); draw-gui train's options, the Run panel's rows, preset matching
    and validate() are made from these, so a new field is declared here once."""
    low: float | None = None      # validate()'s bounds, also the Run panel's spin box range
    high: float | None = None
    choices: tuple = ()           # the values a str field may take
    cli: tuple = ()               # `draw-gui train` spellings, the Torch seed's first; none: no option
    dest: str | None = None       # the args attribute (default: the first spelling's)
    metavar: str | None = None
    help: str | None = None       # the option's --help text
    label: str = ""               # the Run panel row's label; none: no row
    tip: str = ""                 # the Run panel row's tooltip
    preset: bool = False          # set by DRAW's Table 3 presets (core.presets)
    short: str = ""               # its name in a preset summary ("changed: T 64 -> 3")
    name: str = ""                # the field's name, type ("int", "bool", ...) and default:
    kind: str = ""                #   filled in by settings()
    default: object = None


def setting(default, **declared) -> Any:
    """A dataclass field with a default and a Setting (keywords as Setting's)."""
    return field(default=default, metadata={"setting": Setting(**declared)})


def _kind(f) -> str:
    return f.type if isinstance(f.type, str) else f.type.__name__   # "int": this module's annotations are strings


def settings(config_class) -> dict[str, Setting]:
    """The declared Settings of DrawConfig's or TrainConfig's fields, by name, in field order."""
    out = {}
    for f in fields(config_class):
        s = f.metadata.get("setting")
        if s is not None:
            dest = s.dest or (s.cli[0].lstrip("-").replace("-", "_") if s.cli else None)
            out[f.name] = replace(s, name=f.name, kind=_kind(f), default=f.default, dest=dest)
    return out


def _check_declared(config, spaced: bool = False) -> None:
    """What every field's declaration implies: whole numbers within their bounds (spaced: named
    'batch size', not 'batch_size'), true or false, finite numbers within bounds, one of the choices."""
    for f in fields(config):
        s, value, kind = f.metadata.get("setting", Setting()), getattr(config, f.name), _kind(f)
        if kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{f.name} must be true or false, got {value!r}", f.name)
        elif kind == "int":
            label = f.name.replace("_", " ") if spaced else f.name
            setattr(config, f.name, _whole(value, f.name, s.low, s.high, label))
        elif kind == "float":
            if not is_number(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value!r}", f.name)
            if s.low is not None and value < s.low:
                raise ConfigError(f"{f.name} must not be negative, got {value}" if s.low == 0 else
                                  f"{f.name} must be at least {s.low}, got {value}", f.name)
            if s.high is not None and value > s.high:
                raise ConfigError(f"{f.name} must be at most {s.high}, got {value}", f.name)
        elif s.choices and (not isinstance(value, str) or value not in s.choices):
            raise ConfigError(f"unknown {f.name} '{value}'; choose one of {', '.join(s.choices)}", f.name)


@dataclass
class DrawConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    glimpses: int = setting(64,   # T
        low=1, high=MAX_GLIMPSES, preset=True, short="T",
        cli=("--num_glimpses", "--glimpses"), metavar="T", help="glimpses T (default 64)",
        label="glimpses T", tip="T: how many read-write steps draw one image")
    enc_size: int = setting(256,  # encoder LSTM units (the Run panel's "LSTM units" sets both)
        low=1, high=MAX_UNITS, preset=True, short="encoder LSTM",
        cli=("--enc_size",), metavar="H", help="encoder LSTM units")
    dec_size: int = setting(256,  # decoder LSTM units
        low=1, high=MAX_UNITS, preset=True, short="decoder LSTM",
        cli=("--dec_size",), metavar="H", help="decoder LSTM units")
    z_size: int = setting(100,    # latent units per glimpse
        low=1, high=MAX_Z, preset=True, short="z",
        cli=("--latent_size", "--z_size"), metavar="Z", help="latent units per glimpse (100)",
        label="latent z", tip="size of z_t, the latent drawn at each glimpse (eq. 6)")
    attention: str = setting("gaussian",  # "gaussian" | "spatial" (Jaderberg et al. 2015) | "none"
        choices=ATTENTIONS, preset=True, short="attention",
        cli=("--attention",), help="attention kind: gaussian (the paper's filter grids), "
                                   "spatial (affine crops, Jaderberg et al. 2015) or none",
        label="attention", tip="Gaussian: read and write through N×N filter grids (eq. 19-29); spatial "
        "transformer (Jaderberg et al. 2015): the glimpse is an affine crop, N×N points of a grid scaled, "
        "shifted (and optionally rotated) by A_θ from the decoder state and sampled bilinearly; the write "
        "warps its N×N patch back with the inverse transform; none: read and write the whole image (eq. 17-18)")
    # read and write N only matter with attention (validate() checks them then); without, any N >= 0 is kept
    read_size: int = setting(2,   # N of the read filterbank (spatial: of the sampled read patch)
        low=0, high=MAX_SIDE, preset=True, short="read N",
        cli=("--read_size",), metavar="N", help="read glimpse N x N (default 2)",
        label="read N", tip="N: the read glimpse is an N×N grid of Gaussian filters (eq. 27), or of "
                            "bilinear samples for a spatial transformer")
    write_size: int = setting(5,  # N of the write filterbank (spatial: of the write patch)
        low=0, high=MAX_SIDE, preset=True, short="write N",
        cli=("--write_size",), metavar="N", help="write glimpse N x N (default 5)",
        label="write N", tip="N̂: the write patch w_t is N̂×N̂ (eq. 28-29)")
    learn_init_canvas: bool = True  # c_0 a learned bias (the Torch seed learned it)
    learn_init_state: bool = True   # h^dec_0 and the decoder cell a learned bias
    # Spatial attention only: the glimpses may also rotate (an angle from h_dec). Checkpoints from
    # before this field lack it and load with the default. The Run panel's attention menu sets it.
    spatial_rotation: bool = setting(False,
        cli=("--spatial_rotation",), help="with --attention spatial: glimpses may rotate too (default false)")

    def validate(self) -> DrawConfig:
        shape = self.image_shape
        if not isinstance(shape, (tuple, list)) or len(shape) != 3:
            raise ConfigError(f"image shape {shape!r} is not (channels, height, width)", "image_shape")
        C, H, W = (_whole(v, "image_shape", 1, MAX_SIDE) for v in shape)
        self.image_shape = (C, H, W)
        if C not in (1, 3) or H < 2 or W < 2:
            raise ConfigError(f"image shape {self.image_shape} is not (1 or 3, H >= 2, W >= 2)", "image_shape")
        _check_declared(self)
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
    def from_dict(cls, d: dict) -> DrawConfig:
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
PRECISIONS = ("fp32", "bf16")
# A run continued without its optimizer state (a shipped, weights-only model) starts Adam's moments
# from zero: its first updates are the full learning rate on every weight at once (measured: the
# bound jumped from 114 to 322 nats in 3 steps). The learning rate ramps up over these steps instead.
RESTART_WARMUP_STEPS = 200


@dataclass
class TrainConfig:
    optimizer: str = setting("adam",
        choices=OPTIMIZERS, cli=("--optimizer",), help="default adam",
        label="optimizer", tip="Adam, SGD with momentum 0.9, or RMSprop")
    lr: float = setting(1e-3,     # must be > 0
        cli=("--lr", "--learning_rate"), help="learning rate (default 1e-3)",
        label="learning rate", tip="step size of the optimizer, e.g. 1e-3")
    lr_decay: float = setting(1.0,  # learning rate multiplied by this after every epoch, in (0, 1]
        cli=("--lr_decay",), help="multiply the learning rate by this every epoch (1)")
    momentum: float = 0.9         # SGD momentum; RMSprop momentum is 0
    grad_clip: float = setting(5.0,  # max global gradient norm; 0 turns it off
        low=0, cli=("--grad_clip",), help="max global gradient norm, 0 = off (default 5)")
    grad_clamp: float = setting(0.0,  # the Torch seed's element-wise clamp to [-v, v]; 0 turns it off
        low=0, cli=("--grad_clamp",), help="the seed's element-wise gradient clamp, 0 = off")
    # KL weight rises linearly from 0 to 1 (measured: README); the bound reported is always the true one
    kl_warmup_steps: int = setting(400,
        low=0, high=10**9, cli=("--kl_warmup",), metavar="STEPS",
        help="KL weight warm-up steps (the bound reported is always the true one)",
        label="KL warm-up", tip="steps over which the KL weight rises from 0 to 1 while optimising; the loss "
                                "shown is always the true bound")
    batch_size: int = setting(64,
        low=1, high=MAX_BATCH, cli=("--batch_size",), help="default 64",
        label="batch size", tip="images per training step")
    epochs: int = setting(20,
        low=1, high=MAX_EPOCHS, cli=("--maxEpochs", "--max_epochs", "--epochs"), dest="epochs", help="default 20",
        label="epochs", tip="passes over the training set")
    max_steps: int = setting(0,   # stop after this many steps in all; 0 means run all epochs
        low=0, high=MAX_BATCH * MAX_EPOCHS, cli=("--max_steps",), metavar="N", help="stop after N steps in all")
    seed: int = setting(0,
        low=-2**63, high=2**63 - 1, cli=("--seed",),
        label="seed", tip="random seed: the same seed and settings train the same model")
    device: str = setting("auto",  # "auto" (cuda, then mps, then cpu) or a torch device name
        cli=("--backend", "--device"), dest="device", metavar="DEVICE", help="auto (default), cpu, cuda, cuda:N, mps",
        label="device", tip="auto picks cuda, then mps, then the CPU; or type e.g. cuda:1")
    compile: bool = setting(False,  # torch.compile the glimpses (README, "Speed")
        cli=("--compile",), help="torch.compile the glimpses, 8 per compiled call: 1.5x the plain step on a 2-core "
                                 "CPU (README, Speed); ~1 min of compiling the first time, ~3 s once inductor's "
                                 "cache holds it.")
    precision: str = setting("fp32",  # "fp32" or "bf16" (autocast of the forward pass; the loss stays float32)
        choices=PRECISIONS, cli=("--precision",),
        help="bf16 autocasts the forward pass (GPUs; the loss stays float32); default fp32")

    def lr_at(self, epoch: int) -> float:
        """The learning rate of (0-based) epoch `epoch`: lr · lr_decay^epoch."""
        return self.lr * self.lr_decay ** epoch

    def validate(self) -> TrainConfig:
        _check_declared(self, spaced=True)
        if not isinstance(self.device, str):
            raise ConfigError(f"device must be a name such as cpu or cuda, got {self.device!r}", "device")
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}", "lr")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr decay must be in (0, 1], got {self.lr_decay}", "lr_decay")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        if not isinstance(d, dict):
            raise ConfigError(f"training settings are not a table of values ({type(d).__name__})")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
