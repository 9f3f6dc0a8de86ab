"""GlimpseView, the Glimpses tab: input + read box | canvas σ(c_t) + write box, per glimpse."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from core.export import PROGRESS_COLOUR, READ_COLOUR, WRITE_COLOUR
from core.trace import GlimpseTrace
from draw_gui.glimpses.view import GlimpseView
from draw_gui.glimpses.kl_bars import KL_HIGHLIGHT
from draw_gui.glimpses.timeline import SPEEDS
from tests.helpers import shown

T, B, SIZE = 6, 4, 28
INPUT_GREY = 0.8
READ_N, WRITE_N = 2, 5


def make_trace(glimpses: int = T, shift: float = 0.0) -> GlimpseTrace:
    """Canvases all equal to t/T at glimpse t; boxes that move with t (and with `shift`)."""
    t = np.arange(1, glimpses + 1, dtype=np.float32)
    canvases = np.broadcast_to((t / glimpses)[:, None, None, None, None],
                               (glimpses, B, 1, SIZE, SIZE)).copy()
    read = np.zeros((glimpses, B, 5), np.float32)
    read[..., 0] = (8 + t + shift)[:, None]        # g_x moves right with t
    read[..., 1] = 10
    read[..., 2] = 2                               # delta: the box is N * delta = 4 pixels wide
    read[..., 3] = 2                               # sigma
    read[..., 4] = 1
    write = np.zeros((glimpses, B, 5), np.float32)
    write[..., 0] = 14 + shift
    write[..., 1] = (8 + 2 * t)[:, None]           # g_y moves down with t
    write[..., 2] = 1                              # 5 pixels wide
    write[..., 3] = 1
    write[..., 4] = 1
    images = np.full((B, 1, SIZE, SIZE), INPUT_GREY, np.float32)
    kl = np.linspace(3.0, 0.5, glimpses).astype(np.float32)
    return GlimpseTrace(canvases, read, write, READ_N, WRITE_N, images, kl)


@pytest.fixture
def view(qtbot):
    widget = shown(qtbot, GlimpseView(), 900, 500)
    widget.set_trace(make_trace())
    return widget


def pixel(view: GlimpseView, x: float, y: float) -> tuple[int, int, int]:
    colour = view.image().pixelColor(int(x), int(y))
    return colour.red(), colour.green(), colour.blue()


def cell_pixel(view: GlimpseView, half: str, example: int, col: int, row: int):
    """The colour of MNIST pixel (col, row), 0-based, of one example's input or canvas cell."""
    cell = view.cell_rect(half, example)
    scale = cell.width() / SIZE
    return pixel(view, cell.x() + (col + 0.5) * scale, cell.y() + (row + 0.5) * scale)


def grey(value: float) -> tuple[int, int, int]:
    level = int(np.floor(value * 255 + 0.5))
    return level, level, level


def test_trace_shows_panel_and_slider_moves_canvas(view):
    assert not view.image().isNull()
    assert view.trace() is not None
    for t in (1, 3, 6):
        view.timeline.slider.setValue(t)
        assert view.t() == t
        for example in range(B):   # (2, 25) lies away from every box
            assert cell_pixel(view, "canvas", example, 2, 25) == grey(t / T)
            assert cell_pixel(view, "input", example, 2, 25) == grey(INPUT_GREY)
    view.set_t(3)
    assert view.t() == 3 and view.timeline.slider.value() == 3
    assert view.timeline.t_label.text() == "t 3/6"
    view.set_t(99)                 # clamped, not an error
    assert view.t() == T


