"""Training replayed in the Glimpses tab: a slider over the steps a run recorded in its
history.npz (core/history.py), showing the fixed test digits with glimpse T's boxes beside their
final canvases, and the samples from fixed noise, as they were at that step.

It reads the run folder's file only (while shown, again when the file changes), so it works the
same for a run training in the window, a run folder opened or followed, and a finished run.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from draw_gui.glimpses.pixel_canvas import PixelCanvas
from draw_gui.widgets import saving

POLL_MS = 3000          # how often a shown strip looks for new entries
EMPTY = "No training history here: runs record one as they train (history.npz in the run folder)"


class HistoryStrip(QWidget):
    """set_folder(run folder or None); the slider picks an entry; Save replay GIF… writes them all.
    samples_only: each entry's fixed-noise samples alone (the Latent tab), else the test digits
    with their boxes beside the samples (the Glimpses tab). per_row: images per row in each block
    of a frame (8 in the Glimpses tab: a frame two digits high, as wide as the tab)."""

    def __init__(self, parent=None, samples_only: bool = False, per_row: int = 4):
        super().__init__(parent)
        self._samples_only, self._per_row = samples_only, per_row
        self.settings = None            # the window's, so the save dialog remembers its folder
        self._folder: Path | None = None
        self._mtime = None
        self._history = None
        self._frames: list = []         # PIL images, one per entry (core.history.replay_frames)
        self._image_bytes = b""
        self.canvas = PixelCanvas(EMPTY)
        self.canvas.setMinimumHeight(80)
        self.canvas.setAccessibleName("Training history")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName("Training step of the history shown")
        self.slider.setToolTip("Scrub through training: the same test digits and the same noise at each "
                               "recorded step (1, 2, 5, 10, 20, 50, ... then every 5 minutes)")
        self.slider.valueChanged.connect(self._show)
        self.step_label = QLabel("")
        self.save_button = QPushButton("Save replay GIF…")
        self.save_button.setToolTip("All recorded steps as an animated GIF (as `draw-gui history RUN` writes)")
        self.save_button.clicked.connect(self.save_gif)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.step_label)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(row)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.reload)
        self._update_controls()

    def set_folder(self, folder: str | Path | None) -> None:
        """The run folder whose history to show (None: none)."""
        folder = Path(folder) if folder else None
        if folder != self._folder:
            self._folder, self._mtime, self._history, self._frames = folder, None, None, []
            self.slider.setRange(0, 0)
            if self.isVisible():      # else showEvent reads it: a hidden strip costs nothing
                self.reload()
            else:
                self._show()
                self._update_controls()

    def entries(self) -> int:
        return len(self._frames)

    def shown_step(self) -> int | None:
        return self._history.steps[self.slider.value()] if self._frames else None

    def shown_frame(self):
        """The PIL image on show (None without history)."""
        return self._frames[self.slider.value()] if self._frames else None

    def reload(self) -> None:
        """Read history.npz again if it changed; a slider at the newest entry follows new ones."""
        from core.history import HISTORY_NAME, TrainingHistory, replay_frames, sample_frames
        path = self._folder / HISTORY_NAME if self._folder is not None else None
        try:
            mtime = path.stat().st_mtime_ns if path is not None else None
        except OSError:
            mtime = None
        if mtime == self._mtime:
            return
        self._mtime = mtime
        history = None
        if mtime is not None:
            try:
                history = TrainingHistory.load(path)
            except ValueError:
                history = None        # half-written by another process: the next poll reads it
        at_end = not self._frames or self.slider.value() == len(self._frames) - 1
        self._history = history if history is not None and len(history) else None
        frames = sample_frames if self._samples_only else replay_frames
        self._frames = frames(self._history, per_row=self._per_row) if self._history is not None else []
        with_signals_blocked = self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self._frames) - 1))
        if at_end:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(with_signals_blocked)
        self._show()
        self._update_controls()

    def _update_controls(self) -> None:
        has = bool(self._frames)
        for w in (self.slider, self.save_button):
            w.setEnabled(has)

    def _show(self) -> None:
        frame = self.shown_frame()
        if frame is None:
            self._image_bytes = b""
            self.canvas.set_image(QImage())
            self.step_label.setText("")
            return
        rgb = frame.convert("RGB")
        self._image_bytes = rgb.tobytes()
        self.canvas.title = f"Training history, step {self.shown_step():,}"
        self.canvas.set_image(QImage(self._image_bytes, rgb.width, rgb.height, 3 * rgb.width,
                                     QImage.Format.Format_RGB888))
        self.step_label.setText(f"step {self.shown_step():,}  ({self.slider.value() + 1}/{len(self._frames)})")

    def save_gif(self) -> Path | None:
        if not self._frames:
            return None
        return saving.save_gif(self, self.settings, self._frames, "learning.gif", frame_ms=400)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.reload()
        self._timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()
