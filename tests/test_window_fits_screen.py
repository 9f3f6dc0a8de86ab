"""The window fits the screen it opens on and stays usable at 1024×768 (issue 13): it never opens
larger than the screen, every tab fits a 1024×768 screen with the Run panel open, and rows of
controls wrap instead of being cut off or pushing the window wider."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QRect, QSize
from PySide6.QtWidgets import QAbstractScrollArea, QPushButton, QWidget

from draw_gui.widgets.flow import FlowLayout
from draw_gui.window.main_window import MainWindow
from draw_gui.window.settings import Settings
from tests.test_shipped_models_window import make_window, showing  # noqa: F401 (fixture)

SMALL_SCREEN = QSize(1024, 768)
FRAME = QSize(16, 40)   # a window manager's title bar and borders


def usable(screen: QSize) -> QSize:
    return screen - FRAME


def test_a_new_window_opens_within_the_available_screen(qtbot, tmp_path):
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    available = w.screen().availableGeometry()
    assert available.contains(w.geometry()), (w.geometry(), available)
    w.close()


def test_a_size_saved_on_a_larger_monitor_shrinks_to_this_screen(qtbot, tmp_path):
    big = MainWindow(Settings(tmp_path / "big.json"), open_model=False)
    qtbot.addWidget(big)
    big.setGeometry(QRect(0, 0, 2400, 1500))       # as on a 2560×1600 monitor
    big.save_settings()
    big.close()
    settings = Settings(tmp_path / "big.json")
    assert QByteArray.fromBase64(settings.get("geometry").encode())   # it was saved
    w = MainWindow(settings, open_model=False)
    qtbot.addWidget(w)
    available = w.screen().availableGeometry()
    assert w.width() <= available.width() and w.height() <= available.height()
    assert available.contains(w.geometry())
    w.close()


def test_every_tab_fits_a_1024x768_screen_with_the_run_panel_open(qtbot, make_window):  # noqa: F811
    w = make_window()
    showing(qtbot, w, "mnist")                     # the Latent tab has its sliders, pad and panels
    qtbot.waitUntil(lambda: w.latent_view.stack.currentIndex() == 1, timeout=20000)
    assert w.config_dock.isVisible()
    for index in range(w.tabs.count()):
        w.tabs.setCurrentIndex(index)
        need = w.minimumSizeHint().expandedTo(w.minimumSize())
        assert need.width() <= usable(SMALL_SCREEN).width() and need.height() <= usable(SMALL_SCREEN).height(), \
            f"the {w.tabs.tabText(index)} tab needs a {need.width()}×{need.height()} window"


def _outside(widget: QWidget, page: QWidget) -> list[str]:
    """The buttons and check boxes of page (outside scroll areas) not wholly inside it."""
    bad = []
    for child in page.findChildren(QWidget):
        if not child.isVisibleTo(page) or not child.inherits("QAbstractButton"):
            continue
        if any(isinstance(a, QAbstractScrollArea) for a in (*_ancestors(child, page), page)):
            continue   # a scroll area lets it be reached
        top_left = child.mapTo(page, child.rect().topLeft())
        if not page.rect().contains(QRect(top_left, child.size())):
            bad.append(child.text() if hasattr(child, "text") else type(child).__name__)
    return bad


def _ancestors(widget: QWidget, stop: QWidget):
    parent = widget.parentWidget()
    while parent is not None and parent is not stop:
        yield parent
        parent = parent.parentWidget()


def test_at_1024x768_no_button_is_cut_off(qtbot, make_window):  # noqa: F811
    w = make_window()
    showing(qtbot, w, "mnist")
    w.resize(usable(SMALL_SCREEN))
    for index in range(w.tabs.count()):
        w.tabs.setCurrentIndex(index)
        page = w.tabs.currentWidget()
        qtbot.waitUntil(lambda p=page: p.isVisible() and p.width() > 0)
        QWidget.repaint(w)
        assert not _outside(w, page), f"cut off on the {w.tabs.tabText(index)} tab: {_outside(w, page)}"
    assert not _outside(w, w.loss_plot)


@pytest.mark.parametrize("width", [200, 400, 1000])
def test_a_flow_row_wraps_its_controls_instead_of_widening(qtbot, width):
    row = QWidget()
    qtbot.addWidget(row)
    flow = FlowLayout(row).add_widgets(*(QPushButton(f"button number {i}") for i in range(6)))
    flow.add_stretch()
    last = QPushButton("right")
    flow.addWidget(last)
    widest = max(b.sizeHint().width() for b in row.findChildren(QPushButton))
    assert row.minimumSizeHint().width() <= widest            # narrow as its widest button
    row.resize(width, flow.heightForWidth(width))
    row.show()
    qtbot.waitUntil(row.isVisible)
    buttons = row.findChildren(QPushButton)
    for b in buttons:                                         # all inside, none on top of another
        assert row.rect().contains(b.geometry()), (width, b.text(), b.geometry())
    for a in buttons:
        for b in buttons:
            assert a is b or not a.geometry().intersects(b.geometry())
    lines = {b.geometry().top() for b in buttons}
    assert (len(lines) > 1) == (width < flow.sizeHint().width())
    if len(lines) == 1:
        assert last.geometry().right() == row.rect().right()  # the stretch pushes it to the end


def test_the_loss_plot_gives_its_room_to_the_tabs_that_need_it(qtbot, tmp_path):
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.show()
    shown = {}
    for index in range(w.tabs.count()):
        w.tabs.setCurrentIndex(index)
        shown[w.tabs.tabText(index)] = w.loss_plot.isVisibleTo(w)
    assert shown == {"Glimpses": True, "Latent": True, "Sketch": False, "Compare": False, "Runs": True,
                     "Filterbank": False}
    w.close()


def test_at_1024x768_the_compare_tab_needs_no_sideways_scrolling(qtbot, make_window):  # noqa: F811
    """Its rows of controls wrap: with two runs in it, nothing is hidden past the right edge (it
    used to need ~770 pixels across and scrolled sideways, its New seed button out of sight)."""
    from PySide6.QtWidgets import QScrollArea

    from draw_gui.models.shipped import shipped_models
    w = make_window()
    showing(qtbot, w, "mnist")
    w.resize(usable(SMALL_SCREEN))
    view = w.compare_view
    w.tabs.setCurrentWidget(view)
    view.add_runs([str(m.folder) for m in shipped_models()])
    qtbot.waitUntil(lambda: not view.busy(), timeout=60000)
    outer = next(s for s in view.findChildren(QScrollArea) if s.widget() is view.splitter)
    qtbot.waitUntil(lambda: outer.viewport().width() > 0)
    QWidget.repaint(w)
    assert outer.horizontalScrollBar().maximum() == 0, view.splitter.minimumSizeHint()
    assert view.seed_button.isVisible()


def test_at_1024x768_start_and_continue_are_in_sight_beside_a_model_shown_read_only(qtbot, make_window):  # noqa: F811
    # The Run panel's fields and its note about the model shown are taller than a 768-pixel screen
    # leaves; they scroll, but the buttons that start and steer a run must not scroll away with them.
    w = make_window()
    showing(qtbot, w, "mnist")
    w.resize(usable(SMALL_SCREEN))
    qtbot.waitUntil(lambda: w.config_panel.isVisible() and w.height() <= usable(SMALL_SCREEN).height())
    QWidget.repaint(w)
    buttons = (w.start_button, w.continue_button, w.pause_button, w.step_button, w.stop_button)
    hidden = [b.text() for b in buttons if b.visibleRegion().boundingRect() != b.rect()]
    assert not hidden, f"scrolled out of sight at {w.width()}×{w.height()}: {hidden}"
    assert w.start_button.isEnabled() and w.continue_button.isEnabled()


def test_given_the_room_the_run_buttons_sit_just_below_the_fields(qtbot, make_window):  # noqa: F811
    # Outside the scrolling, the buttons still follow the fields and the note, not the dock's
    # bottom edge, and they move up when the note goes.
    w = make_window()
    showing(qtbot, w, "mnist")
    w.resize(1600, 1100)
    qtbot.waitUntil(lambda: w.height() > 1000 and w.config_panel.shown_note.isVisible())
    dock = w.config_dock.widget()

    def gap() -> int:   # from the last thing in the panel to the Start button
        panel = w.config_panel
        last = panel.use_shown_button if panel.use_shown_button.isVisible() else panel.shown_note
        if not last.isVisible():
            last = panel
        bottom = last.mapTo(dock, last.rect().bottomLeft()).y()
        return w.start_button.mapTo(dock, w.start_button.rect().topLeft()).y() - bottom

    qtbot.waitUntil(lambda: 0 < gap() < 40)
    with_note = w.start_button.mapTo(dock, w.start_button.rect().topLeft()).y()
    assert with_note < dock.height() - 100               # not at the dock's bottom edge
    w.config_panel.show_model(None)
    qtbot.waitUntil(lambda: not w.config_panel.shown_note.isVisible())
    qtbot.waitUntil(lambda: w.start_button.mapTo(dock, w.start_button.rect().topLeft()).y() < with_note - 40)
    assert 0 < gap() < 40
