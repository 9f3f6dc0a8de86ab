"""A keyboard user sees where the focus is (issue 13): after every press of Tab the focused widget
has a ring in the highlight colour around it, on screen; a mouse click takes the ring away."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from draw_gui.window.main_window import MainWindow
from draw_gui.window.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    yield w
    w.close()


def _ring_pixels_are_highlight(w: MainWindow) -> bool:
    """The ring's top edge, as painted into the window, is the palette's highlight colour."""
    ring = w.focus_ring.geometry()
    image = w.grab().toImage()
    ratio = image.devicePixelRatio()
    colour = w.palette().color(QPalette.ColorRole.Highlight)
    x = ring.center().x()
    for y in (ring.top(), ring.top() + 1):      # the 2-pixel line, antialiased
        pixel = image.pixelColor(QPoint(int(x * ratio), int(y * ratio)))
        if max(abs(pixel.red() - colour.red()), abs(pixel.green() - colour.green()),
               abs(pixel.blue() - colour.blue())) <= 40:
            return True
    return False


def test_every_tab_stop_is_outlined(qtbot, window):
    w = window
    outlined = []
    for _ in range(12):
        QTest.keyClick(QApplication.focusWidget() or w, Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        assert focused is not None and focused.window() is w
        qtbot.waitUntil(lambda f=focused: w.focus_ring.isVisible() and w.focus_ring.target is f)
        seen = focused.visibleRegion().boundingRect()
        on_window = QRect(focused.mapTo(w, seen.topLeft()), seen.size())
        assert w.focus_ring.geometry().contains(on_window)
        assert w.rect().intersects(w.focus_ring.geometry())
        assert _ring_pixels_are_highlight(w), type(focused).__name__
        outlined.append(type(focused).__name__)
    # Tab reached the Run panel's fields, not the area that scrolls them
    assert "QScrollArea" not in outlined and {"QComboBox", "QSpinBox"} <= set(outlined)


def test_a_click_takes_the_ring_away(qtbot, window):
    w = window
    QTest.keyClick(QApplication.focusWidget() or w, Qt.Key.Key_Tab)
    qtbot.waitUntil(w.focus_ring.isVisible)
    field = w.config_panel.lr                     # a text field: a click gives it the focus
    QTest.mouseClick(field, Qt.MouseButton.LeftButton, pos=field.rect().center())
    qtbot.waitUntil(field.hasFocus)
    qtbot.waitUntil(lambda: not w.focus_ring.isVisible())
    QTest.keyClick(field, Qt.Key.Key_Tab)        # and the keyboard brings it back, on the next field
    qtbot.waitUntil(lambda: w.focus_ring.isVisible() and w.focus_ring.target is QApplication.focusWidget())
