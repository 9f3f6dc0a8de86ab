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


KNOWN_RUNS = "known_runs.txt"   # in runs_root(): run folders written elsewhere, one per line


def remember_run_folder(folder: str | os.PathLike, root: str | os.PathLike | None = None) -> None:
    """List a run folder outside the runs root in the Runs tab: `draw-gui train --out DIR` and the
    window call this for every run they write. One appended line (atomic for a line this short,
    so two processes may remember at once); a folder under the root is listed anyway."""
    root = runs_root() if root is None else Path(root)
    folder = Path(folder).expanduser().resolve()
    if folder.parent == root.resolve() or str(folder) in remembered_run_folders(root):
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(root / KNOWN_RUNS, "a", encoding="utf-8") as fh:
            fh.write(str(folder) + "\n")
    except OSError:
        pass  # the Runs tab is a convenience: never a reason for a run to fail


def remembered_run_folders(root: str | os.PathLike | None = None) -> list[str]:
    """The folders remember_run_folder listed, newest first, each once (gone ones included:
    the Runs list skips those)."""
    root = runs_root() if root is None else Path(root)
    try:
        lines = (root / KNOWN_RUNS).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return list(dict.fromkeys(line for line in reversed(lines) if line.strip()))
