"""Start the window: `draw-gui` with no subcommand, or `draw-gui train --display ...`.

Only Qt and the widgets load before the window shows; torch loads in the worker thread when
a run starts, so the window appears quickly.
"""
from __future__ import annotations

import sys


def run_app(argv: list[str] | None = None, setup=None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]] + list(argv or []))
    app.setApplicationName("draw-gui")
    app.setOrganizationName("draw-gui")
    from draw_gui.resources import resource_path
    icon = resource_path("icon.svg")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    from draw_gui.window import MainWindow
    window = MainWindow()
    window.show()
    if setup is not None:  # the seed's `--display`: train at once with the command line's settings
        QTimer.singleShot(0, lambda: window.start_with(setup))
    return app.exec()