@pytest.mark.parametrize("kind, colour", [("read", READ_COLOUR), ("write", WRITE_COLOUR)])
def test_boxes_are_drawn_where_the_trace_says(view, kind, colour):
    half = "input" if kind == "read" else "canvas"
    view.set_t(3)
    trace = view.trace()
    size = READ_N if kind == "read" else WRITE_N
    for example in range(B):
        rect, cell = view.box_rect(kind, example), view.cell_rect(half, example)
        assert cell.contains(rect)
        scale = cell.width() / SIZE
        g_x, g_y, delta = (trace.read if kind == "read" else trace.write)[2, example, :3]
        # Centre (g_x, g_y) in the paper's 1-based pixels; side N * delta (eq. 21-24).
        assert abs(rect.center().x() - (cell.x() + (g_x - 0.5) * scale)) <= 1
        assert abs(rect.center().y() - (cell.y() + (g_y - 0.5) * scale)) <= 1
        assert abs(rect.width() + 1 - size * delta * scale) <= 1
        mid_y = rect.center().y()
        for x in (rect.left(), rect.right()):
            assert pixel(view, x, mid_y) == colour
        assert pixel(view, rect.left() - 1, mid_y) != colour     # just outside
        assert pixel(view, rect.right() + 1, mid_y) != colour
        assert pixel(view, rect.center().x(), rect.top()) == colour
        assert pixel(view, rect.center().x(), rect.top() - 1) != colour

    before = view.box_rect(kind, 0)
    view.set_trace(make_trace(shift=3.0))                        # g_x three pixels further right
    after = view.box_rect(kind, 0)
    assert after.x() - before.x() == pytest.approx(3 * view.cell_rect(half, 0).width() / SIZE)
    assert pixel(view, after.left(), after.center().y()) == colour


def test_boxes_follow_t(view):
    view.set_t(2)
    read2, write2 = view.box_rect("read", 1), view.box_rect("write", 1)
    view.set_t(4)
    scale = view.cell_rect("input", 1).width() / SIZE
    assert view.box_rect("read", 1).x() - read2.x() == pytest.approx(2 * scale)   # g_x + 1 per t
    assert view.box_rect("write", 1).y() - write2.y() == pytest.approx(4 * scale)  # g_y + 2 per t


def test_sigma_as_line_width_thickens_the_outline(view):
    rect = view.box_rect("read", 0)
    inside = (rect.left() + 1, rect.center().y())
    assert pixel(view, *inside) != READ_COLOUR
    view.sigma_checkbox.setChecked(True)      # sigma = 2: about `scale` pixels thick
    if view.cell_rect("input", 0).width() / SIZE >= 2:
        assert pixel(view, *inside) == READ_COLOUR


def test_new_trace_keeps_t_and_shorter_trace_clamps_it(view):
    view.set_t(4)
    view.set_trace(make_trace(shift=1.0))
    assert view.t() == 4 and view.timeline.t_label.text() == "t 4/6"
    view.set_trace(make_trace(glimpses=3))
    assert view.t() == 3 and view.timeline.slider.maximum() == 3
    assert view.timeline.t_label.text() == "t 3/3"
    assert cell_pixel(view, "canvas", 0, 2, 25) == grey(3 / 3)


def test_play_runs_to_the_end_and_stops(view, qtbot):
    view.timeline.speed_combo.setCurrentIndex(view.timeline.speed_combo.count() - 1)   # fastest
    view.set_t(1)
    view.timeline.play_button.click()
    assert view.timeline.play_button.isChecked()
    qtbot.waitUntil(lambda: view.t() > 1, timeout=3000)
    qtbot.waitUntil(lambda: not view.timeline.play_button.isChecked(), timeout=3000)
    assert view.t() == T and not view.timeline.play_timer.isActive()
    view.timeline.play_button.click()                  # play at T starts over from t = 1
    assert view.t() == 1 and view.timeline.play_timer.isActive()
    view.timeline.play_button.click()                  # pause
    assert not view.timeline.play_timer.isActive() and not view.timeline.play_button.isChecked()
    paused_at = view.t()
    view.timeline.speed_combo.setCurrentIndex(0)
    assert view.t() == paused_at


def test_pause_stops_playback(view, qtbot):
    view.timeline.speed_combo.setCurrentIndex(0)       # slowest: 200 ms a glimpse
    view.set_t(1)
    view.timeline.play_button.click()
    qtbot.waitUntil(lambda: view.t() >= 2, timeout=3000)
    view.timeline.play_button.click()
    assert not view.timeline.play_timer.isActive() and not view.timeline.play_button.isChecked()
    assert view.timeline.play_button.text().endswith("Play")
    assert 2 <= view.t() < T                  # paused half way, not run to the end


