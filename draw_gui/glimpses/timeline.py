"""The glimpse timeline: a play button, a slider over glimpses t = 1..T and a "t 3/64" label, with
the playback speed and the ←/→, Home/End keys that go with them.

Each glimpse viewer has one; the Compare tab has one for all its runs (their viewers' own are
hidden). The owner keeps t: the timeline asks for a glimpse through `t_requested` (unclamped, the
owner clamps it) and is told what is shown through set_count and show_t. The speed combo is the
owner's to place, since the Glimpses tab puts it with its other options.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QWidget

SPEEDS = (5, 10, 20, 40)          # glimpses per second offered by the speed combo
DEFAULT_SPEED = 10
GLIMPSE_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End)
NO_GLIMPSES = "t –/–"


def show_playing(button: QPushButton, playing: bool, text: bool = True) -> None:
    """A play/pause button in one state: the style's standard play or pause icon, and plain
    "Play"/"Pause" (not ▶/⏸ glyphs, which many fonts lack) as its text or, with text=False, its
    accessible name."""
    icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
    button.setIcon(button.style().standardIcon(icon))
    word = "Pause" if playing else "Play"
    if text:
        button.setText(word)
    button.setAccessibleName(word)


def fit_play_button(button: QPushButton) -> None:
    """Shows Play, wide enough for Pause too so that the row does not shift when it toggles."""
    show_playing(button, True)
    button.setMinimumWidth(button.sizeHint().width())
    show_playing(button, False)


class Timeline(QWidget):
    """Play, the t slider and the t label in a row; playback stops at t = T."""

    t_requested = Signal(int)

    def __init__(self, play_tip: str, slider_tip: str, parent=None):
        super().__init__(parent)
        self.setAccessibleName("glimpse timeline")
        self.setAccessibleDescription("play, and the slider choosing glimpse t of T")
        self.play_button = QPushButton()
        self.play_button.setCheckable(True)
        fit_play_button(self.play_button)
        self.play_button.setToolTip(play_tip)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._advance)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 1)
        self.slider.setToolTip(slider_tip)
        self.slider.valueChanged.connect(self.t_requested)
        self.t_label = QLabel(NO_GLIMPSES)
        self.t_label.setMinimumWidth(self.t_label.fontMetrics().horizontalAdvance("t 000/000"))
        self.t_label.setToolTip("Current glimpse t / number of glimpses T")

        self.speed_combo = QComboBox()
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed} /s", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed_combo.setToolTip("Playback speed in glimpses per second")
        self.speed_combo.currentIndexChanged.connect(self._update_timer_interval)
        self._update_timer_interval()

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget, stretch in ((self.play_button, 0), (self.slider, 1), (self.t_label, 0)):
            layout.addWidget(widget, stretch)

    def add_shortcuts(self, owner: QWidget) -> None:
        """←/→ step, Home/End first/last glimpse, wherever the focus is inside `owner`."""
        for key in GLIMPSE_KEYS:
            shortcut = QShortcut(QKeySequence(key), owner)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda key=key: self.t_requested.emit(self.key_target(key)))

    def key_target(self, key) -> int:
        """The glimpse one of GLIMPSE_KEYS goes to from the one shown."""
        t = self.slider.value()
        return {Qt.Key.Key_Left: t - 1, Qt.Key.Key_Right: t + 1,
                Qt.Key.Key_Home: 1, Qt.Key.Key_End: self.slider.maximum()}[key]

    def set_count(self, count: int) -> None:
        """T, the number of glimpses the slider spans (0: none to show)."""
        with QSignalBlocker(self.slider):
            self.slider.setRange(1, max(count, 1))

    def show_t(self, t: int, count: int) -> None:
        """Glimpse t of `count` is shown (count 0: nothing is)."""
        with QSignalBlocker(self.slider):
            self.slider.setValue(t)
        self.t_label.setText(f"t {t}/{count}" if count else NO_GLIMPSES)

    def frame_ms(self) -> int:
        """How long each glimpse shows when playing: 1000 / (glimpses per second)."""
        return round(1000 / self.speed_combo.currentData())

    def _update_timer_interval(self) -> None:
        self.play_timer.setInterval(self.frame_ms())

    def _on_play_toggled(self, playing: bool) -> None:
        show_playing(self.play_button, playing)
        if not playing:
            self.play_timer.stop()
            return
        if self.slider.value() >= self.slider.maximum():   # at the end, play means "from the start"
            self.t_requested.emit(1)
        self.play_timer.start()

    def _advance(self) -> None:
        self.t_requested.emit(self.slider.value() + 1)
        if self.slider.value() >= self.slider.maximum():
            self.play_button.setChecked(False)
