"""The trained models that ship with draw-gui, by name: `draw-gui sample mnist`, the window's model
chooser, Compare.

Each is a run folder under resources/models/NAME/ (package data once installed): the weights-only
checkpoint.pt, its model card card.json (how it was trained, and its test figures as
`draw-gui eval` printed them), and metrics.csv / eval.csv, its loss curve and test bound.
scripts/ship_model.py makes one from a training checkpoint.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from draw_gui.resources import resource_path

DEFAULT = "mnist"   # what the window opens on


@dataclass(frozen=True)
class ShippedModel:
    name: str
    folder: Path
    card: dict

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint.pt"

    @property
    def title(self) -> str:
        return self.card.get("title", self.name)

    def summary(self) -> str:
        """One line: 'mnist  DRAW with attention ...: 94.62 nats (test bound), 40 epochs on ...'."""
        e, t = self.card.get("evaluation", {}), self.card.get("training", {})
        figures = []
        if "test_nll_bound" in e:
            figures.append(f"test NLL bound {e['test_nll_bound']:.2f} nats")
        if e.get("nll_iw") is not None:
            figures.append(f"IWAE k={e.get('iw_k')} {e['nll_iw']:.2f} (first {e.get('iw_images'):,})")
        if self.card.get("paper_nll") is not None:
            figures.append(f"paper {self.card['paper_nll']:.2f}")
        trained = f"{t['epochs']:g} epochs, {t['steps']:,} steps" if "epochs" in t else ""
        return f"{self.title}: {'; '.join(figures)}" + (f"; {trained}" if trained else "")


def models_folder() -> Path:
    return resource_path("models")


def shipped_models() -> list[ShippedModel]:
    """Every shipped model, the default first."""
    found = []
    folder = models_folder()
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (sub / "checkpoint.pt").is_file():
            try:
                card = json.loads((sub / "card.json").read_text())
            except (OSError, ValueError):
                card = {}
            found.append(ShippedModel(sub.name, sub, card))
    return sorted(found, key=lambda m: (m.name != DEFAULT, m.name))


def shipped_model(name: str) -> ShippedModel | None:
    return next((m for m in shipped_models() if m.name == name), None)


def checkpoint_or_model(text: str) -> Path:
    """A checkpoint path as typed, or the checkpoint of the shipped model of that name. A path that
    exists wins over a model name (a file called `mnist` in the current folder)."""
    path = Path(text).expanduser()
    if path.exists():
        return path
    model = shipped_model(str(text))
    return model.checkpoint if model is not None else path


def run_or_model(text: str) -> Path:
    """A run folder or checkpoint as typed, or the folder of the shipped model of that name."""
    path = Path(text).expanduser()
    if path.exists():
        return path
    model = shipped_model(str(text))
    return model.folder if model is not None else path


def is_shipped(path) -> bool:
    """Whether `path` is inside the shipped models' folder (package data: never written)."""
    try:
        return models_folder().resolve() in Path(path).expanduser().resolve().parents
    except (OSError, RuntimeError):
        return False


def model_of(path) -> ShippedModel | None:
    """The shipped model whose folder holds `path` (its checkpoint.pt), else None."""
    return shipped_model(Path(path).expanduser().resolve().parent.name) if is_shipped(path) else None


def names() -> str:
    return ", ".join(m.name for m in shipped_models()) or "none"