def test_keyboard_steps_through_glimpses(view, qtbot):
    view.setFocus()
    view.set_t(3)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.t() == 4
    qtbot.keyClick(view, Qt.Key.Key_Left)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.t() == 2
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.t() == T
    qtbot.keyClick(view, Qt.Key.Key_Right)    # no wrap past T
    assert view.t() == T
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.t() == 1


def test_error_image_replaces_the_input(view):
    view.set_t(3)
    view.error_checkbox.setChecked(True)
    # x − σ(c_2) = 0.8 − 2/6, shown as 0.5 + error / 2 (mid-grey = no error).
    assert cell_pixel(view, "input", 0, 2, 25) == grey(0.5 + (INPUT_GREY - 2 / T) / 2)
    assert cell_pixel(view, "canvas", 0, 2, 25) == grey(3 / T)       # canvases untouched
    assert "error" in view.caption.text()
    rect = view.box_rect("read", 0)
    assert pixel(view, rect.left(), rect.center().y()) == READ_COLOUR
    view.set_t(1)                             # no σ(c_0) in the trace: the input as it is
    assert cell_pixel(view, "input", 0, 2, 25) == grey(INPUT_GREY)
    view.set_t(3)
    view.error_checkbox.setChecked(False)
    assert cell_pixel(view, "input", 0, 2, 25) == grey(INPUT_GREY)


def test_refresh_button_emits_refresh_requested(view, qtbot):
    with qtbot.waitSignal(view.refresh_requested, timeout=1000):
        view.refresh_button.click()


def test_kl_bars_follow_the_trace_and_highlight_t(view):
    kl = view.trace().kl_steps
    opts = view.kl_plot.bars.opts
    assert not view.kl_plot.isHidden()
    np.testing.assert_allclose(opts["x"], np.arange(1, T + 1))
    np.testing.assert_allclose(opts["height"], kl)
    for t in (2, 5):
        view.set_t(t)
        colours = [pg.mkBrush(b).color().getRgb()[:3] for b in view.kl_plot.bars.opts["brushes"]]
        assert len(colours) == T
        assert colours[t - 1] == KL_HIGHLIGHT
        assert all(c != KL_HIGHLIGHT for i, c in enumerate(colours) if i != t - 1)
        assert view.kl_plot.marker.value() == t
    view.set_trace(dataclasses.replace(make_trace(), kl_steps=None))
    assert view.kl_plot.isHidden()


def test_clicking_a_kl_bar_goes_to_its_glimpse(view, qtbot):
    view_box = view.kl_plot.getPlotItem().getViewBox()
    scene_pos = view_box.mapViewToScene(QPointF(5, 0.2))
    qtbot.mouseClick(view.kl_plot.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.kl_plot.mapFromScene(scene_pos))
    qtbot.waitUntil(lambda: view.t() == 5, timeout=1000)


def test_placeholder_without_trace(view, qtbot):
    view.set_trace(None)
    assert view.trace() is None
    assert view.image().isNull()
    assert view.box_rect("read", 0) is None
    assert not view.timeline.play_button.isEnabled()
    shot = view.canvas.grab().toImage()
    centre = [shot.pixelColor(x, shot.height() // 2).lightness() for x in range(shot.width())]
    assert max(centre) > 60                   # the grey placeholder text across the middle
    view.set_trace(make_trace())
    assert not view.image().isNull()


def test_generated_samples_show_only_canvases(view):
    view.set_trace(dataclasses.replace(make_trace(), images=None))
    assert view.cell_rect("input", 0) is None and view.box_rect("read", 0) is None
    assert not view.error_checkbox.isEnabled()
    rect = view.box_rect("write", 0)
    assert pixel(view, rect.left(), rect.center().y()) == WRITE_COLOUR


# ---------------------------------------------------------------------- Save PNG / Save GIF

class DictSettings:
    """The two methods of draw_gui.window.settings.Settings that saving.py uses."""

    def __init__(self):
        self.values = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value):
        self.values[key] = value


class ErrorWindow(QWidget):
    """A parent window with the main window's show_error(title, message)."""

    def __init__(self):
        super().__init__()
        self.errors = []

    def show_error(self, title, message):
        self.errors.append((title, message))


@pytest.fixture
def dialog(monkeypatch):
    """Replaces the save dialog: answers with `dialog.answer`, records what it was asked."""
    class Dialog:
        answer = ""
        calls = []

    def fake(parent, caption, directory, filters, *args, **kwargs):
        Dialog.calls.append((caption, directory, filters))
        return str(Dialog.answer), filters if Dialog.answer else ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake)
    Dialog.calls = []
    return Dialog


