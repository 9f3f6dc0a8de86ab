"""What the window remembers between launches, in the platformdirs config folder.

One JSON file, written atomically; a damaged file is set aside, never fatal.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

MAX_RECENT = 8


def config_dir() -> Path:
    """$DRAW_GUI_CONFIG_DIR, else the platform's config folder (~/.config/draw-gui on Linux)."""
    env = os.environ.get("DRAW_GUI_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs
    return Path(platformdirs.user_config_dir("draw-gui"))


class Settings:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else config_dir() / "settings.json"
        self.data: dict = {}
        self.problem: str | None = None  # shown to the user once if the file was unreadable
        try:
            self.data = json.loads(self.path.read_text())
            if not isinstance(self.data, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            self.data = {}
        except (OSError, ValueError) as e:
            self.data = {}
            self.problem = f"Your settings file {self.path} could not be read ({e}); defaults are used."

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    def set(self, key: str, value) -> None:
        self.data[key] = value

    def add_recent(self, path: str) -> list[str]:
        recent = [p for p in self.data.get("recent", []) if p != path]
        self.data["recent"] = ([path] + recent)[:MAX_RECENT]
        return self.data["recent"]

    def save(self) -> None:
        """Atomic write; an unwritable config folder must not stop the app from closing."""
        from core.files import atomic_write_bytes
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(self.data, indent=1).encode())
        except OSError as e:
            self.problem = f"Settings could not be saved to {self.path}: {e.strerror or e}"
