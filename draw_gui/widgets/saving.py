"""Save what is on screen as PNG or GIF: one dialog that remembers its folder (default: the
user's pictures folder), atomic writes, and a clear message when a save fails.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

FILTERS = {"png": "PNG image (*.png)", "gif": "Animated GIF (*.gif)"}


def pictures_dir() -> Path:
    import platformdirs
    try:
        return Path(platformdirs.user_pictures_dir())
    except Exception:  # noqa: BLE001 - some desktops have none
        return Path.home()


def ask_save_path(parent: QWidget, settings, kind: str, suggested_name: str) -> Path | None:
    """The save dialog, starting in the folder the user saved to last."""
    folder = Path(settings.get("export_dir") or pictures_dir()) if settings is not None else pictures_dir()
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
    return path


def save_gif(parent: QWidget, settings, frames: list, suggested_name: str, frame_ms: int = 80,
             loop: int | None = 0) -> Path | None:
    """frames: PIL images of one size. loop 0 repeats forever, None plays once."""
    from core.export import save_frames_gif
    path = ask_save_path(parent, settings, "gif", suggested_name)
    if path is None:
        return None
    try:
        save_frames_gif(frames, path, frame_ms=frame_ms, loop=loop)
    except OSError as e:
        _report(parent, path, e)
        return None
    return path
