"""Start the window: `draw-gui` with no subcommand, or `draw-gui train --display ...`.

Only Qt and the widgets load before the window shows; torch loads in the worker thread when
a run starts, so the window appears quickly.
"""
from __future__ import annotations

import os
import sys


def app_icon():
    """The application icon: the PNG sizes in resources/icons (no image plugin needed), else the SVG."""
    from PySide6.QtGui import QIcon
    from draw_gui.resources import resource_path

    icon = QIcon()
    for n in (16, 32, 48, 64, 128, 256):
        png = resource_path(f"icons/draw-gui-{n}.png")
        if png.exists():
            icon.addFile(str(png))
    svg = resource_path("icon.svg")
    if icon.isNull() and svg.exists():
        icon = QIcon(str(svg))
    return icon


def run_app(argv: list[str] | None = None, setup=None, follow=None, compare: list[str] | None = None,
            open_path: str | None = None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from draw_gui.logs import setup_logging
    from draw_gui.window.application import DrawGuiApplication
    setup_logging()  # before Qt starts: its messages, warnings and uncaught errors go to the log file too
    app = QApplication.instance() or DrawGuiApplication([sys.argv[0]] + list(argv or []))
    app.setApplicationName("draw-gui")
    app.setOrganizationName("draw-gui")
    app.setDesktopFileName("draw-gui")  # resources/draw-gui.desktop: docks and task bars show its icon and name
    app.setWindowIcon(app_icon())
    from draw_gui.window.main_window import MainWindow
    probe = bool(os.environ.get("DRAW_GUI_STARTUP_PROBE"))
    # The window opens on the shipped model, unless it starts training (--display) or follows a run.
    window = MainWindow(open_model=setup is None and follow is None and open_path is None and not probe)
    window.show()
    if isinstance(app, DrawGuiApplication):  # files macOS hands over (Finder, the Dock icon) open here
        app.set_file_opener(window.open_from_desktop)
    if probe:  # start-up timing (benchmarks/, bundle tests): show, report, quit
        app.processEvents()
        print("shown", flush=True)
        QTimer.singleShot(0, app.quit)
    if setup is not None:  # the seed's `--display`: train at once with the command line's settings
        QTimer.singleShot(0, lambda: window.start_with(setup))
    if follow is not None:  # `draw-gui follow DIR`: show a run another process writes
        QTimer.singleShot(0, lambda: window.follow_run(str(follow)))
    if open_path is not None:  # `draw-gui CHECKPOINT.pt | RUN_FOLDER`, a file manager's Open with
        QTimer.singleShot(0, lambda: window.open_path(open_path))
    if compare:  # `draw-gui compare RUN RUN`: the Compare tab on those runs
        window.compare_runs(compare)
    code = app.exec()
    if isinstance(app, DrawGuiApplication):
        app.set_file_opener(None)  # the window is gone: a later one takes what comes next
    return code
