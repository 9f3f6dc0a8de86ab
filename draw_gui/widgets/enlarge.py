"""One image opened large in a window of its own: a 28-pixel digit is 20 screen pixels in a
crowded tab, and a double-click should show it as large as the screen reads it.

The window belongs to the widget it enlarges (a Qt child with the Window flag): there is at most
one per source, it closes with the source, and the source keeps it up to date through
follow() while it is open.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtGui import Qt as GuiQt     # QtGui's Qt namespace has mightBeRichText
from PySide6.QtWidgets import QWidget

HINT = "Double-click to enlarge"
SCREEN_SHARE = 0.8                  # the first size: this share of the screen's available height


def with_hint(tip: str) -> str:
    """`tip` with a line saying how to enlarge the image; rich text stays rich, plain stays plain."""
    if not tip:
        return HINT
    if GuiQt.mightBeRichText(tip):
        return f"{tip}<p><i>{HINT}.</i></p>"
    return f"{tip} ({HINT.lower()})"


class EnlargedImage(QWidget):
    """One QImage as large as the window, aspect kept, pixels crisp, on black; Escape closes it."""

    def __init__(self, image: QImage, title: str, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self._image = QImage()
        self.setMinimumSize(100, 100)
        self.set_image(image, title)
        self.resize(self._first_size())

    def set_image(self, image: QImage, title: str | None = None) -> None:
        # A copy: a source may hand over a QImage that borrows a buffer it frees on its next frame.
        self._image = image.copy()
        if title is not None:
            self.setWindowTitle(title)
            self.setAccessibleName(title)
        self.setAccessibleDescription(f"image of {self._image.width()}×{self._image.height()} pixels, enlarged")
        self.update()

    def image(self) -> QImage:
        return self._image

    def _first_size(self) -> QSize:
        """About 80% of the screen's height, the image's shape, never larger than the screen."""
        available = self.screen().availableGeometry()
        size = self._image.size() if not self._image.isNull() else QSize(1, 1)
        box = QSize(available.width(), round(available.height() * SCREEN_SHARE))
        return size.scaled(box, Qt.AspectRatioMode.KeepAspectRatio).expandedTo(self.minimumSize())

    def target(self) -> QRectF:
        """Where the image is drawn in widget coordinates: as large as fits, centred."""
        if self._image.isNull():
            return QRectF()
        size = self._image.size().toSizeF().scaled(self.size().toSizeF(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRectF((self.width() - size.width()) / 2, (self.height() - size.height()) / 2,
                      size.width(), size.height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if not self._image.isNull():
            target = self.target()
            # Nearest neighbour when enlarging (MNIST pixels and 1-pixel boxes stay sharp); only
            # an image larger than the window is smoothed, so that no row of pixels drops out.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, target.width() < self._image.width())
            painter.drawImage(target, self._image)
        painter.end()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
        else:
            super().keyPressEvent(event)


def enlarged(source: QWidget) -> EnlargedImage | None:
    """The window showing `source`'s image large, if one is open."""
    window = source.findChild(EnlargedImage, options=Qt.FindChildOption.FindDirectChildrenOnly)
    return window if window is not None and window.isVisible() else None


def enlarge(source: QWidget, image: QImage, title: str) -> EnlargedImage | None:
    """Open `image` large for `source`, or raise the window already open for it; None without an image."""
    if image.isNull():
        return None
    window = source.findChild(EnlargedImage, options=Qt.FindChildOption.FindDirectChildrenOnly)
    if window is None:
        window = EnlargedImage(image, title, source)
        frame = window.frameGeometry()     # first shown over the middle of the screen
        frame.moveCenter(source.screen().availableGeometry().center())
        window.move(frame.topLeft())
    else:                                  # a closed one comes back at the size the user left it
        window.set_image(image, title)
    window.show()
    window.raise_()
    window.activateWindow()
    return window


def follow(source: QWidget, image: QImage, title: str) -> None:
    """The source's image changed: show the new one in its open window (costs nothing when closed)."""
    window = enlarged(source)
    if window is not None:
        window.set_image(image, title)
