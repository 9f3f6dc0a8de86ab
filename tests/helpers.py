"""Small helpers several test files share: a widget on the (offscreen) screen, a window's dialogs
recorded instead of shown, an image folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def shown(qtbot, widget, width: int, height: int):
    """`widget` resized to width x height, shown and exposed; qtbot closes it after the test."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def record_dialogs(monkeypatch, window, dialogs: list, answer=None) -> None:
    """The window's modal dialogs (MainWindow._exec) would block a test: each is recorded in
    `dialogs` as (title, text) and answered answer() (default: Discard / OK) instead."""
    from PySide6.QtWidgets import QMessageBox
    reply = answer or (lambda: QMessageBox.Discard)
    monkeypatch.setattr(window, "_exec", lambda box: (dialogs.append((box.windowTitle(), box.text())), reply())[1])


def square_folder(root: Path, n: int = 40, size: int = 32, square: int = 10, margin: int = 2) -> Path:
    """n grey size x size PNGs of a white square at a random place at least `margin` pixels from the
    top left: a 'folder' dataset (40 images: 36 train / 4 test). The same seed every time."""
    from PIL import Image
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        a = np.zeros((size, size), np.uint8)
        y, x = rng.integers(margin, size - square - margin, size=2)
        a[y:y + square, x:x + square] = 255
        Image.fromarray(a, mode="L").save(root / f"img_{i:02d}.png")
    return root
