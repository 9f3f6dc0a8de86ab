"""The QApplication draw-gui runs on.

On Linux and Windows a file manager opens a file with `draw-gui PATH` (the .desktop file's %f),
which the command line handles. macOS does not: it sends a QFileOpenEvent to the running
application, for Finder's Open With, a file dropped on the Dock icon, or a double-clicked file of a
type the app bundle declares. That event can arrive while Qt starts, before the window exists, so
paths wait here until the window takes them.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication


class DrawGuiApplication(QApplication):
    def __init__(self, argv: list[str]):
        super().__init__(argv)
        self._open_file: Callable[[str], object] | None = None
        self._waiting: list[str] = []   # handed over before a window took them

    def set_file_opener(self, open_file: Callable[[str], object] | None) -> None:
        """Where handed-over files go from now on (the window's open_from_desktop); files that came
        before it go there at once, in order. None: keep them again (the window closed)."""
        self._open_file = open_file
        if open_file is not None:
            waiting, self._waiting = self._waiting, []
            for path in waiting:
                open_file(path)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen:
            path = event.file() or event.url().toLocalFile()
            if path:
                if self._open_file is None:
                    self._waiting.append(path)
                else:
                    self._open_file(path)
            return True
        return super().event(event)
