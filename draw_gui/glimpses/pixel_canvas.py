"""The glimpse viewer's canvas: one QImage (the rendered panel) scaled up as far as the widget
allows, aspect ratio kept and pixels left sharp, on black; a placeholder text while there is none.

Unlike latent_pad.PixelImage it may scale by any factor: the panel is already rendered at the
largest whole zoom that fits, so this only fills the rest of the space. A double-click opens the
image larger in a window of its own.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from draw_gui.widgets import enlarge


class PixelCanvas(QWidget):
    """Shows one QImage as large as fits, keeping its aspect ratio, pixels kept crisp."""

    resized = Signal()

    def __init__(self, placeholder: str, parent=None):
        super().__init__(parent)
        self._image = QImage()
        self._placeholder = placeholder          # shown while there is no image
        self.title = "Glimpses"                  # the enlarged window's title
        self.setMinimumSize(120, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)   # a click gives the view the arrow keys
        self.setToolTip("")
        self.describe()

    def set_placeholder(self, text: str) -> None:
        """What the canvas says while it has no image."""
        self._placeholder = text
        self.update()

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()
        enlarge.follow(self, image, self.title)
        self.describe()

    def describe(self, description: str | None = None) -> None:
        """Accessible name (the title) and description: `description`, else the image's size, or
        the placeholder while there is none."""
        self.setAccessibleName(self.title)
        if description is None:
            description = self._placeholder if self._image.isNull() else \
                f"image of {self._image.width()}×{self._image.height()} pixels"
        self.setAccessibleDescription(description)

    def image(self) -> QImage:
        return self._image

    def setToolTip(self, tip: str) -> None:
        """Callers say what the image is; the tip adds how to see it larger."""
        super().setToolTip(enlarge.with_hint(tip))

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            enlarge.enlarge(self, self._image, self.title)

    def sizeHint(self) -> QSize:
        return QSize(640, 240)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image.isNull():
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            return
        # Nearest neighbour (no SmoothPixmapTransform, i.e. Qt.FastTransformation): MNIST pixels
        # and 1-pixel box outlines must stay sharp.
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect((self.width() - size.width()) // 2, (self.height() - size.height()) // 2,
                       size.width(), size.height())
        painter.drawImage(target, self._image)
