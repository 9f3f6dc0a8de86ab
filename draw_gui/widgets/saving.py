"""Save what is on screen as PNG or GIF: one dialog that remembers its folder (default: the
user's pictures folder, or the home folder where there is none), atomic writes, a clear message
when a save fails and a "saved <path>" line in the window's status bar when it succeeds.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

FILTERS = {"png": "PNG image (*.png)", "gif": "Animated GIF (*.gif)"}
SAVED_MESSAGE_MS = 8000             # how long "saved <path>" stays in the status bar


def pictures_dir() -> Path:
    """The user's pictures folder where it exists, else the home folder (never the folder the
    app was launched from: a dialog there looks like a random place)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    if location and Path(location).is_dir():
        return Path(location)
    return Path.home()


def _start_folder(settings) -> Path:
    """The folder saved to last, if it still exists; else pictures_dir()."""
    last = settings.get("export_dir") if settings is not None else None
    if last and Path(last).is_dir():
        return Path(last)
    return pictures_dir()


def ask_save_path(parent: QWidget, settings, kind: str, suggested_name: str) -> Path | None:
    """The save dialog, starting in the folder the user saved to last."""
    folder = _start_folder(settings)
    name = suggested_name if suggested_name.endswith(f".{kind}") else f"{suggested_name}.{kind}"
    path, _ = QFileDialog.getSaveFileName(parent, f"Save {kind.upper()}", str(folder / name), FILTERS[kind])
    if not path:
        return None
    path = Path(path)
    if path.suffix.lower() != f".{kind}":
        path = path.with_name(path.name + f".{kind}")
    if settings is not None:
        settings.set("export_dir", str(path.parent))
    return path


def _report(parent: QWidget, path: Path, error: OSError) -> None:
    message = (f"Could not save {path}: {error.strerror or error}. Nothing was written there; "
               "choose another folder or free some space.")
    show = getattr(parent.window(), "show_error", None)
    if show is not None:
        show("Could not save", message)
    else:
        QMessageBox.warning(parent, "Could not save", message)


def _confirm(parent: QWidget, path: Path) -> None:
    """Tell the user where the file went: the window's status bar, where it has one."""
    window = parent.window()
    status_bar = getattr(window, "statusBar", None)
    if callable(status_bar):
        status_bar().showMessage(f"saved {path}", SAVED_MESSAGE_MS)


def save_png(parent: QWidget, settings, image, suggested_name: str) -> Path | None:
    """image: a PIL image. Returns the written path, or None (cancelled or failed, with a message)."""
    from core.files import atomic_path
    path = ask_save_path(parent, settings, "png", suggested_name)
    if path is None:
        return None
    try:
        with atomic_path(path) as tmp:
            image.save(tmp, format="PNG")
    except OSError as e:
        _report(parent, path, e)
        return None
    _confirm(parent, path)
    return path


def save_gif(parent: QWidget, settings, frames: list, suggested_name: str, frame_ms: int = 80,
             loop: int | None = 0, box_palette: str | None = None) -> Path | None:
    """frames: PIL images of one size. loop 0 repeats forever, None plays once. box_palette: the
    box colours the frames were drawn with (core.export.BOX_PALETTES), kept exact in the GIF."""
    from core.export import reserved_colours, save_frames_gif
    path = ask_save_path(parent, settings, "gif", suggested_name)
    if path is None:
        return None
    try:
        save_frames_gif(frames, path, frame_ms=frame_ms, loop=loop,
                        reserved_colours=reserved_colours(box_palette))
    except OSError as e:
        _report(parent, path, e)
        return None
    _confirm(parent, path)
    return path
