"""The application's own resources: icon (SVG and PNG sizes), .desktop file, About box."""
import configparser
import shutil
import subprocess

import pytest
from PySide6.QtGui import QImage

from draw_gui.app import app_icon
from draw_gui.resources import resource_path
from draw_gui.window.settings import Settings
from draw_gui.window.main_window import MainWindow
from draw_gui.window.menus import ABOUT

SIZES = (16, 32, 48, 64, 128, 256)


def test_icon_pngs_exist_with_their_sizes():
    assert resource_path("icon.svg").exists()
    for n in SIZES:
        image = QImage(str(resource_path(f"icons/draw-gui-{n}.png")))
        assert not image.isNull(), n
        assert (image.width(), image.height()) == (n, n)


def test_svg_icon_renders():
    from PySide6.QtSvg import QSvgRenderer
    renderer = QSvgRenderer(str(resource_path("icon.svg")))
    assert renderer.isValid()


def test_window_icon_is_set(qtbot, qapp, tmp_path):
    icon = app_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} >= set(SIZES)
    qapp.setWindowIcon(icon)
    w = MainWindow(Settings(tmp_path / "settings.json"))
    qtbot.addWidget(w)
    assert not w.windowIcon().isNull()


def test_about_names_version_paper_and_licences():
    from draw_gui import __version__
    for text in (__version__, "arXiv:1502.04623", "Gregor",
                 "MNIST", "CC BY-SA 3.0",
                 "Fashion-MNIST", "MIT",
                 "CIFAR-10", "Krizhevsky", "Learning Multiple Layers of Features from", "2009",
                 "SVHN", "non-commercial", "Netzer", "2011",
                 "draw-gui is free software under the MIT licence"):
        assert text in ABOUT, text


def test_desktop_file():
    path = resource_path("draw-gui.desktop")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path)
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "draw-gui"
    assert entry["Exec"] == "draw-gui %f"         # a checkpoint or run folder opened from the file manager
    assert entry["Icon"] == "draw-gui"
    assert entry["Terminal"] == "false"
    assert "Science" in entry["Categories"].strip(";").split(";")
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate not installed")
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
