"""The KL of each glimpse as a bar chart under a glimpse viewer, glimpse t highlighted.

KL(Q(z_t | h_t^enc) ‖ P(z_t)) per glimpse says how much each latent tells the decoder; the bar of
the glimpse shown is amber with a line through it, and a click on the chart asks for that glimpse.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from draw_gui.widgets.theme import restyles, style_plot

KL_BAR = (110, 110, 110)
KL_HIGHLIGHT = (255, 190, 0)      # amber: green and red are taken by the read and write boxes


class KLBars(pg.PlotWidget):
    """Bars of kl_steps at x = 1..T; hidden while there are none."""

    glimpse_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._t = 1
        self.sparse_ticks = False  # only 0 and the top on the KL axis (a short chart)
        self.setFixedHeight(130)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setLabel("bottom", "glimpse t")
        self.setLabel("left", "KL (nats)")
        self.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" reads as a unit, not a scale
        self.setToolTip("<p>KL(Q(z<sub>t</sub> | h<sub>t</sub><sup>enc</sup>) ‖ P(z<sub>t</sub>)) "
                        "of each glimpse t in nats, mean over the batch: how much the t-th latent "
                        "z<sub>t</sub> tells the decoder. Click a bar to go to that glimpse.</p>")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, pen=None, brush=KL_BAR)
        self.addItem(self.bars)
        # A line as well as the bar colour: late glimpses' KL bars are often too low to see.
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen(KL_HIGHLIGHT, width=1))
        self.addItem(self.marker)
        self.scene().sigMouseClicked.connect(self._on_clicked)
        self.setAccessibleName("KL per glimpse")
        self.setAccessibleDescription("a bar chart of the KL of each glimpse's latent in nats; "
                                      "the bar of the glimpse shown is highlighted")
        style_plot(self)     # the application palette's light or dark scheme (the bars keep theirs)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if restyles(event) and hasattr(self, "marker"):   # the system's colour scheme changed
            style_plot(self)

    def set_kl(self, kl, t: int) -> None:
        """The KL of every glimpse (None: hide the chart), glimpse t highlighted."""
        self._t = t
        self.setVisible(kl is not None)
        if kl is None:
            self.bars.setOpts(x=[], height=[], brushes=[])
            return
        kl = np.asarray(kl, dtype=np.float64).ravel()
        self.bars.setOpts(x=np.arange(1, len(kl) + 1), height=kl, brushes=self._brushes(len(kl)))
        self.setAccessibleDescription("KL in nats of glimpses 1 to {}: {}".format(
            len(kl), ", ".join(f"{v:.2g}" for v in kl[:64])))
        self.setXRange(0.5, len(kl) + 0.5, padding=0)
        self.marker.setValue(t)
        if self.sparse_ticks:
            top = float(np.nanmax(kl)) if len(kl) and np.isfinite(kl).any() else 0.0
            self.getAxis("left").setTicks([[(0.0, "0"), (top, f"{top:.2g}")] if top > 0 else [(0.0, "0")], []])

    def highlight(self, t: int) -> None:
        self._t = t
        self.marker.setValue(t)
        self.bars.setOpts(brushes=self._brushes(len(self.bars.opts["height"])))

    def _brushes(self, count: int) -> list:
        brushes = [pg.mkBrush(KL_BAR)] * count
        if 1 <= self._t <= count:
            brushes[self._t - 1] = pg.mkBrush(KL_HIGHLIGHT)
        return brushes

    def _on_clicked(self, event) -> None:
        view_box = self.getPlotItem().getViewBox()
        if view_box.sceneBoundingRect().contains(event.scenePos()):
            self.glimpse_clicked.emit(round(view_box.mapSceneToView(event.scenePos()).x()))
