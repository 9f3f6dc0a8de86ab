"""A row of controls that wraps onto more lines when its space is narrow.

Qt's QHBoxLayout asks for the width of all its widgets side by side, so one long row of check
boxes and buttons sets the window's minimum width (at 1024×768 with the Run panel open the rows
of the Glimpses tab, the loss plot and the Runs list pushed the window off the screen). A
FlowLayout lays its items left to right and starts a new line when the next one does not fit:
its minimum width is that of its widest item, and it reports the height it needs for a width
(heightForWidth), so the layouts around it give it a second line when it wraps.

A stretch (add_stretch) pushes the items after it to the right end of their line, as
QHBoxLayout.addStretch does; when the row wraps they start the next line on the left.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QSpacerItem, QWidget


class FlowLayout(QLayout):
    """Items left to right, wrapping onto new lines; add_stretch() right-aligns what follows."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch_at: int | None = None    # index of the first item pushed to the right
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    # ---- building --------------------------------------------------------------------------------
    def add_widgets(self, *widgets: QWidget) -> FlowLayout:
        for widget in widgets:
            self.addWidget(widget)
        return self

    def add_spacing(self, pixels: int) -> None:
        self.addItem(QSpacerItem(pixels, 0, QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Minimum))

    def add_stretch(self) -> None:
        self._stretch_at = len(self._items)

    # ---- QLayout ---------------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        if not 0 <= index < len(self._items):
            return None
        if self._stretch_at is not None and index < self._stretch_at:
            self._stretch_at -= 1
        return self._items.pop(index)

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._lay_out(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._lay_out(rect, move=True)

    def sizeHint(self) -> QSize:
        """Everything on one line."""
        shown = self._shown()
        margins = self.contentsMargins()
        width = sum(item.sizeHint().width() for item in shown) + self._spacing * max(len(shown) - 1, 0)
        height = max((item.sizeHint().height() for item in shown), default=0)
        return QSize(width + margins.left() + margins.right(), height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:
        """As narrow as the widest item: the rest wraps."""
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    # ---- placing ---------------------------------------------------------------------------------
    def _shown(self) -> list[QLayoutItem]:
        return [item for item in self._items if not (item.widget() and item.widget().isHidden())]

    def _lay_out(self, rect: QRect, move: bool) -> int:
        """Place the items in lines within rect (when move); return the height they need."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        lines: list[list[tuple[QLayoutItem, QSize, bool]]] = [[]]
        x = 0
        for index, item in enumerate(self._items):
            if item.widget() is not None and item.widget().isHidden():
                continue
            size = item.sizeHint().boundedTo(QSize(area.width(), item.sizeHint().height())) \
                .expandedTo(item.minimumSize())
            line = lines[-1]
            if line and x + self._spacing + size.width() > area.width():
                lines.append([])
                line, x = lines[-1], 0
            elif line:
                x += self._spacing
            right = self._stretch_at is not None and index >= self._stretch_at
            line.append((item, size, right))
            x += size.width()
        y = area.top()
        for line in lines:
            if not line:
                continue
            height = max(size.height() for _, size, _ in line)
            if move:
                self._place_line(line, area, y, height)
            y += height + self._spacing
        return y - self._spacing - area.top() + margins.top() + margins.bottom() if lines[0] else 0

    def _place_line(self, line, area: QRect, y: int, height: int) -> None:
        left = [entry for entry in line if not entry[2]]
        right = [entry for entry in line if entry[2]]
        x = area.left()
        for item, size, _ in left:
            item.setGeometry(QRect(QPoint(x, y + (height - size.height()) // 2), size))
            x += size.width() + self._spacing
        if right:   # the stretch: these end at the right edge
            width = sum(size.width() for _, size, _ in right) + self._spacing * (len(right) - 1)
            x = max(x, area.right() + 1 - width)
            for item, size, _ in right:
                item.setGeometry(QRect(QPoint(x, y + (height - size.height()) // 2), size))
                x += size.width() + self._spacing
