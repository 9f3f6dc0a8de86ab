"""draw-gui's log file: the window started from a launcher (the .desktop file's Terminal=false)
has no terminal, so what it would print goes to a rotating file in the platform's log folder too.

setup_logging (called when the window starts, never on import) sends the "draw_gui" and "core"
loggers (INFO and up), every other logger's warnings, Python warnings (logging.captureWarnings),
uncaught exceptions with their tracebacks (sys.excepthook, threading.excepthook) and Qt's own
messages (qInstallMessageHandler) to `draw-gui.log` in log_folder(), and warnings and errors on
stderr too, as before (but not the failures the window shows: extra=FILE_ONLY). A folder that
cannot be written leaves the file out: stderr says so once, and nothing else changes.

DRAW_GUI_LOG_DIR names another folder (the tests use it).
"""
from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

LOG_NAME = "draw-gui.log"
MAX_BYTES = 1_000_000          # per file; the log keeps BACKUPS older files beside it
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOGGERS = ("draw_gui", "core")  # draw-gui's own loggers: INFO and up (the others: WARNING and up)
UNCAUGHT = "draw_gui.uncaught"  # the uncaught exceptions' logger: the default hook prints them already

log = logging.getLogger("draw_gui.logs")


def log_folder() -> Path:
    """Where the log files go: DRAW_GUI_LOG_DIR, else the platform's user log folder
    (~/.local/state/draw-gui/log on Linux, ~/Library/Logs/draw-gui, %LOCALAPPDATA%\\draw-gui\\Logs)."""
    folder = os.environ.get("DRAW_GUI_LOG_DIR")
    if folder:
        return Path(folder).expanduser()
    from platformdirs import user_log_dir
    return Path(user_log_dir("draw-gui", appauthor=False))


class _State:
    file_handler: logging.Handler | None = None
    stderr_handler: logging.Handler | None = None
    previous_excepthook = None
    previous_threading_hook = None
    previous_qt_handler = None
    qt_installed = False
    qt_installed_once = False
    qt_handler = None                # kept alive while Qt holds it
    told_no_file: set[str] = set()   # the folders stderr already said it cannot write


def log_file() -> Path | None:
    """The file the log goes to now; None before setup_logging, or when it could not be opened."""
    handler = _State.file_handler
    return Path(handler.baseFilename) if handler is not None else None


FILE_ONLY = {"file_only": True}   # logger.warning(..., extra=FILE_ONLY): not on stderr (the user saw it already)