def qimage_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def has_colour(array: np.ndarray, colour) -> bool:
    return bool(np.all(array == np.array(colour, np.uint8), axis=-1).any())


def gif_frames(path) -> tuple[list[np.ndarray], list[int], dict]:
    with Image.open(path) as gif:
        info = dict(gif.info)
        frames, durations = [], []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
            durations.append(gif.info["duration"])
    return frames, durations, info


def test_save_buttons_need_a_trace_and_explain_themselves(view, dialog):
    for button in (view.save_png_button, view.save_gif_button):
        assert button.isEnabled() and button.toolTip()
    assert "Ctrl+E" in view.save_gif_button.toolTip()
    assert view.boxes_checkbox.isChecked() and view.boxes_checkbox.toolTip()
    assert view.settings is None
    view.set_trace(None)
    for control in (view.save_png_button, view.save_gif_button, view.boxes_checkbox):
        assert not control.isEnabled()
    assert view.save_png() is None and view.save_gif() is None
    assert dialog.calls == []                 # no dialog without something to save


@pytest.mark.parametrize("error_image, sigma", [(False, False), (True, True)])
def test_save_png_writes_the_panel_shown(view, dialog, tmp_path, error_image, sigma):
    view.set_t(3)
    view.error_checkbox.setChecked(error_image)
    view.sigma_checkbox.setChecked(sigma)
    dialog.answer = tmp_path / "x.png"
    view.save_png_button.click()
    caption, directory, filters = dialog.calls[-1]
    assert Path(directory).name == "glimpses-t3.png" and "*.png" in filters
    with Image.open(tmp_path / "x.png") as png:
        assert png.format == "PNG"
        assert png.size == (view.image().width(), view.image().height())
        saved = np.asarray(png.convert("RGB"))
    shown = qimage_array(view.image())
    np.testing.assert_array_equal(saved, shown)
    assert has_colour(saved, READ_COLOUR) and has_colour(saved, WRITE_COLOUR)


def test_boxes_checkbox_hides_boxes_on_screen_and_in_the_png(view, dialog, tmp_path):
    view.set_t(2)
    view.sigma_checkbox.setChecked(True)
    view.boxes_checkbox.setChecked(False)
    assert not view.sigma_checkbox.isEnabled()            # σ is only the boxes' line width
    assert view.box_rect("read", 0) is None and view.box_rect("write", 0) is None
    assert "box" not in view.caption.text()
    shown = qimage_array(view.image())
    assert not has_colour(shown, READ_COLOUR) and not has_colour(shown, WRITE_COLOUR)
    dialog.answer = tmp_path / "plain.png"
    assert view.save_png() == tmp_path / "plain.png"
    with Image.open(tmp_path / "plain.png") as png:
        saved = np.asarray(png.convert("RGB"))
    np.testing.assert_array_equal(saved, shown)
    assert not has_colour(saved, READ_COLOUR) and not has_colour(saved, WRITE_COLOUR)
    view.boxes_checkbox.setChecked(True)
    assert view.sigma_checkbox.isEnabled() and view.box_rect("read", 0) is not None
    assert has_colour(qimage_array(view.image()), READ_COLOUR)


