"""The toolbar's model chooser: the shipped models, the checkpoints opened lately and the runs
followed lately, and "Open checkpoint…". Choosing an entry emits `chosen`; the window loads it and
calls show_model() with what it shows once loaded (or still shows, when loading failed), so
the chooser always names the model on screen.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox

from draw_gui.models.card import ShownModel

ChoiceKind = Literal["shipped", "file", "run", "browse"]   # what an entry opens: a shipped model's name,
                                                           # a checkpoint, a run folder, or the file dialog

TIP = ("The model shown in every tab: a trained model that ships with draw-gui, a checkpoint you "
       "opened, or a run you followed. Choosing one loads it (the window asks first if training here "
       "is unsaved)")


class ModelChooser(QComboBox):
    chosen = Signal(str, str)   # ChoiceKind, name or path

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip(TIP)
        self.setAccessibleName("model shown")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(50)
        self.setPlaceholderText("no model")
        self._shown: ShownModel | None = None
        self.refresh = None      # called before the list opens (the window refills it then)
        self.activated.connect(self._on_activated)

    def showPopup(self) -> None:
        if self.refresh is not None:
            self.refresh()
        super().showPopup()

    def fill(self, shipped, files, runs) -> None:
        """shipped: ShippedModel list; files: recent checkpoint paths; runs: recent run folders."""
        with QSignalBlocker(self):
            self.clear()
            for m in shipped:
                self._add(f"{m.name} · {m.title}", ("shipped", m.name), m.summary())
            groups = [([(f"{Path(p).name}  ({Path(p).parent})", ("file", p), p) for p in files]),
                      ([(f"run {Path(r).name}  ({Path(r).parent})", ("run", r), f"{r}: its checkpoint.pt, read-only")
                        for r in runs])]
            for group in groups:
                if group and self.count():
                    self.insertSeparator(self.count())
                for text, data, tip in group:
                    self._add(text, data, tip)
            if self.count():
                self.insertSeparator(self.count())
            self._add("Open checkpoint…", ("browse", ""), "choose a checkpoint file (Ctrl+O)")
        self.show_model(self._shown)

    def _add(self, text, data, tip) -> None:
        self.addItem(text, data)
        self.setItemData(self.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)

    def entries(self) -> list[tuple[ChoiceKind, str]]:
        """(kind, value) of every entry, in order (separators left out)."""
        return [self.itemData(i) for i in range(self.count()) if self.itemData(i)]

    def index_of(self, kind: ChoiceKind, value: str) -> int:
        for i in range(self.count()):
            if self.itemData(i) == (kind, value):
                return i
        return -1

    def show_model(self, shown: ShownModel | None) -> None:
        """Select the entry of the model shown, or show its name when it has none."""
        self._shown = shown
        index = -1
        if shown is not None and not shown.continued_from:
            if shown.shipped is not None:
                index = self.index_of("shipped", shown.shipped.name)
            elif shown.path:
                index = self.index_of("file", shown.path)
                if index < 0 and Path(shown.path).name == "checkpoint.pt":
                    index = self.index_of("run", str(Path(shown.path).parent))
        with QSignalBlocker(self):
            self.setPlaceholderText(shown.name if shown is not None else "no model")
            self.setCurrentIndex(index)

    def _on_activated(self, index: int) -> None:
        data = self.itemData(index)
        if data:
            self.chosen.emit(*data)
