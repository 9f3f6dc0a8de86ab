"""Where the window keeps the runs it trains: one folder per run under the runs root."""
from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

RUNS_DIR_VARIABLE = "DRAW_GUI_RUNS_DIR"


def runs_root() -> Path:
    """$DRAW_GUI_RUNS_DIR if set, else <the platformdirs user data folder>/runs."""
    override = os.environ.get(RUNS_DIR_VARIABLE)
    if override:
        return Path(override).expanduser()
    import platformdirs
    return Path(platformdirs.user_data_dir("draw-gui")) / "runs"


def _slug(text: str) -> str:
    """A file-name-safe word: letters, digits, '.' and '-' (anything else becomes '-')."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-.") or "run"


def new_run_folder(dataset: str, attention: str, root: str | os.PathLike | None = None,
                   now: datetime.datetime | None = None) -> Path:
    """root/YYYY-MM-DD_HHMM_<dataset>_<attention> (then _2, _3, ... if taken), not yet created:
    the caller creates it."""
    root = runs_root() if root is None else Path(root)
    stamp = (now or datetime.datetime.now()).strftime("%Y-%m-%d_%H%M")
    base = root / f"{stamp}_{_slug(dataset)}_{_slug(attention)}"
    folder, n = base, 1
    while os.path.lexists(folder):   # a dangling link of that name is taken too
        n += 1
        folder = base.with_name(f"{base.name}_{n}")
    return folder
