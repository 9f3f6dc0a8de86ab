"""Look and access (issue 16): box colours a colour-blind user can tell apart, plots and banners
that follow the system's light or dark scheme, the platform's standard keys for Open / Save /
Quit, and accessible names on draw-gui's own (custom-painted) widgets."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QColor, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from core.export import BOX_PALETTES, glimpse_panel
from core.trace import GlimpseTrace
from draw_gui.widgets.theme import contrast

T, B, H = 3, 2, 28
CLASSIC, SAFE = BOX_PALETTES["classic"], BOX_PALETTES["colour-blind"]


def make_trace() -> GlimpseTrace:
    """Grey inputs and canvases; a read box and a write box well inside every cell."""
    box = [14.5, 14.5, 3.0, 1.0, 1.0]     # g_x, g_y, delta, sigma, gamma
    return GlimpseTrace(canvases=np.full((T, B, 1, H, H), 0.3), read=np.array([[box] * B] * T),
                        write=np.array([[box] * B] * T), read_size=2, write_size=5,
                        images=np.full((B, 1, H, H), 0.5), kl_steps=np.array([3.0, 2.0, 1.0]))


def colours_in(image) -> set[tuple[int, int, int]]:
    a = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    return {tuple(int(v) for v in p) for p in np.unique(a.reshape(-1, a.shape[-1])[:, :3], axis=0)}


# --------------------------------------------------------------------------- box colours

def test_colour_blind_palette_is_not_green_and_red():
    """The two palettes differ, and the safe one is neither green nor red (nor grey)."""
    assert (CLASSIC.read, CLASSIC.write) == ((0, 200, 0), (230, 0, 0))     # the Torch script's
    read, write = SAFE.read, SAFE.write
    assert read[2] > read[1] > read[0] and write[0] > write[1] > write[2]    # blue and orange
    assert contrast(QColor(*read), QColor("black")) > 4.5 and contrast(QColor(*write), QColor("black")) > 4.5


@pytest.mark.parametrize("name", list(BOX_PALETTES))
def test_glimpse_panel_draws_boxes_in_the_palette(name):
    shown = colours_in(glimpse_panel(make_trace(), 0, per_row=2, scale=2, palette=name))
    for other in BOX_PALETTES.values():
        for colour in (other.read, other.write):
            assert (colour in shown) == (other is BOX_PALETTES[name])


def test_unknown_palette_is_refused():
    with pytest.raises(ValueError, match="unknown box colours"):
        glimpse_panel(make_trace(), 0, palette="rainbow")


def test_box_colours_setting_reaches_every_view_and_survives_a_new_window(new_window):
    w = new_window()
    assert w.box_palette() == "classic" and w.box_colour_actions["classic"].isChecked()
    w.glimpse_view.set_trace(make_trace())
    assert {CLASSIC.read, CLASSIC.write} <= colours_in(w.glimpse_view.panel())
    w.box_colour_actions["colour-blind"].trigger()
    assert w.glimpse_view.box_palette() == w.latent_view.drawing.box_palette() == "colour-blind"
    assert w.compare_view._box_palette == "colour-blind"
    shown = colours_in(w.glimpse_view.panel())
    assert {SAFE.read, SAFE.write} <= shown and not {CLASSIC.read, CLASSIC.write} & shown
    assert "blue" in w.glimpse_view.boxes_checkbox.toolTip()
    w.close()                                  # saves the settings

    again = new_window()
    assert again.box_palette() == "colour-blind" and again.box_colour_actions["colour-blind"].isChecked()
    assert again.glimpse_view.box_palette() == again.latent_view.drawing.box_palette() == "colour-blind"


def test_cli_box_colours_option_changes_the_written_pngs(capsys, mnist_dir, tmp_path):
    from draw_gui.cli.main import main
    tiny = ["--num_glimpses", "2", "--hidden_size", "16", "--latent_size", "4", "--batch_size", "8",
            "--max-steps", "2", "--no-eval", "--quiet", "--save_image", "--img_per_row", "2",
            "--data-dir", str(mnist_dir)]
    seen = {}
    for name in ("classic", "colour-blind"):
        out = tmp_path / name
        assert main(["train", *tiny, "--out", str(out), "--box_colours", name]) == 0, capsys.readouterr().err
        (png,) = sorted((out / "images").glob("step_*/glimpse_01.png"))
        seen[name] = colours_in(Image.open(png))
    assert {CLASSIC.read, CLASSIC.write} <= seen["classic"] and not {SAFE.read, SAFE.write} & seen["classic"]
    assert {SAFE.read, SAFE.write} <= seen["colour-blind"]
    assert not {CLASSIC.read, CLASSIC.write} & seen["colour-blind"]


def test_cli_refuses_an_unknown_box_palette(capsys):
    from draw_gui.cli.main import main
    assert main(["sample", "nothing.pt", "--box-colours", "rainbow"]) == 2
    assert "invalid choice: 'rainbow'" in capsys.readouterr().err


# --------------------------------------------------------------------------- light and dark

def scheme(dark: bool) -> QPalette:
    pal = QPalette(QColor(45, 45, 45) if dark else QColor(240, 240, 240))
    pal.setColor(QPalette.ColorRole.Base, QColor(30, 30, 30) if dark else QColor(255, 255, 255))
    pal.setColor(QPalette.ColorRole.Text, QColor(230, 230, 230) if dark else QColor(20, 20, 20))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(230, 230, 230) if dark else QColor(20, 20, 20))
    return pal


@pytest.fixture
def app_palette(qapp):
    """Sets the application palette; the original comes back afterwards."""
    original = QPalette(qapp.palette())
    yield lambda dark: (qapp.setPalette(scheme(dark)), qapp.processEvents())
    qapp.setPalette(original)
    qapp.processEvents()


def plot_look(plot) -> tuple[QColor, QColor, QColor]:
    """(background, left axis pen, left axis text pen) of a pyqtgraph PlotWidget."""
    axis = plot.getPlotItem().getAxis("left")
    return QColor(plot.backgroundBrush().color()), QColor(axis.pen().color()), QColor(axis.textPen().color())


def test_plots_and_banners_follow_a_switch_between_light_and_dark(new_window, app_palette):
    from draw_gui.widgets.loss_plot import _SERIES
    w = new_window()
    w.show()
    w.banner.setText("a note")
    w.rate_label.set_warning(True)
    looks = {}
    for dark in (True, False, True):
        app_palette(dark)
        pal = scheme(dark)
        for plot in (w.loss_plot.plot_widget, w.glimpse_view.kl_plot, w.compare_view.plot.plot_widget):
            background, axis, text = plot_look(plot)
            assert background == pal.color(QPalette.ColorRole.Base)
            assert axis == text == pal.color(QPalette.ColorRole.Text)
            assert contrast(background, text) >= 4.5
        curves = [QColor(c.opts["pen"].color()) for c in w.loss_plot.curves]
        assert curves == [QColor(*s.shade(dark)) for s in _SERIES]
        assert all(contrast(c, background) >= 3 for c in curves)        # every curve readable on it
        banner_bg, banner_text = w.banner.colours()
        assert (banner_bg.lightness() < 128) == dark and contrast(banner_bg, banner_text) >= 7
        warning = w.rate_label.palette().color(QPalette.ColorRole.WindowText)
        assert contrast(warning, pal.color(QPalette.ColorRole.Window)) >= 4.5
        looks[dark] = (background.name(), banner_bg.name(), warning.name())
    assert looks[True] != looks[False]
    w.banner.set_kind("follow")
    follow_bg, follow_text = w.banner.colours()
    assert follow_bg != banner_bg and contrast(follow_bg, follow_text) >= 7


def test_warning_label_follows_the_scheme_and_can_be_switched_off(qtbot, app_palette):
    from draw_gui.widgets.theme import WarningLabel
    label = WarningLabel("run could not be read")
    qtbot.addWidget(label)
    for dark in (False, True):
        app_palette(dark)
        colour = label.palette().color(QPalette.ColorRole.WindowText)
        assert contrast(colour, scheme(dark).color(QPalette.ColorRole.Window)) >= 4.5
    label.set_warning(False)
    assert label.palette().color(QPalette.ColorRole.WindowText) == scheme(True).color(QPalette.ColorRole.WindowText)


# --------------------------------------------------------------------------- keys

@pytest.mark.parametrize("action, key", [("open_action", QKeySequence.StandardKey.Open),
                                         ("save_action", QKeySequence.StandardKey.Save),
                                         ("save_as_action", QKeySequence.StandardKey.SaveAs),
                                         ("quit_action", QKeySequence.StandardKey.Quit)])
def test_file_menu_uses_the_platforms_standard_keys(new_window, action, key):
    shortcuts = getattr(new_window(), action).shortcuts()
    for sequence in QKeySequence.keyBindings(key):
        assert sequence in shortcuts
    extra = {"open_action": "Ctrl+O", "save_action": "Ctrl+S", "save_as_action": "Ctrl+Shift+S",
             "quit_action": "Ctrl+Q"}[action]
    assert QKeySequence(extra) in shortcuts            # the keys it always had still work


# --------------------------------------------------------------------------- accessible names

def own_widgets(root: QWidget) -> list[QWidget]:
    """Visible widgets of classes defined in draw_gui (not standard Qt or pyqtgraph ones)."""
    return [x for x in root.findChildren(QWidget) if type(x).__module__.startswith("draw_gui")
            and x.isVisible() and not x.property("accessibility_ignored")]


def test_every_own_widget_in_every_tab_has_an_accessible_name(new_window):
    w = new_window()
    w.show()
    w.glimpse_view.set_trace(make_trace())       # shows the KL bars too
    names = set()
    for tab in range(w.tabs.count()):
        w.tabs.setCurrentIndex(tab)
        QApplication.processEvents()
        unnamed = [type(x).__name__ for x in own_widgets(w) if not x.accessibleName().strip()]
        assert unnamed == [], f"tab {w.tabs.tabText(tab)}: no accessible name on {unnamed}"
        names |= {type(x).__name__ for x in own_widgets(w)}
    assert {"GlimpseView", "PixelCanvas", "KLBars", "LossPlot", "Timeline"} <= names
    assert "KL" in w.glimpse_view.kl_plot.accessibleDescription()
    assert "t 1/3" in w.glimpse_view.canvas.accessibleName()
    assert w.focus_ring.property("accessibility_ignored")


def test_custom_painted_latent_widgets_say_what_they_show(qtbot):
    from draw_gui.latent.drawing import DrawingProcess
    from draw_gui.latent.pad import LatentPad, PixelImage
    pad = LatentPad()
    qtbot.addWidget(pad)
    pad.set_labels("d1", "d2")
    pad.set_point(1.25, -0.5)
    assert pad.accessibleName() == "latent pad"
    assert "d1 = 1.25" in pad.accessibleDescription() and "d2 = -0.50" in pad.accessibleDescription()
    image = PixelImage("nothing yet")
    qtbot.addWidget(image)
    assert image.accessibleName() and image.accessibleDescription() == "nothing yet"
    drawing = DrawingProcess()
    qtbot.addWidget(drawing)
    drawing.resize(300, 400)
    drawing.set_trace(make_trace(), glimpses=T)
    assert drawing.accessibleName() == "Drawing process"
    assert drawing.canvas.accessibleName().startswith("Drawing process, glimpse t 3/3")
    assert "pixels" in drawing.canvas.accessibleDescription()
