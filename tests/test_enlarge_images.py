"""Images open large on a double-click (one window per image, crisp pixels, within the screen,
following the image while open, closed by Escape), and saved images are large enough to read
on a slide."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from core.model import DRAW, DrawConfig
from draw_gui.glimpses.pixel_canvas import PixelCanvas
from draw_gui.latent.drawing import DrawingProcess
from draw_gui.latent.pad import PixelImage, to_qimage
from draw_gui.widgets.enlarge import EnlargedImage, enlarged
from tests.helpers import shown
from tests.test_latent_view import save_to, settle, view  # noqa: F401  (fixtures)


def double_click(qtbot, widget) -> None:
    qtbot.mouseDClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())


def enlarged_windows(root) -> list[EnlargedImage]:
    """The enlarged windows open for images in `root`."""
    return [w for w in root.findChildren(EnlargedImage) if w.isVisible()]


def checker(size: int = 28, shift: int = 0) -> QImage:
    """A size x size image whose every pixel differs from its neighbours: a blurred or shifted
    enlargement shows."""
    y, x = np.mgrid[:size, :size]
    rgb = np.stack([(x + shift) * 9 % 256, y * 9 % 256, (x + y + shift) % 2 * 255], -1).astype(np.uint8)
    return to_qimage(rgb)


def assert_shows_crisp(window: EnlargedImage, image: QImage) -> None:
    """The window shows `image` scaled nearest neighbour: the centre of every enlarged pixel
    has the colour of the pixel it enlarges."""
    target = window.target()
    zoom = target.width() / image.width()
    screen = window.grab().toImage()
    for i in range(0, image.width(), 3):
        for j in range(0, image.height(), 3):
            at = QPoint(int(target.x() + (i + 0.5) * zoom), int(target.y() + (j + 0.5) * zoom))
            assert screen.pixelColor(at).rgb() == image.pixelColor(i, j).rgb(), (i, j)


def test_a_double_click_opens_the_sample_large_crisp_and_within_the_screen(qtbot, view):
    source = view.sample
    double_click(qtbot, source)
    window = enlarged(source)
    assert window is not None and window.isWindow() and enlarged_windows(view) == [window]
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Sample: the final canvas"
    assert window.image() == source.image()
    assert window.target().width() > source.target().width() and window.target().height() > source.target().height()
    available = window.screen().availableGeometry()
    assert available.contains(window.frameGeometry())
    assert window.height() >= 0.7 * available.height()            # opens at most of the screen's height
    assert abs(window.width() - window.height()) <= 2             # square for a square image
    assert_shows_crisp(window, source.image())


def test_a_second_double_click_raises_the_same_window_and_escape_closes_it(qtbot, view):
    double_click(qtbot, view.grid)
    window = enlarged(view.grid)
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Samples (64)"
    double_click(qtbot, view.grid)
    assert enlarged(view.grid) is window and enlarged_windows(view) == [window]
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert enlarged(view.grid) is None and enlarged_windows(view) == []
    double_click(qtbot, view.grid)                                  # opens again, still one window
    assert enlarged(view.grid) is window and enlarged_windows(view) == [window]


def test_the_open_window_follows_its_image(qtbot, view):
    double_click(qtbot, view.sample)
    window = enlarged(view.sample)
    before = window.image()
    view.sliders.sliders[0].setValue(200)
    settle(qtbot, view)
    qtbot.waitUntil(lambda: window.image() == view.sample.image())
    assert window.image() != before

    canvas = view.drawing.canvas                                    # the drawing process: image and title follow t
    view.drawing.set_t(2)
    double_click(qtbot, canvas)
    drawing = enlarged(canvas)
    assert drawing.windowTitle() == "Drawing process, glimpse t 2/6" and drawing.image() == canvas.image()
    view.drawing.set_t(5)
    assert drawing.windowTitle() == "Drawing process, glimpse t 5/6" and drawing.image() == canvas.image()
    assert set(enlarged_windows(view)) == {window, drawing}


def test_the_glimpse_canvas_opens_large_and_follows(qtbot):
    canvas = shown(qtbot, PixelCanvas("nothing yet"), 200, 100)
    image = checker()
    canvas.set_image(image)
    double_click(qtbot, canvas)
    window = enlarged(canvas)
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Glimpses"
    assert window.target().width() > 100 and window.screen().availableGeometry().contains(window.frameGeometry())
    assert_shows_crisp(window, image)
    flipped = checker(shift=1)
    canvas.set_image(flipped)
    assert window.image() == flipped


def test_a_widget_without_an_image_opens_nothing_until_it_has_one(qtbot):
    for widget in (PixelImage("no image yet"), PixelCanvas("no image yet")):
        shown(qtbot, widget, 200, 200)
        double_click(qtbot, widget)
        assert enlarged(widget) is None and widget.findChildren(EnlargedImage) == []
        widget.set_image(checker())
        double_click(qtbot, widget)
        assert enlarged(widget) is not None and len(widget.findChildren(EnlargedImage)) == 1


def test_image_tooltips_say_how_to_enlarge(view):
    tips = {view.sample.toolTip(), view.grid.toolTip(), view.drawing.canvas.toolTip(), PixelCanvas("").toolTip()}
    assert all("double-click to enlarge" in tip.lower() for tip in tips)
    assert "64 samples" in view.grid.toolTip() and view.sample.toolTip().startswith("<p>The sample")


def test_exports_read_on_a_slide(qtbot, view, save_to, tmp_path):  # noqa: F811
    save_to["path"] = tmp_path / "drawing.gif"
    view.drawing.gif_button.click()
    save_to["path"] = tmp_path / "drawing.png"
    view.drawing.png_button.click()
    with Image.open(tmp_path / "drawing.gif") as gif, Image.open(tmp_path / "drawing.png") as png:
        assert min(gif.size) >= 224 and gif.size == png.size                 # the GIF as large as the PNG

    save_to["path"] = tmp_path / "grid.png"
    view.save_grid_button.click()
    with Image.open(tmp_path / "grid.png") as png:
        assert png.width >= 900

    view.interpolation.set_a_button.click()                                 # the sample GIF (a mix of two latents)
    view.randomize_button.click()
    settle(qtbot, view)
    view.interpolation.set_b_button.click()
    save_to["path"] = tmp_path / "mix.gif"
    view.interpolation.frames_spin.setValue(4)
    view.interpolation.save_mix_button.click()
    qtbot.waitUntil((tmp_path / "mix.gif").exists, timeout=10000)
    with Image.open(tmp_path / "mix.gif") as gif:
        assert min(gif.size) >= 224


def test_a_64_glimpse_drawing_gif_stays_small(qtbot, save_to, tmp_path):  # noqa: F811
    torch.manual_seed(0)
    model = DRAW(DrawConfig(glimpses=64, enc_size=32, dec_size=32, z_size=8)).eval()
    with torch.no_grad():
        _, trace = model.generate(1, trace=True)
    drawing = shown(qtbot, DrawingProcess(), 300, 400)
    drawing.set_trace(trace, glimpses=64)
    save_to["path"] = tmp_path / "drawing.gif"
    drawing.gif_button.click()
    with Image.open(tmp_path / "drawing.gif") as gif:
        assert gif.n_frames == 64 and min(gif.size) >= 224
    assert (tmp_path / "drawing.gif").stat().st_size < 3_000_000
