"""Render resources/icon.svg into resources/icons/draw-gui-<N>.png (16 to 256 px).

Run from the repository root: `.venv/bin/python scripts/make_icons.py`. Needs PySide6's QtSvg.
"""
import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256)
ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (QPainter wants one)
    renderer = QSvgRenderer(str(ROOT / "resources" / "icon.svg"))
    if not renderer.isValid():
        print("resources/icon.svg is not a valid SVG", file=sys.stderr)
        return 1
    out = ROOT / "resources" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for n in SIZES:
        image = QImage(n, n, QImage.Format_ARGB32_Premultiplied)
        image.fill(Qt.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = out / f"draw-gui-{n}.png"
        image.save(str(path))
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