@pytest.mark.parametrize("speed_index, boxes", [(0, True), (2, False)])
def test_save_gif_writes_every_glimpse_at_the_chosen_speed(view, dialog, tmp_path, speed_index,
                                                           boxes):
    view.timeline.speed_combo.setCurrentIndex(speed_index)
    view.boxes_checkbox.setChecked(boxes)
    view.set_t(4)
    frame_ms = 1000 // SPEEDS[speed_index]
    dialog.answer = tmp_path / "x.gif"
    view.save_gif_button.click()
    caption, directory, filters = dialog.calls[-1]
    assert Path(directory).name == "glimpses.gif" and "*.gif" in filters
    frames, durations, info = gif_frames(tmp_path / "x.gif")
    assert len(frames) == T
    width, height = view.image().width(), view.image().height()
    assert all(f.shape[1] == width and height < f.shape[0] <= height + 8 for f in frames)
    assert durations[:-1] == [frame_ms] * (T - 1) and durations[-1] >= frame_ms
    assert info.get("loop") == 0              # loops forever
    assert view.t() == 4                      # saving does not move the viewer
    for t, frame in enumerate(frames, start=1):
        np.testing.assert_array_equal(frame[:height], np.asarray(view.panel(t)))
        assert has_colour(frame, WRITE_COLOUR) == boxes
        # The grey progress bar along the bottom covers t / T of the width.
        bar = np.all(frame[-1] == np.array(PROGRESS_COLOUR, np.uint8), axis=-1)
        assert bar.sum() == round(t / T * width) and bar[:bar.sum()].all()
    np.testing.assert_array_equal(frames[3][:height], qimage_array(view.image()))


def test_gif_frames_follow_the_error_image_option(view):
    view.error_checkbox.setChecked(True)
    frames = view.gif_frames()
    view.set_t(3)
    shown = qimage_array(view.image())
    np.testing.assert_array_equal(np.asarray(frames[2])[:shown.shape[0]], shown)
    view.set_t(5)
    assert not np.array_equal(np.asarray(frames[2]), np.asarray(frames[4]))


def test_ctrl_e_saves_the_gif(view, dialog, tmp_path, qtbot):
    assert view.save_gif_shortcut.key() == QKeySequence("Ctrl+E")
    assert view.save_gif_shortcut.context() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    dialog.answer = tmp_path / "key.gif"
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert len(dialog.calls) == 1 and "GIF" in dialog.calls[0][0]
    with Image.open(tmp_path / "key.gif") as gif:
        assert gif.n_frames == T


def test_cancel_writes_nothing(view, dialog, tmp_path):
    view.settings = DictSettings()
    dialog.answer = ""
    assert view.save_png() is None and view.save_gif() is None
    assert len(dialog.calls) == 2
    assert list(tmp_path.iterdir()) == [] and view.settings.values == {}


def test_failed_png_save_warns_and_leaves_nothing(view, dialog, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[1:3]))
    (tmp_path / "file").write_text("a file, not a folder")
    dialog.answer = tmp_path / "file" / "x.png"
    assert view.save_png() is None
    assert len(warnings) == 1 and "Could not save" in warnings[0][0]
    assert str(tmp_path / "file" / "x.png") in warnings[0][1]
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
    assert (tmp_path / "file").read_text() == "a file, not a folder"


def test_failed_gif_save_goes_to_the_windows_show_error(qtbot, dialog, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: pytest.fail("not the window's"))
    window = ErrorWindow()
    qtbot.addWidget(window)
    view = GlimpseView(window)
    view.set_trace(make_trace())
    (tmp_path / "file").write_text("x")
    dialog.answer = tmp_path / "file" / "x.gif"
    view.save_gif_button.click()
    assert len(window.errors) == 1 and window.errors[0][0] == "Could not save"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_save_dialogs_remember_the_folder(view, dialog, tmp_path):
    view.settings = DictSettings()
    folder = tmp_path / "exports"
    folder.mkdir()
    dialog.answer = folder / "first"              # no suffix: ".png" is added
    view.set_t(5)
    assert view.save_png() == folder / "first.png" and (folder / "first.png").exists()
    assert view.settings.get("export_dir") == str(folder)
    dialog.answer = ""
    view.save_gif()                               # cancelled; only the dialog's start matters
    assert Path(dialog.calls[-1][1]) == folder / "glimpses.gif"
    view.settings = None                          # no settings: still saves
    dialog.answer = tmp_path / "y.png"
    assert view.save_png() == tmp_path / "y.png" and (tmp_path / "y.png").exists()
