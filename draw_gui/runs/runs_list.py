"""The Runs list: one row per run folder (name, data and model, step, best test bound, status, last
update) and what can be done with the selected run.

It shows what core.run_index reads and reports the user's choice as a signal carrying the run
folder's path; the window acts on it. It holds no training state and never deletes a file.
While shown it rescans its folders every few seconds (run.json and eval.csv only).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QEvent, QTimer, QUrl, Qt, Signal
from PySide6.QtGui import QAction, QDesktopServices, QFont
from PySide6.QtWidgets import (QAbstractItemView, QLabel, QStackedWidget, QStyle, QToolButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from core.run_index import RunSummary, Status, list_runs
from draw_gui.widgets.flow import FlowLayout
from draw_gui.widgets.theme import restyles, warning_colour

COLUMNS = ("Name", "Data / model", "Step", "Best test NLL", "Status", "Updated")
STATUS_COLUMN = COLUMNS.index("Status")
DATA_COLUMN = COLUMNS.index("Data / model")
# The long columns, and how narrow they may get, elided in the middle (2026-11…_gaussian), so that
# the step, best NLL, status and age stay whole on a narrow tab rather than behind a scroll bar
SHRINKABLE = {COLUMNS.index("Name"): 80, DATA_COLUMN: 80}
CONTINUE_TIP = "Train this run further from its checkpoint"
EMPTY_TEXT = "No runs yet: runs you train in the window or with `draw-gui train` appear here"
PATH_ROLE = Qt.ItemDataRole.UserRole


def reveal_folder(path: str) -> None:
    """Open `path` in the system's file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def ago(seconds: float) -> str:
    """'just now', '42 s ago', '5 min ago', '3 h ago', '2 days ago'."""
    s = max(0.0, seconds)
    if s < 10:
        return "just now"
    if s < 60:
        return f"{s:.0f} s ago"
    if s < 3600:
        return f"{s // 60:.0f} min ago"
    if s < 86400:
        return f"{s // 3600:.0f} h ago"
    days = int(s // 86400)
    return "1 day ago" if days == 1 else f"{days} days ago"


def status_text(run: RunSummary) -> str:
    if run.status is Status.INTERRUPTED:
        return "interrupted (can continue)" if run.has_checkpoint else "interrupted"
    return "—" if run.status is Status.UNKNOWN else run.status.value


def _key(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(path))


class RunsList(QWidget):
    """The runs under `roots` plus the `remembered` folders, newest first, less the `hidden` ones.
    opener(path) reveals a folder (tests replace it)."""

    open_requested = Signal(str)
    continue_requested = Signal(str)
    compare_requested = Signal(str)
    follow_requested = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, roots: Iterable[str | os.PathLike] = (), remembered: Iterable[str | os.PathLike] = (),
                 hidden: Iterable[str | os.PathLike] = (), opener: Callable[[str], object] | None = None,
                 poll_ms: int = 3000, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("runs")
        self.opener = opener or reveal_folder
        self._roots: list[Path] = []
        self._remembered: list[Path] = []
        self._hidden: set[Path] = set()
        self._runs: list[RunSummary] = []   # the rows shown, in order

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.viewport().installEventFilter(self)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.tree.itemSelectionChanged.connect(self._update_actions)
        self.tree.itemDoubleClicked.connect(self._open_item)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: grey;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.tree)

        icon = self.style().standardIcon
        self.open_action = self._action("Open", icon(QStyle.SP_DialogOpenButton), self._open,
                                        "Show this run's model, curves and glimpses (double-click)")
        self.continue_action = self._action("Continue training", icon(QStyle.SP_MediaSeekForward), self._continue,
                                            CONTINUE_TIP)
        self.compare_action = self._action("Add to Compare", icon(QStyle.SP_FileDialogDetailedView), self._compare,
                                           "Show this run beside others in the Compare tab")
        self.follow_action = self._action("Follow", icon(QStyle.SP_BrowserReload), self._follow,
                                          "Watch this run as it trains (its files are read, not changed)")
        self.reveal_action = self._action("Reveal folder", icon(QStyle.SP_DirOpenIcon), self._reveal,
                                          "Open the run folder in the file manager")
        self.remove_action = self._action("Remove from list", icon(QStyle.SP_DialogCloseButton), self._remove,
                                          "Hide this run here (its files are not touched)")
        buttons = QWidget()
        flow = FlowLayout(buttons)        # wraps in a narrow window
        for action in self.actions():
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            flow.addWidget(button)
            self.tree.addAction(action)   # the right-click menu
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack, 1)
        layout.addWidget(buttons)

        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.refresh)
        self.set_folders(roots, remembered, hidden)

    def _action(self, text: str, icon, slot: Callable[[], None], tip: str) -> QAction:
        action = QAction(icon, text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # ---- what is listed -------------------------------------------------------------------------
    def set_folders(self, roots: Iterable[str | os.PathLike], remembered: Iterable[str | os.PathLike] = (),
                    hidden: Iterable[str | os.PathLike] = ()) -> None:
        """List the run folders directly under `roots` and the `remembered` folders, except `hidden`
        (runs removed from the list). Rescans now if shown, else when next shown."""
        self._roots = [Path(p) for p in roots]
        self._remembered = [Path(p) for p in remembered]
        self._hidden = {_key(p) for p in hidden}
        self.empty_label.setToolTip("Looking in " + ", ".join(str(p) for p in self._roots + self._remembered))
        if self.isVisible():
            self.refresh()

    def runs(self) -> list[RunSummary]:
        """The runs shown, top to bottom."""
        return list(self._runs)

    def refresh(self) -> None:
        """Rescan the folders and update the rows (the selection stays on its run)."""
        runs = [r for r in list_runs(self._roots, self._remembered) if _key(r.path) not in self._hidden]
        if [r.path for r in runs] != [r.path for r in self._runs]:
            selected = self.selected_path()
            self.tree.clear()
            for run in runs:
                item = QTreeWidgetItem(self.tree)
                item.setData(0, PATH_ROLE, str(run.path))
                item.setSelected(str(run.path) == selected)
        now = time.time()
        for i, run in enumerate(runs):
            self._fill(self.tree.topLevelItem(i), run, now)
        refit = len(runs) != len(self._runs)
        self._runs = runs
        self.stack.setCurrentWidget(self.tree if runs else self.empty_label)
        if refit:   # once the table is the page shown: its width is then the one to fit
            self._fit_columns()
        self._update_actions()

    @staticmethod
    def _fill(item: QTreeWidgetItem, run: RunSummary, now: float) -> None:
        step = f"{run.step:,}" + (f" / {run.total_steps:,}" if run.total_steps else "")
        best = "—" if run.best_nll is None else f"{run.best_nll:.2f}"
        texts = (run.name, " · ".join(t for t in (run.dataset, run.model) if t) or "—", step, best,
                 status_text(run), ago(now - run.updated_unix))
        for column, text in enumerate(texts):
            item.setText(column, text)
        for column in (2, 3):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(0, str(run.path) + (f"\nstarted {run.started_at}" if run.started_at else ""))
        item.setToolTip(DATA_COLUMN, texts[DATA_COLUMN])   # whole, where the column elides it
        item.setToolTip(3, "" if run.best_nll_step is None else
                        f"the lowest test NLL bound (nats), at step {run.best_nll_step:,}")
        item.setToolTip(5, time.strftime("%Y-%m-%d %H:%M", time.localtime(run.updated_unix)))
        interrupted = run.status is Status.INTERRUPTED
        process = f"its process (pid {run.pid} on {run.host})" if run.host and run.pid else "its process"
        item.setToolTip(STATUS_COLUMN, "" if not interrupted else
                        f"run.json says the run is going, but {process} is gone"
                        + ("; Continue training picks it up from its last checkpoint" if run.has_checkpoint else ""))
        # The amber the follow view uses for "is the run still going?", of the light or dark scheme.
        item.setData(STATUS_COLUMN, Qt.ItemDataRole.ForegroundRole, warning_colour() if interrupted else None)
        font = QFont(item.font(STATUS_COLUMN))
        font.setBold(interrupted)
        item.setFont(STATUS_COLUMN, font)

    def _fit_columns(self) -> None:
        """Every column as wide as its contents; where that is wider than the table (the tab on a
        1,024-pixel screen), the name and data columns give up the difference (SHRINKABLE), each in
        proportion to what it has above its narrowest."""
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        header = self.tree.header()
        over = header.length() - self.tree.viewport().width()
        slack = {c: max(header.sectionSize(c) - low, 0) for c, low in SHRINKABLE.items()}
        total = sum(slack.values())
        if over > 0 and total:
            for column, spare in slack.items():
                header.resizeSection(column, header.sectionSize(column) - min(spare, -(-over * spare // total)))

    def eventFilter(self, watched, event) -> bool:
        # The table's visible width changed (the window, the dock beside it, a vertical scroll bar
        # that came or went): the columns are fitted to it again
        if event.type() == QEvent.Type.Resize and watched is self.tree.viewport() and self._runs:
            self._fit_columns()
        return super().eventFilter(watched, event)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if restyles(event) and hasattr(self, "tree"):     # the system's colour scheme changed
            now = time.time()
            for i, run in enumerate(self._runs):
                self._fill(self.tree.topLevelItem(i), run, now)

    # ---- the selected run -------------------------------------------------------------------------
    def selected_path(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, PATH_ROLE) if items else None

    def select(self, path: str | os.PathLike) -> bool:
        """Select the row of the run in `path`; False when it is not listed."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if _key(item.data(0, PATH_ROLE)) == _key(path):
                self.tree.setCurrentItem(item)
                return True
        return False

    def _selected_run(self) -> RunSummary | None:
        path = self.selected_path()
        return next((r for r in self._runs if str(r.path) == path), None)

    def _update_actions(self) -> None:
        run = self._selected_run()
        for action in self.actions():
            action.setEnabled(run is not None)
        self.continue_action.setEnabled(run is not None and run.can_continue)
        if run is None or run.can_continue:
            self.continue_action.setToolTip(CONTINUE_TIP)
        else:
            self.continue_action.setToolTip("This run is still training: Follow it instead" if run.live
                                            else "This run has no checkpoint.pt to continue from")

    def _emit(self, signal) -> None:
        path = self.selected_path()
        if path is not None:
            signal.emit(path)

    def _open(self) -> None:
        self._emit(self.open_requested)

    def _open_item(self, item: QTreeWidgetItem, _column: int) -> None:
        self.open_requested.emit(item.data(0, PATH_ROLE))

    def _continue(self) -> None:
        run = self._selected_run()
        if run is not None and run.can_continue:
            self.continue_requested.emit(str(run.path))

    def _compare(self) -> None:
        self._emit(self.compare_requested)

    def _follow(self) -> None:
        self._emit(self.follow_requested)

    def _reveal(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.opener(path)

    def _remove(self) -> None:
        """Hide the selected run (until set_folders says otherwise) and say so; no file is touched."""
        path = self.selected_path()
        if path is None:
            return
        self._hidden.add(_key(path))
        index = next(i for i, r in enumerate(self._runs) if str(r.path) == path)
        self.tree.takeTopLevelItem(index)
        self.tree.clearSelection()   # not the next run: a second click must not remove that one too
        del self._runs[index]
        self.stack.setCurrentWidget(self.tree if self._runs else self.empty_label)
        self._update_actions()
        self.remove_requested.emit(path)

    # ---- polling only while shown ---------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        self.timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()
