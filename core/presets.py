"""The paper's settings, one preset per dataset: DRAW Table 3, "Experimental Hyper-Parameters".

Gregor et al. 2015 (arXiv 1502.04623), Table 3 (the generative models; its first row is a
classifier):

    task          #glimpses T   LSTM #h   #z    read    write
    MNIST model        64         256     100   2x2     5x5
    SVHN model         32         800     100   12x12   12x12
    CIFAR model        64         400     200   5x5     5x5

Table 3 gives only the model; the paper names no batch size or learning rate for these runs,
so training keeps draw-gui's defaults (TrainConfig) and `train` changes nothing.

Two-digit MNIST: the paper's "MNIST Generation with Two Digits" draws two MNIST digits
on a 60x60 canvas, and Table 3 has no row for it; its preset is the MNIST model's row on those
images (`row` names the row a preset's model comes from). It is also the one preset with a
training setting, a learning rate of 3e-4 (Adam, batch 64): at draw-gui's default 1e-3 the
MNIST model on 60x60 two-digit images ran away in three of four runs (two seeds, before and after
the filters became a softmax) and spiked to 5x its loss in the fourth; at 3e-4 both seeds trained
without a spike after their first 300 steps (README, Two digits).

SVHN: the paper trained on 64x64 crops of the full house-number photos. torchvision only has
the 32x32 "cropped digits" files (train_32x32.mat), and scaling them to 64x64 adds no detail
while costing about 4x the time per image, so the preset keeps them at 32x32 with the paper's
model unchanged (a 12x12 read then covers more of the image than on 64x64);
`--image-size 64` gives the paper's pixel size. Plain data, no torch, so the window can use it
as it opens.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.config import DrawConfig, settings

PAPER = "Gregor et al. 2015, DRAW, Table 3"
_TRAIN_NAMES = {"lr": "learning rate"}   # how summary() names the training settings a preset sets


@dataclass(frozen=True)
class Preset:
    name: str                     # what --preset takes
    title: str                    # what the window's chooser shows
    dataset: str                  # canonical dataset name (core.data)
    model: dict                   # DrawConfig field -> value
    train: dict = field(default_factory=dict)   # TrainConfig field -> value (Table 3 has none)
    size: int = 28                # H = W of the images draw-gui trains on (the dataset's own size)
    paper_size: int = 28          # H = W of the images the paper trained on
    row: str = ""                 # the Table 3 row of the model, when it is not the dataset's own
    # Other datasets the row is as much for, kept when chosen: the paper's MNIST figures are on
    # binarized MNIST, so the MNIST model on it is the MNIST preset, not "custom"
    variants: tuple[str, ...] = ()

    def fits(self, dataset: str) -> bool:
        """Whether `dataset` is the preset's: its own, or one of its variants."""
        return dataset == self.dataset or dataset in self.variants

    def numbers(self) -> str:
        """'T 64, LSTM 256, z 100, read 2x2, write 5x5': the Table 3 row."""
        m = self.model
        return (f"T {m['glimpses']}, LSTM {m['enc_size']}, z {m['z_size']}, "
                f"read {m['read_size']}x{m['read_size']}, write {m['write_size']}x{m['write_size']}")

    def summary(self) -> str:
        """The numbers, the image size, and the training settings the preset sets."""
        size = f"{self.size}x{self.size} images"
        if self.paper_size != self.size:
            size += f" (the paper: {self.paper_size}x{self.paper_size})"
        trains = "".join(f", {_TRAIN_NAMES.get(k, k)} {v:g}" for k, v in self.train.items())
        return f"{self.numbers()}, {size}{trains}"

    def description(self) -> str:
        """One line: the title, the numbers, the image size, the source."""
        source = f"{PAPER}'s {self.row} row (it has none for {self.title})" if self.row else PAPER
        return f"{self.title}: {self.summary()}; {source}"


# The DrawConfig fields a preset sets, declared preset=True in core.config: a form shows "custom"
# once one of them differs.
MODEL_FIELDS = tuple(name for name, s in settings(DrawConfig).items() if s.preset)


def _model(T: int, lstm: int, z: int, read: int, write: int) -> dict:
    """Table 3's row; the other preset fields (MODEL_FIELDS) at their defaults."""
    defaults = {name: s.default for name, s in settings(DrawConfig).items() if s.preset}
    return dict(defaults, glimpses=T, enc_size=lstm, dec_size=lstm, z_size=z, attention="gaussian",
                read_size=read, write_size=write)


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("mnist", "MNIST", "mnist", _model(64, 256, 100, 2, 5), size=28, paper_size=28,
           variants=("binarized-mnist",)),
    Preset("svhn", "SVHN", "svhn", _model(32, 800, 100, 12, 12), size=32, paper_size=64),
    Preset("cifar10", "CIFAR-10", "cifar10", _model(64, 400, 200, 5, 5), size=32, paper_size=32),
    Preset("two-digit-mnist", "Two-digit MNIST", "two-digit-mnist", _model(64, 256, 100, 2, 5),
           train={"lr": 3e-4}, size=60, paper_size=60, row="MNIST model"),
)}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("_", "").replace("-", "").replace(" ", "")


_SPELLINGS = {**{_key(p): p for p in PRESETS}, "cifar": "cifar10", "twodigits": "two-digit-mnist",
              "mnisttwodigits": "two-digit-mnist"}


def get_preset(name: str) -> Preset:
    key = _SPELLINGS.get(_key(name))
    if key is None:
        raise ValueError(f"Unknown preset {name!r}. Valid presets: {', '.join(PRESETS)}.")
    return PRESETS[key]


def matching_preset(dataset: str, model: dict) -> Preset | None:
    """The preset whose dataset and model settings these are, or None (custom settings)."""
    for preset in PRESETS.values():
        if preset.fits(dataset) and all(model.get(k) == preset.model[k] for k in MODEL_FIELDS):
            return preset
    return None
