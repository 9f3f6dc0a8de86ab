"""The QApplication draw-gui runs on.

On Linux and Windows a file manager opens a file with `draw-gui PATH` (the .desktop file's %f),
which the command line handles. macOS does not: it sends a QFileOpenEvent to the running
application, for Finder's Open With, a file dropped on the Dock icon, or a double-clicked file of a
type the app bundle declares; one event per file when several are selected. The files of one
hand-over reach the window together, and those handed over while Qt starts, before the window
exists, wait here until it takes them.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication


class DrawGuiApplication(QApplication):
    def __init__(self, argv: list[str]):
        super().__init__(argv)
        self._open_files: Callable[[list[str]], object] | None = None
        self._waiting: list[str] = []   # handed over, not yet given to a window

    def set_file_opener(self, open_files: Callable[[list[str]], object] | None) -> None:
        """Where handed-over files go from now on (the window's open_from_desktop), a list at a
        time; files that came before it go there at once. None: keep them (the window closed)."""
        self._open_files = open_files
        self._deliver()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen:
            path = event.file() or event.url().toLocalFile()
            if path:
                if not self._waiting:   # the first of a hand-over: the rest come in the same turn
                    QTimer.singleShot(0, self._deliver)
                self._waiting.append(path)
            return True
        return super().event(event)

    def _deliver(self) -> None:
        if self._open_files is not None and self._waiting:
            paths, self._waiting = self._waiting, []
            self._open_files(paths)
