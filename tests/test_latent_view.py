"""The Latent tab: sliders, the 2-D pad, interpolation, the grid and the write box redraw the
sample as a user expects, and what it saves opens as the right PNGs and GIFs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt, QThread
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from core.model import DRAW, FIRST_WRITE_SCALE, DrawConfig
from draw_gui.latent.view import GRID_SIDE, PLACEHOLDER, LatentView
from draw_gui.workers.training import ModelWeights
from tests.helpers import shown

CONFIG = DrawConfig(glimpses=6, enc_size=32, dec_size=32, z_size=8)
T, Z = CONFIG.glimpses, CONFIG.z_size


def small_weights(step: int = 1) -> ModelWeights:
    torch.manual_seed(0)
    model = DRAW(CONFIG)
    with torch.no_grad():   # undo the small first writes so that every glimpse visibly draws
        model.write.patch.weight.div_(FIRST_WRITE_SCALE)
        model.write.patch.bias.div_(FIRST_WRITE_SCALE)
    return ModelWeights(config=CONFIG, state={k: v.clone() for k, v in model.state_dict().items()},
                        step=step, examples=torch.rand(8, 1, 28, 28).numpy())


@pytest.fixture
def view(qtbot):
    widget = shown(qtbot, LatentView(), 1000, 640)
    widget.set_weights(small_weights())
    settle(qtbot, widget)
    yield widget
    widget.shutdown()


def settle(qtbot, view: LatentView) -> None:
    """Wait until everything asked of the decoder is on screen."""
    qtbot.waitUntil(view.up_to_date, timeout=10000)


def image(view: LatentView) -> np.ndarray:
    return view.image().copy()


@pytest.fixture
def save_to(monkeypatch):
    """Answer the save dialog with a chosen path."""
    chosen = {}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen["path"]), ""))
    return chosen


def test_the_tab_asks_for_a_model_until_weights_arrive(qtbot):
    widget = LatentView()
    qtbot.addWidget(widget)
    assert widget.stack.currentWidget() is widget.placeholder and widget.placeholder.text() == PLACEHOLDER
    widget.set_weights(small_weights())
    assert widget.stack.currentIndex() == 1
    qtbot.waitUntil(lambda: widget.image() is not None, timeout=10000)
    assert widget.sample.image().width() == 28 and len(widget.sliders.sliders) == Z
    widget.shutdown()


def test_a_slider_changes_the_image_and_the_same_latent_gives_the_same_image(qtbot, view):
    start = image(view)
    view.sliders.sliders[3].setValue(200)                 # z_3 = 2.00 in every glimpse
    settle(qtbot, view)
    assert np.all(view.latent()[:, 3] == 2.0) and view.sliders.values[3].text() == "+2.00"
    assert not np.array_equal(image(view), start)
    view.sliders.sliders[3].setValue(0)
    settle(qtbot, view)
    assert np.array_equal(image(view), start)             # bit-identical


def test_a_burst_of_moves_ends_on_the_last_latent_without_decoding_each(qtbot, view):
    shown, threads = [], set()
    view.shown.connect(shown.append)
    view.shown.connect(lambda kind: threads.add(QThread.currentThread()))
    for tick in range(-300, 301, 10):                     # 61 moves before the loop runs again
        view.sliders.sliders[0].setValue(tick)
    settle(qtbot, view)
    final = image(view)
    assert 1 <= shown.count("image") < 61
    assert threads == {QApplication.instance().thread()}   # results are shown on the GUI thread
    view.sliders.sliders[0].setValue(0)
    settle(qtbot, view)
    view.sliders.sliders[0].setValue(300)
    settle(qtbot, view)
    assert np.array_equal(image(view), final)


def test_dragging_the_pad_sets_the_two_chosen_dimensions_while_the_mouse_moves(qtbot, view):
    view.x_spin.setValue(2)
    view.y_spin.setValue(5)
    start, pad = image(view), view.pad
    centre = pad.position_of(0, 0).toPoint()
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(pad, pos=QPoint(int(pad.square().right()) + 10, centre.y()))   # past the right edge
    settle(qtbot, view)
    assert not np.array_equal(image(view), start)         # redrawn before the button is released
    latent = view.latent()
    assert np.all(latent[:, 2] == 3.0) and np.all(latent[:, 5] == 0.0)
    assert np.all(np.delete(latent, [2, 5], axis=1) == 0.0)
    qtbot.mouseMove(pad, pos=QPoint(centre.x(), int(pad.square().top())))          # to the top edge
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(centre.x(), int(pad.square().top())))
    settle(qtbot, view)
    assert pad.point() == (0.0, 3.0) and np.all(view.latent()[:, 5] == 3.0)
    assert view.sliders.values[5].text() == "+3.00"


@pytest.mark.parametrize("directions", ["random", "principal"])
def test_pad_on_two_directions_moves_the_whole_latent(qtbot, view, directions):
    view.axes_combo.setCurrentIndex(view.axes_combo.findData(directions))
    settle(qtbot, view)
    before, pad = view.latent(), view.pad
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=pad.position_of(1.5, -1.5).toPoint())
    settle(qtbot, view)
    moved = view.latent() - before
    assert np.count_nonzero(moved) > T * Z // 2           # a direction in the T x Z space, not one z_i
    assert not view.x_spin.isEnabled()
    assert all(v.text() == "+0.00" for v in view.sliders.values)   # no shift of every z_t was made ...
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("glimpse"))
    view.glimpse_spin.setValue(2)                                 # ... glimpse 2's z shows the move
    shown = [float(v.text()) for v in view.sliders.values]
    assert np.allclose(shown, view.latent()[1], atol=0.006) and any(abs(x) >= 0.01 for x in shown)


def test_after_randomize_the_sliders_show_the_shift_in_use_and_move_every_z_t_by_it(qtbot, view):
    view.lock_seed.setChecked(True)
    view.randomize_button.click()
    settle(qtbot, view)
    random = view.latent()
    assert np.ptp(random[:, 3]) > 0.5                      # each glimpse has its own z_t (eq. 13)
    assert view.mode_combo.currentData() == "shared"
    assert all(v.text() == "+0.00" for v in view.sliders.values)   # not the mean over t (about ±0.1)
    view.sliders.sliders[3].setValue(150)
    settle(qtbot, view)
    assert np.allclose(view.latent()[:, 3], random[:, 3] + 1.5, atol=1e-6)   # every z_t shifted ...
    assert np.array_equal(np.delete(view.latent(), 3, axis=1), np.delete(random, 3, axis=1))
    assert view.sliders.values[3].text() == "+1.50"        # ... and the slider says by how much
    view.sliders.sliders[3].setValue(0)
    settle(qtbot, view)
    assert np.allclose(view.latent(), random, atol=1e-6)   # back to the random latent
    view.zero_button.click()
    view.sliders.sliders[3].setValue(-100)                 # from Zero, the shift is the z every glimpse uses
    settle(qtbot, view)
    assert np.all(view.latent()[:, 3] == -1.0) and view.sliders.values[3].text() == "-1.00"


def test_glimpse_mode_changes_only_z_t(qtbot, view):
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("glimpse"))
    view.glimpse_spin.setValue(3)
    view.sliders.sliders[1].setValue(-150)
    settle(qtbot, view)
    latent = view.latent()
    assert latent[2, 1] == -1.5 and np.count_nonzero(latent) == 1
    view.glimpse_spin.setValue(4)                         # the sliders now show z_4
    assert view.sliders.sliders[1].value() == 0


def test_randomize_with_a_locked_seed_is_reproducible(qtbot, view):
    view.lock_seed.setChecked(True)
    view.seed_spin.setValue(7)
    view.randomize_button.click()
    settle(qtbot, view)
    first_latent, first_image = view.latent(), image(view)
    assert first_latent.shape == (T, Z) and first_latent.std() > 0.5
    view.zero_button.click()
    settle(qtbot, view)
    assert not view.latent().any()
    view.randomize_button.click()
    settle(qtbot, view)
    assert np.array_equal(view.latent(), first_latent) and np.array_equal(image(view), first_image)
    view.lock_seed.setChecked(False)
    view.randomize_button.click()                         # unlocked: a new seed, shown for locking later
    assert view.seed_spin.value() != 7 or not np.array_equal(view.latent(), first_latent)
    assert not np.array_equal(view.latent(), first_latent)


@pytest.mark.parametrize("kind", ["spherical", "linear"])
def test_the_interpolation_slider_ends_on_a_and_b(qtbot, view, kind):
    view.lock_seed.setChecked(True)
    images = {}
    for end, seed in (("a", 1), ("b", 2)):
        view.seed_spin.setValue(seed)
        view.randomize_button.click()
        settle(qtbot, view)
        images[end] = image(view)
        (view.interpolation.set_a_button if end == "a" else view.interpolation.set_b_button).click()
    view.interpolation.mix_combo.setCurrentIndex(view.interpolation.mix_combo.findText(kind))
    view.interpolation.mix_slider.setValue(50)
    settle(qtbot, view)
    middle = image(view)
    view.interpolation.mix_slider.setValue(0)
    settle(qtbot, view)
    assert np.array_equal(image(view), images["a"])
    view.interpolation.mix_slider.setValue(100)
    settle(qtbot, view)
    assert np.array_equal(image(view), images["b"])
    assert not np.array_equal(middle, images["a"]) and not np.array_equal(middle, images["b"])


def test_the_grid_shows_64_samples_and_redraws_on_demand(qtbot, view):
    grid = view.grid_images()
    assert grid.shape == (GRID_SIDE * GRID_SIDE, 1, 28, 28)
    assert view.grid.image().width() == GRID_SIDE * 29 + 1     # 8 cells of 28 pixels, 1 apart
    view.new_grid_button.click()
    settle(qtbot, view)
    assert view.grid_images().shape == grid.shape and not np.array_equal(view.grid_images(), grid)


def test_dragging_the_write_box_of_glimpse_t_redraws_from_t_on(qtbot, view):
    drawing, canvas = view.drawing, view.drawing.canvas
    drawing.set_t(3)
    before = view.trace()
    box = canvas.box_rect()
    assert box is not None and drawing.t() == 3
    start = box.center().toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, pos=start + QPoint(-30, 20))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=start + QPoint(-30, 20))
    settle(qtbot, view)
    after = view.trace()
    assert np.array_equal(after.canvases[:2], before.canvases[:2])       # glimpses 1 and 2 untouched
    for t in range(2, T):                                                # glimpse 3 and everything after
        assert not np.array_equal(after.canvases[t], before.canvases[t])
    assert after.write[2, 0, 0] < before.write[2, 0, 0] and after.write[2, 0, 1] > before.write[2, 0, 1]
    assert np.array_equal(after.write[3:], before.write[3:])            # the other boxes stay put
    moved = canvas.box_rect()
    assert moved.center().x() < box.center().x() - 20

    edge = QPoint(int(moved.right()), int(moved.center().y()))           # drag the edge outwards: resize
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=edge)
    qtbot.mouseMove(canvas, pos=edge + QPoint(25, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=edge + QPoint(25, 0))
    settle(qtbot, view)
    resized = view.trace().write[2, 0]
    assert resized[2] > after.write[2, 0, 2]                             # delta grew
    assert resized[0] == pytest.approx(after.write[2, 0, 0], abs=1e-4)

    centre = QPointF(canvas.box_rect().center())                         # the wheel shrinks it
    QApplication.sendEvent(canvas, QWheelEvent(centre, canvas.mapToGlobal(centre), QPoint(), QPoint(0, -120),
                                               Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                               Qt.ScrollPhase.NoScrollPhase, False))
    settle(qtbot, view)
    assert view.trace().write[2, 0, 2] == pytest.approx(resized[2] / 1.1, rel=1e-4)

    drawing.reset_button.click()
    settle(qtbot, view)
    assert np.array_equal(view.trace().canvases, before.canvases)


def test_saved_gifs_have_the_right_frames_and_size(qtbot, view, save_to, tmp_path):
    save_to["path"] = tmp_path / "drawing.gif"
    view.drawing.gif_button.click()
    with Image.open(tmp_path / "drawing.gif") as gif:
        assert gif.n_frames == T and gif.size == (28 * 8 + 2, 28 * 8 + 2)

    view.interpolation.set_a_button.click()
    view.randomize_button.click()
    settle(qtbot, view)
    view.interpolation.set_b_button.click()
    save_to["path"] = tmp_path / "mix.gif"
    view.interpolation.frames_spin.setValue(10)
    view.interpolation.save_mix_button.click()
    qtbot.waitUntil((tmp_path / "mix.gif").exists, timeout=10000)
    with Image.open(tmp_path / "mix.gif") as gif:
        assert gif.n_frames == 10 and gif.size == (28 * 8, 28 * 8)

    save_to["path"] = tmp_path / "sweep.gif"
    view.interpolation.sweep_spin.setValue(4)
    view.interpolation.save_sweep_button.click()
    qtbot.waitUntil((tmp_path / "sweep.gif").exists, timeout=10000)
    with Image.open(tmp_path / "sweep.gif") as gif:
        assert gif.n_frames == 10
        first = np.asarray(gif.convert("L"))
        gif.seek(9)
        assert not np.array_equal(np.asarray(gif.convert("L")), first)   # z_4 went from -3 to 3


def test_saved_pngs_show_the_sample_the_grid_and_the_drawing(qtbot, view, save_to, tmp_path):
    for button, name, size in ((view.save_sample_button, "sample.png", (224, 224)),
                               (view.save_grid_button, "grid.png", (GRID_SIDE * 113 + 1,) * 2),
                               (view.drawing.png_button, "drawing.png", (226, 226))):
        save_to["path"] = tmp_path / name
        button.click()
        with Image.open(tmp_path / name) as png:
            assert png.size == size
    view.drawing.boxes_checkbox.setChecked(False)
    save_to["path"] = tmp_path / "plain.png"
    view.drawing.png_button.click()
    with Image.open(tmp_path / "drawing.png") as boxed, Image.open(tmp_path / "plain.png") as plain:
        red = lambda im: np.sum(np.all(np.asarray(im.convert("RGB")) == (230, 0, 0), axis=-1))  # noqa: E731
        assert red(boxed) > 0 and red(plain) == 0


def test_a_save_that_cannot_be_written_says_so_and_writes_nothing(qtbot, view, save_to, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append((title, text)))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    for button, name in ((view.save_sample_button, "sample.png"), (view.drawing.gif_button, "drawing.gif")):
        save_to["path"] = blocker / name
        button.click()
        assert warnings and warnings[-1][0] == "Could not save" and name in warnings[-1][1]
    assert len(warnings) == 2 and blocker.read_text() == "a file where the folder should be"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_new_weights_redraw_the_same_latent(qtbot, view):
    view.sliders.sliders[0].setValue(100)
    settle(qtbot, view)
    before = image(view)
    weights = small_weights(step=9)
    weights.state = {k: v * 1.5 for k, v in weights.state.items()}
    view.set_weights(weights)
    settle(qtbot, view)
    assert view.latent()[0, 0] == 1.0 and not np.array_equal(image(view), before)
    assert "9" in view.step_label.text()


def test_the_window_gets_weights_from_a_real_run_and_shows_a_sample(qtbot, tmp_path, mnist_dir, monkeypatch):
    from draw_gui.window.settings import Settings
    from draw_gui.window.main_window import MainWindow
    window = MainWindow(Settings(tmp_path / "settings.json"))
    qtbot.addWidget(window)
    monkeypatch.setattr(window, "_exec", lambda box: QMessageBox.Discard)
    window.config_panel.set_values({"data_dir": str(mnist_dir), "glimpses": 4, "hidden": 32, "z_size": 8,
                                    "batch_size": 32, "read_size": 2, "write_size": 3})
    window.show()
    view = window.latent_view
    assert view.stack.currentWidget() is view.placeholder
    window.start_button.click()
    qtbot.waitUntil(lambda: view.image() is not None, timeout=30000)
    window.tabs.setCurrentWidget(view)
    settle(qtbot, view)
    assert view.stack.currentIndex() == 1 and view.image().shape == (1, 28, 28)
    assert view.trace().glimpses == 4 and view.grid_images().shape[0] == GRID_SIDE * GRID_SIDE
    assert not view.sample.image().isNull() and "step" in view.step_label.text()
    window.worker.dirty = False
    window.close()
    assert window.thread.isFinished() and not view.decoder._thread.isRunning()
