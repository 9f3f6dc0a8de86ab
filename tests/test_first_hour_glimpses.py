"""Items from a first-hour user test of the Glimpses tab and the latent drawing process: play
buttons in glyphs the font lacks, TeX (σ(c_{t−1})) shown raw, and saves that started in the launch
folder and confirmed nothing."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QAbstractButton, QFileDialog, QLabel, QMainWindow, QPushButton,
                               QWidget)

from draw_gui.glimpses.view import GlimpseView
from draw_gui.latent.drawing import DrawingProcess
from draw_gui.widgets import saving
from tests.helpers import shown
from tests.test_glimpse_view import make_trace


def missing_glyphs(button: QPushButton) -> list[str]:
    metrics = QFontMetrics(button.font())
    return [ch for ch in button.text() if not metrics.inFontUcs4(ord(ch))]


def assert_plain_play_button(button: QPushButton) -> None:
    assert not missing_glyphs(button), (button.text(), missing_glyphs(button))
    assert not button.icon().isNull()
    assert button.text().isascii()


@pytest.mark.parametrize("make", [GlimpseView, DrawingProcess])
def test_play_buttons_use_standard_icons_and_plain_text(qtbot, make):
    widget = shown(qtbot, make(), 700, 500)
    widget.set_trace(make_trace())
    play = widget.timeline.play_button if isinstance(widget, GlimpseView) else widget.play_button
    assert_plain_play_button(play)
    paused_icon = play.icon().cacheKey()
    play.click()
    assert play.isChecked()
    assert_plain_play_button(play)
    assert play.icon().cacheKey() != paused_icon
    if isinstance(widget, GlimpseView):
        assert play.text() == "Pause"
    play.click()
    assert_plain_play_button(play)
    if isinstance(widget, GlimpseView):
        assert play.text() == "Play"


@pytest.mark.parametrize("make", [GlimpseView, DrawingProcess])
def test_every_button_text_is_in_the_font(qtbot, make):
    widget = shown(qtbot, make(), 700, 500)
    widget.set_trace(make_trace())
    for button in widget.findChildren(QPushButton):
        assert not missing_glyphs(button), (button.text(), missing_glyphs(button))


def visible_texts(widget: QWidget) -> list[str]:
    texts = [widget.toolTip()]
    for child in widget.findChildren(QWidget):
        texts.append(child.toolTip())
        if isinstance(child, (QLabel, QAbstractButton)):
            texts.append(child.text())
    return texts


@pytest.mark.parametrize("make", [GlimpseView, DrawingProcess])
def test_no_tex_shown_raw(qtbot, make):
    widget = shown(qtbot, make(), 700, 500)
    widget.set_trace(make_trace())
    states = [None]
    if isinstance(widget, GlimpseView):
        states = [False, True]
        widget.set_t(3)
    for error in states:
        if error is not None:
            widget.error_checkbox.setChecked(error)
        for text in visible_texts(widget):
            assert "_{" not in text and "^{" not in text, text
            assert "c_t" not in text and "z_t" not in text, text
    if isinstance(widget, GlimpseView):
        assert "<sub>t−1</sub>" in widget.caption.text()      # shown as σ(c with t−1 lowered)


# ---------------------------------------------------------------------- saving

@pytest.fixture
def bare_home(monkeypatch, tmp_path):
    """A home folder without Pictures (and no XDG user-dirs saying otherwise), launched elsewhere."""
    home = tmp_path / "home"
    home.mkdir()
    launch = tmp_path / "launch"
    launch.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.chdir(launch)
    return home


@pytest.fixture
def asked(monkeypatch):
    calls = []

    def fake(parent, caption, directory, filters, *args, **kwargs):
        calls.append(directory)
        return (asked.answer, filters) if asked.answer else ("", "")

    asked.answer = ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake)
    asked.calls = calls
    return asked


def test_first_save_starts_in_home_without_pictures(qtbot, bare_home, asked):
    widget = shown(qtbot, QWidget(), 100, 100)
    assert not (bare_home / "Pictures").exists()
    assert saving.pictures_dir() == bare_home
    assert saving.save_png(widget, None, Image.new("RGB", (4, 4)), "a.png") is None   # cancelled
    assert Path(asked.calls[-1]).parent == bare_home
    assert Path(asked.calls[-1]).parent != Path(os.getcwd())


def test_pictures_folder_used_where_it_exists(qtbot, bare_home, asked):
    (bare_home / "Pictures").mkdir()
    assert saving.pictures_dir() == bare_home / "Pictures"


def test_remembered_folder_that_is_gone_falls_back(qtbot, bare_home, asked, tmp_path):
    class Settings(dict):
        def set(self, key, value):
            self[key] = value
    widget = shown(qtbot, QWidget(), 100, 100)
    saving.save_png(widget, Settings(export_dir=str(tmp_path / "gone")), Image.new("RGB", (4, 4)), "a")
    assert Path(asked.calls[-1]).parent == bare_home


def test_successful_save_is_confirmed_in_the_status_bar(qtbot, bare_home, asked):
    window = shown(qtbot, QMainWindow(), 300, 200)
    inner = QWidget()
    window.setCentralWidget(inner)
    asked.answer = str(bare_home / "panel.png")
    path = saving.save_png(inner, None, Image.new("RGB", (4, 4)), "panel.png")
    assert path == bare_home / "panel.png" and path.is_file()
    assert window.statusBar().currentMessage() == f"saved {path}"
    asked.answer = str(bare_home / "anim")
    path = saving.save_gif(inner, None, [Image.new("RGB", (4, 4))] * 2, "anim.gif")
    assert path == bare_home / "anim.gif" and path.is_file()
    assert window.statusBar().currentMessage() == f"saved {path}"


def test_failed_save_is_not_confirmed(qtbot, bare_home, asked, monkeypatch):
    window = shown(qtbot, QMainWindow(), 300, 200)
    window.show_error = lambda title, message: None
    asked.answer = str(bare_home / "missing" / "panel.png")
    assert saving.save_png(window, None, Image.new("RGB", (4, 4)), "panel.png") is None
    assert window.statusBar().currentMessage() == ""
