"""What every subcommand shares: the two user-facing errors, argument types, opening the window.

Subcommand modules import from here, never from cli.main (which imports them): no cycle.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.background_compile import AUTO_COMPILE_STEPS  # noqa: F401  (re-exported: cli.main's help, cli.train)

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one message, exit code 2."""


class NoDisplay(Exception):
    """The window cannot open here: printed as one message, exit code 1."""


WINDOWLESS_PLATFORMS = ("offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb")


def display_problem(environ=None) -> str | None:
    """Why no window can open on this machine (None when one can). Qt itself would abort with
    exit code 134 and the advice to reinstall the application, which is wrong."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    if env.get("QT_QPA_PLATFORM", "").split(":")[0] in WINDOWLESS_PLATFORMS:
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set: an ssh session "
            "or a server?). Without one the command line works: draw-gui train, sample, eval, models, "
            "compare --table, and compare --save PNG renders the Compare tab to a file")


def open_window(**kwargs) -> int:
    """The window (draw_gui.app.run_app), or NoDisplay when there is no screen to show it on."""
    problem = display_problem()
    if problem:
        raise NoDisplay(problem)
    from draw_gui.app import run_app
    return run_app(**kwargs)


def bool_arg(text: str) -> bool:
    v = str(text).strip().lower()
    if v in ("1", "true", "yes", "on", "y", "t"):
        return True
    if v in ("0", "false", "no", "off", "n", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def whole_number(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {v}")
    return v


def count(text: str) -> int:
    """A whole number of at least 1 (sizes, counts, images per row)."""
    v = whole_number(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {v}")
    return v


def seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return v


def checkpoint_arg(text: str, option: str = "") -> Path:
    """A checkpoint typed by the user: a file, or a shipped model's name; UsageError if neither."""
    from draw_gui.models.shipped import checkpoint_or_model, names
    path = checkpoint_or_model(text)
    if not path.exists():
        raise UsageError(f"{option + ' ' if option else ''}{text}: no such checkpoint file, and no shipped model "
                         f"of that name (shipped: {names()}; `draw-gui models` lists them)")
    return path


