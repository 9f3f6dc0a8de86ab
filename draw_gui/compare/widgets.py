"""The compare view's per-run pieces: a row in the run list, and a column with the run's glimpses
and samples. They show what they are given and report clicks as signals; CompareView decides.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QImage, QPixmap, QShortcut
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from core.export import image_grid
from draw_gui.glimpses.view import GlimpseView
from draw_gui.latent.pad import PixelImage, to_qimage

# Colours of the runs, in the order they are added. Green and red mean the read and write boxes
# everywhere in draw-gui, so no run gets them.
PALETTE = ((80, 165, 255), (255, 170, 50), (235, 95, 235), (240, 220, 80), (80, 220, 220),
           (215, 215, 215), (170, 130, 255), (255, 130, 170))


def swatch(colour: tuple, width: int = 14, height: int = 14) -> QPixmap:
    pixmap = QPixmap(width, height)
    pixmap.fill(QColor(*colour))
    return pixmap


class RunRow(QWidget):
    """Swatch, visibility checkbox with the run's name, a summary line, and remove."""

    visibility_changed = Signal(bool)
    remove_clicked = Signal()

    def __init__(self, name: str, folder: str, colour: tuple, parent=None):
        super().__init__(parent)
        self.setAccessibleName(f"run {name}")
        self.setAccessibleDescription(str(folder))
        icon = QLabel()
        icon.setPixmap(swatch(colour))
        self.checkbox = QCheckBox(name)
        self.checkbox.setChecked(True)
        self.checkbox.setToolTip(f"{folder}\nShow or hide this run's curve, glimpses and samples")
        self.checkbox.toggled.connect(self.visibility_changed)
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip("Stop comparing this run (its files are not touched)")
        self.remove_button.clicked.connect(self.remove_clicked)
        self.summary = QLabel("reading…")
        self.summary.setStyleSheet("color: grey;")
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(icon)
        top.addWidget(self.checkbox, 1)
        top.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.summary)


class RunColumn(QWidget):
    """One run's glimpse viewer (its own timeline hidden: the compare view drives t) beside its
    sample grid, with a line saying what is shown or why nothing is."""

    def __init__(self, name: str, colour: tuple, parent=None):
        super().__init__(parent)
        self.setAccessibleName(f"glimpses and samples of run {name}")
        self.title = QLabel()
        self.title.setPixmap(swatch(colour, 28, 4))
        self.name_label = QLabel(name)
        self.name_label.setStyleSheet("font-weight: bold;")
        self.note = QLabel("")                 # "T = 32, finished", or where the glimpses come from
        self.note.setStyleSheet("color: grey;")
        self.glimpses = GlimpseView()
        # The compare view's shared timeline replaces the viewer's own controls.
        for w in (self.glimpses.timeline, self.glimpses.timeline.speed_combo,
                  self.glimpses.error_checkbox, self.glimpses.boxes_checkbox,
                  self.glimpses.sigma_checkbox, self.glimpses.save_png_button, self.glimpses.save_gif_button,
                  self.glimpses.refresh_button):
            w.hide()
        for shortcut in self.glimpses.findChildren(QShortcut):
            shortcut.setEnabled(False)          # ←/→ would move this run alone
        self.glimpses.kl_plot.setFixedHeight(56)   # KL per glimpse: small, but comparable across runs
        for side in ("left", "bottom"):             # no room for axis titles; the tooltip says what it is
            self.glimpses.kl_plot.getAxis(side).showLabel(False)
        self.glimpses.kl_plot.sparse_ticks = True  # at 56 px pyqtgraph's ticks pile up
        self.glimpses.layout().setContentsMargins(0, 0, 0, 0)
        self.placeholder = PixelImage("reading the run…", minimum=80)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.glimpses)
        self.samples = PixelImage("samples appear when the checkpoint has loaded", minimum=80)
        self.samples_caption = QLabel("")
        self.samples_caption.setStyleSheet("color: grey;")
        self.samples.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._trace, self._source = None, ""
        self._samples = None

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.name_label)
        header.addWidget(self.note, 1)
        left = QVBoxLayout()
        left.addLayout(header)
        left.addWidget(self.stack, 1)
        right = QVBoxLayout()
        right.addWidget(self.samples_caption)
        right.addWidget(self.samples, 1)
        # Runs are stacked one above the other, so that the same example of every run lines up
        # vertically; the square sample grid sits at the right of the wide glimpse panel.
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(left, 3)
        layout.addLayout(right, 1)

    # ---- glimpses -------------------------------------------------------------------------------
    def set_trace(self, trace, source: str, example: int | None) -> None:
        """Show `trace` (its examples, or only `example`); None shows `source` as the reason."""
        self._trace, self._source = trace, source
        if trace is None:
            self.placeholder.set_placeholder(source)
            self.stack.setCurrentWidget(self.placeholder)
            self.glimpses.set_trace(None)
            return
        self.glimpses.set_trace(_one_example(trace, example))
        self.stack.setCurrentWidget(self.glimpses)

    def trace(self):
        return self._trace

    def source(self) -> str:
        """Where the glimpses come from ("snapshot at step 300"), or why there are none."""
        return self._source

    def glimpse_count(self) -> int:
        return 0 if self._trace is None else self._trace.glimpses

    def show_t(self, t: int) -> None:
        """Glimpse t of the shared timeline: past this run's T its last canvas stays, and says so."""
        T = self.glimpse_count()
        if T == 0:
            self.note.setText("")
            return
        self.glimpses.set_t(min(t, T))
        self.note.setText(f"T = {T}, finished" if t > T else self._source)

    # ---- samples --------------------------------------------------------------------------------
    def set_samples(self, images: np.ndarray | None, caption: str, per_row: int) -> None:
        self._samples = images
        self.samples_caption.setText(caption)
        if images is None:
            self.samples.set_image(QImage())
            self.samples.set_placeholder(caption)
            return
        self.samples.set_image(to_qimage(np.asarray(image_grid(images, per_row))))

    def samples_array(self) -> np.ndarray | None:
        return self._samples


def _one_example(trace, example: int | None):
    """The trace of one of its examples (the same index in every run), or the whole trace."""
    if example is None or not 0 <= example < trace.batch:
        return trace
    pick = slice(example, example + 1)
    return dataclasses.replace(
        trace, canvases=trace.canvases[:, pick],
        read=None if trace.read is None else trace.read[:, pick],
        write=None if trace.write is None else trace.write[:, pick],
        images=None if trace.images is None else trace.images[pick])
