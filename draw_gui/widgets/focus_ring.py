"""A ring around the widget that has the keyboard focus, for people who move with Tab.

Qt's Fusion style marks focus with a faint line on some widgets (line edits, spin boxes) and not
at all on others: a check box, a button, the glimpse canvas, the KL bars or a plot gain the focus
without any visible change, so a keyboard user loses their place after a few presses of Tab. The
ring is one overlay drawn over the window in the palette's highlight colour. Like a browser's
:focus-visible it appears when the focus moves within the window without a mouse button down
(Tab, Shift+Tab, a shortcut) and not after a click, where the pointer already shows where the user
is. It listens to QApplication.focusChanged only: an application-wide event filter would run
Python for every event of the GUI thread, and Python entered that often in the GUI thread
deadlocked against a worker thread freeing Qt objects (each side waiting for the other's lock).
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QWidget

WIDTH = 2            # the ring's line, in pixels ...
GAP = 1              # ... drawn this far outside the widget
FOLLOW_MS = 150      # how often a shown ring follows its widget (a scroll area moves it silently)


class FocusRing(QWidget):
    """Drawn over `window` around its focused widget while the focus came by keyboard."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setObjectName("focus_ring")
        # Decoration: it says nothing that Qt does not already tell assistive technology (the focus).
        self.setProperty("accessibility_ignored", True)
        self.setAccessibleName("")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.target: QWidget | None = None
        self._follow = QTimer(self, interval=FOLLOW_MS)
        self._follow.timeout.connect(self._place)
        self._listening = True
        QApplication.instance().focusChanged.connect(self._on_focus_changed)
        self.hide()

    def shutdown(self) -> None:
        if self._listening:
            self._listening = False
            QApplication.instance().focusChanged.disconnect(self._on_focus_changed)
        self._follow.stop()

    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        window = self.window()
        if new is None or new is self or new.window() is not window:
            return                # the focus left the window: the ring stays for its return
        if old is None or old.window() is not window:
            return                # the window (re)activated, or a dialog closed: focus came back as it was
        if QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton:
            self._drop()          # a click: the pointer shows where the user is
            return
        self.target = new
        self._place()
        self._follow.start()

    def _drop(self) -> None:
        self.target = None
        self._follow.stop()
        self.hide()

    def _place(self) -> None:
        """Around the part of the target that is visible (a scroll area may clip it)."""
        target = self.target
        if target is None or not target.isVisible() or target.visibleRegion().isEmpty():
            self.hide()
            return
        seen = target.visibleRegion().boundingRect()
        top_left = target.mapTo(self.window(), seen.topLeft())
        margin = WIDTH + GAP
        rect = QRect(top_left, seen.size()).adjusted(-margin, -margin, margin, margin)
        if rect != self.geometry():
            self.setGeometry(rect)
        self.show()
        self.raise_()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        painter.setPen(QPen(colour, WIDTH))
        half = WIDTH / 2
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(half, half, -half, -half), 3, 3)
        painter.end()