class _NotOnStderr(logging.Filter):
    """stderr's handler leaves out uncaught exceptions (Python's default hook prints them) and
    what the window has told the user already (extra=FILE_ONLY)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != UNCAUGHT and not getattr(record, "file_only", False)


def _open_file(folder: Path, max_bytes: int, backups: int) -> logging.Handler | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / LOG_NAME, maxBytes=max_bytes,
                                                       backupCount=backups, encoding="utf-8")
    except OSError as e:
        if str(folder) not in _State.told_no_file:
            _State.told_no_file.add(str(folder))
            print(f"draw-gui: no log file: cannot write in {folder} ({e.strerror or e})", file=sys.stderr)
        return None
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def setup_logging(folder: Path | str | None = None, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path | None:
    """Log to `folder` (default log_folder()) as the module docstring says; returns the log file,
    or None when it cannot be written. Calling it again changes nothing, unless the folder or the
    sizes differ: then the log moves there."""
    folder = Path(folder) if folder is not None else log_folder()
    root = logging.getLogger()
    current = _State.file_handler
    if current is not None and (Path(current.baseFilename) != (folder / LOG_NAME).absolute()
                                or current.maxBytes != max_bytes or current.backupCount != backups):
        root.removeHandler(current)
        current.close()
        _State.file_handler = current = None
    if current is None:
        _State.file_handler = _open_file(folder, max_bytes, backups)
        if _State.file_handler is not None:
            root.addHandler(_State.file_handler)
    if _State.stderr_handler is None:
        _State.stderr_handler = logging.StreamHandler(sys.stderr)
        _State.stderr_handler.setLevel(logging.WARNING)
        _State.stderr_handler.setFormatter(logging.Formatter("draw-gui: %(levelname)s %(name)s: %(message)s"))
        _State.stderr_handler.addFilter(_NotOnStderr())
        root.addHandler(_State.stderr_handler)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not logging.NOTSET < logger.level <= logging.INFO:   # a DEBUG level set on purpose stays
            logger.setLevel(logging.INFO)
    logging.captureWarnings(True)
    if _State.previous_excepthook is None:
        _State.previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        _State.previous_threading_hook = threading.excepthook
        threading.excepthook = _threading_excepthook
    _install_qt_handler()
    if _State.file_handler is not None and current is None:
        from draw_gui import __version__
        log.info("draw-gui %s started: Python %s on %s", __version__, sys.version.split()[0], sys.platform)
    return log_file()


def teardown_logging() -> None:
    """Undo setup_logging (for tests): the handlers closed, the hooks as they were."""
    root = logging.getLogger()
    for attr in ("file_handler", "stderr_handler"):
        handler = getattr(_State, attr)
        if handler is not None:
            root.removeHandler(handler)
            handler.close()
            setattr(_State, attr, None)
    logging.captureWarnings(False)
    if _State.previous_excepthook is not None:
        sys.excepthook, _State.previous_excepthook = _State.previous_excepthook, None
        threading.excepthook, _State.previous_threading_hook = _State.previous_threading_hook, None
    _uninstall_qt_handler()


def _excepthook(kind, value, tb) -> None:
    """An exception nobody caught (in a Qt slot, it does not end the window): logged with its
    traceback, then handed to the hook there was before (Python's prints it on stderr)."""
    if not issubclass(kind, KeyboardInterrupt):
        logging.getLogger(UNCAUGHT).error("uncaught %s: %s", kind.__name__, value, exc_info=(kind, value, tb))
    (_State.previous_excepthook or sys.__excepthook__)(kind, value, tb)


def _threading_excepthook(args) -> None:
    if args.exc_type is not SystemExit:
        name = args.thread.name if args.thread is not None else "?"
        logging.getLogger(UNCAUGHT).error("uncaught %s in thread %s: %s", args.exc_type.__name__, name,
                                          args.exc_value, exc_info=(args.exc_type, args.exc_value,
                                                                    args.exc_traceback))
    (_State.previous_threading_hook or threading.__excepthook__)(args)


def _install_qt_handler() -> None:
    """Qt's warnings and errors (qWarning, qCritical: a missing plugin, a bad font...) go to the
    "draw_gui.qt" logger instead of straight to stderr."""
    if _State.qt_installed:
        return
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}
    qt_log = logging.getLogger("draw_gui.qt")

    def handler(mode, context, message):
        try:
            where = f" ({context.category})" if context is not None and context.category not in (None, "", "default") else ""
        except Exception:   # noqa: BLE001 - a message must never raise inside Qt
            where = ""
        qt_log.log(levels.get(mode, logging.WARNING), "%s%s", message, where)

    _State.qt_handler = handler
    _State.previous_qt_handler = qInstallMessageHandler(handler)
    if not _State.qt_installed_once:   # Qt's last messages at exit must not call into a finished Python
        atexit.register(_uninstall_qt_handler)
        _State.qt_installed_once = True
    _State.qt_installed = True


def _uninstall_qt_handler() -> None:
    if _State.qt_installed:
        from PySide6.QtCore import qInstallMessageHandler
        qInstallMessageHandler(_State.previous_qt_handler)
        _State.qt_installed, _State.previous_qt_handler, _State.qt_handler = False, None, None


def open_log_folder() -> bool:
    """Show the log folder in the file manager (made first if it is not there yet); False if the
    desktop could not open it."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices
    folder = log_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        log.warning("cannot make the log folder %s: %s", folder, e)
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
