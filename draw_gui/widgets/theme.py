"""Colours that follow the system's light or dark scheme.

Plots, banners and warnings take their colours from the application palette (QApplication.palette(),
which Qt keeps in step with the system's colour scheme) rather than fixed dark-theme colours, and
restyle themselves when it changes: widgets get QEvent.ApplicationPaletteChange / PaletteChange
(restyles() says which), so a switch of the system scheme while the app runs restyles them too.
The glimpse images themselves stay grey on black: they are data, not decoration.
"""
from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QLabel

# (background, text) of the window's banners, for a dark and a light scheme; both pairs > 7:1.
_BANNERS = {"warning": {True: ("#5a4a10", "#ffe9a8"), False: ("#fff0c0", "#4a3800")},   # the window's own notes
            "follow": {True: ("#1d3b57", "#d6ecff"), False: ("#dcecfb", "#0d2a45")}}    # a followed run's
# Amber text ("is the run still going?", a run that could not be read): bright on dark, dark on light.
_WARNING = {True: "#ffb000", False: "#8a5300"}


def palette() -> QPalette:
    """The application's palette (a default one before there is an application)."""
    return QGuiApplication.palette() if QGuiApplication.instance() is not None else QPalette()


def is_dark(pal: QPalette | None = None) -> bool:
    """Whether `pal` (default: the application's) is a dark scheme: its window colour is dark."""
    return (pal or palette()).color(QPalette.ColorRole.Window).lightness() < 128


def restyles(event) -> bool:
    """Whether `event` (a changeEvent's) means the colours to follow may have changed."""
    return event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange,
                            QEvent.Type.StyleChange)


def luminance(colour) -> float:
    """WCAG relative luminance of a QColor (or anything QColor takes)."""
    c = QColor(colour)

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours, 1 (none) .. 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def banner_colours(kind: str, pal: QPalette | None = None) -> tuple[QColor, QColor]:
    """(background, text) of a banner of `kind` ("warning" or "follow") for `pal`'s scheme."""
    background, text = _BANNERS[kind][is_dark(pal)]
    return QColor(background), QColor(text)


def warning_colour(pal: QPalette | None = None) -> QColor:
    """Amber warning text, readable on `pal`'s window and base colours."""
    return QColor(_WARNING[is_dark(pal)])


class PlotColours(NamedTuple):
    background: QColor     # the plot's area: the palette's base (where text is edited)
    foreground: QColor     # axes, ticks and their labels: the palette's text
    faint: QColor          # the hover cursor line: between the two
    dark: bool


def plot_colours(pal: QPalette | None = None) -> PlotColours:
    pal = pal or palette()
    background = QColor(pal.color(QPalette.ColorRole.Base))
    foreground = QColor(pal.color(QPalette.ColorRole.Text))
    if contrast(background, foreground) < 4.5:     # a palette that does not set its text colour well
        foreground = QColor("white") if luminance(background) < 0.18 else QColor("black")
    faint = QColor((background.red() + foreground.red()) // 2, (background.green() + foreground.green()) // 2,
                   (background.blue() + foreground.blue()) // 2)
    return PlotColours(background, foreground, faint, is_dark(pal))


def style_plot(widget, colours: PlotColours | None = None) -> PlotColours:
    """Give a pyqtgraph PlotWidget the palette's background and its axes the palette's text colour."""
    import pyqtgraph as pg
    colours = colours or plot_colours()
    widget.setBackground(colours.background)
    for side in ("left", "bottom", "right", "top"):
        axis = widget.getPlotItem().getAxis(side)
        axis.setPen(pg.mkPen(colours.foreground))
        axis.setTextPen(pg.mkPen(colours.foreground))
    return colours


def _set_colour(widget, role: QPalette.ColorRole, colour: QColor) -> None:
    """Set one role of a widget's own palette (it is set again at every change of scheme).
    A palette rather than a style sheet: a widget with a style sheet hears of no palette change."""
    pal = widget.palette()
    if pal.color(role) != colour:
        pal.setColor(role, colour)
        widget.setPalette(pal)


class WarningLabel(QLabel):
    """A label whose text is the scheme's warning amber while warning() (default: always), and
    follows a change of scheme. bold: the warning text is bold too."""

    def __init__(self, text: str = "", parent=None, warning: bool = True, bold: bool = False,
                 name: str = "status"):
        super().__init__(text, parent)
        self._warning, self._bold, self._name = warning, bold, name
        self._restyle()
        self.setText(text)

    def setText(self, text: str) -> None:
        """The accessible name is the text (`name` while there is none)."""
        super().setText(text)
        self.setAccessibleName(text or self._name)

    def warning(self) -> bool:
        return self._warning

    def set_warning(self, on: bool) -> None:
        if bool(on) != self._warning:
            self._warning = bool(on)
            self._restyle()

    def _restyle(self) -> None:
        _set_colour(self, QPalette.ColorRole.WindowText, warning_colour() if self._warning
                    else palette().color(QPalette.ColorRole.WindowText))
        font = self.font()
        if font.bold() != (self._bold and self._warning):
            font.setBold(self._bold and self._warning)
            self.setFont(font)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if restyles(event):
            self._restyle()


class Banner(QLabel):
    """A strip across the window with a note: a "warning" (the window's own notes) or "follow"
    (a followed run's status) banner, in colours of the current scheme (a change restyles it)."""

    def __init__(self, kind: str = "warning", parent=None):
        super().__init__(parent)
        self._kind = kind
        self.setWordWrap(True)
        self.setMargin(6)
        self.setAutoFillBackground(True)
        self._restyle()
        self.setText("")

    def setText(self, text: str) -> None:
        """The accessible name is the text ("warning" or "run status" while there is none)."""
        super().setText(text)
        self.setAccessibleName(text or self._kind_name())

    def _kind_name(self) -> str:
        return "warning" if self._kind == "warning" else "run status"

    def kind(self) -> str:
        return self._kind

    def set_kind(self, kind: str) -> None:
        if kind not in _BANNERS:
            raise ValueError(f"unknown banner kind {kind!r}")
        if kind != self._kind:
            self._kind = kind
            self._restyle()

    def colours(self) -> tuple[QColor, QColor]:
        """(background, text) as shown now."""
        pal = self.palette()
        return QColor(pal.color(QPalette.ColorRole.Window)), QColor(pal.color(QPalette.ColorRole.WindowText))

    def _restyle(self) -> None:
        background, text = banner_colours(self._kind)
        _set_colour(self, QPalette.ColorRole.Window, background)
        _set_colour(self, QPalette.ColorRole.WindowText, text)
        if not self.text():
            self.setAccessibleName(self._kind_name())

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if restyles(event):
            self._restyle()
