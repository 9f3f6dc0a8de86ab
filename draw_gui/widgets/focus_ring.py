"""A ring around the widget that has the keyboard focus, for people who move with Tab.

Qt's Fusion style marks focus with a faint line on some widgets (line edits, spin boxes) and not
at all on others: a check box, a button, the glimpse canvas, the KL bars or a plot gain the focus
without any visible change, so a keyboard user loses their place after a few presses of Tab. The
ring is one overlay drawn over the window in the palette's highlight colour. Like a browser's
:focus-visible it appears when the focus arrives by keyboard (Tab, Shift+Tab, a shortcut) and not
after a mouse click, where the pointer already shows where the user is.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QWidget

KEYBOARD_REASONS = (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason,
                    Qt.FocusReason.ShortcutFocusReason)
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
        self._filter = _FocusFilter(self)
        QApplication.instance().installEventFilter(self._filter)
        self.hide()

    def shutdown(self) -> None:
        QApplication.instance().removeEventFilter(self._filter)
        self._follow.stop()

    def focus_in(self, widget: QWidget, reason: Qt.FocusReason) -> None:
        if widget.window() is not self.window() or widget is self:
            return
        if reason in KEYBOARD_REASONS:
            self.target = widget
            self._place()
            self._follow.start()
        elif reason != Qt.FocusReason.ActiveWindowFocusReason:
            self._drop()          # a click: the pointer shows where the user is
        # coming back to the window keeps the ring as it was

    def focus_out(self, widget: QWidget, reason: Qt.FocusReason) -> None:
        if widget is self.target and reason != Qt.FocusReason.ActiveWindowFocusReason:
            self._drop()

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


class _FocusFilter(QObject):
    """Sees every widget's focus changes (with their reason, which focusChanged lacks)."""

    def __init__(self, ring: FocusRing):
        super().__init__(ring)
        self.ring = ring

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.FocusIn, QEvent.Type.FocusOut) and isinstance(watched, QWidget):
            if kind == QEvent.Type.FocusIn:
                self.ring.focus_in(watched, event.reason())
            else:
                self.ring.focus_out(watched, event.reason())
        return False
