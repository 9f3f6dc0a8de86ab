"""The Runs list widget: what a user reads in each row, and the signals its actions send."""
from __future__ import annotations

import datetime
import os
import time

import pytest
from PySide6.QtCore import Qt

from draw_gui.runs import paths
from draw_gui.runs.runs_list import COLUMNS, EMPTY_TEXT, RunsList
from tests.helpers import shown
from tests.test_run_index import _dead_pid, make_run


def _rows(widget: RunsList) -> list[dict]:
    tree = widget.tree
    return [{c: tree.topLevelItem(i).text(n) for n, c in enumerate(COLUMNS)} for i in range(tree.topLevelItemCount())]


def _runs_list(qtbot, root, **kwargs) -> RunsList:
    widget = RunsList([root], **kwargs)
    qtbot.addWidget(widget)
    widget.refresh()
    return widget


def test_rows_show_the_numbers_a_user_reads(qtbot, tmp_path):
    now = time.time()
    make_run(tmp_path / "2026-11-29_1402_mnist_gaussian", step=1234, total=18740, updated=now - 300,
             evals=((600, 101.5), (1200, 93.14)))
    make_run(tmp_path / "crashed", status="running", pid=_dead_pid(), updated=now)
    make_run(tmp_path / "nothing-yet", status="stopped", step=7, total=0, updated=now - 7200)
    rows = _rows(_runs_list(qtbot, tmp_path))
    assert [r["Name"] for r in rows] == ["crashed", "2026-11-29_1402_mnist_gaussian", "nothing-yet"]
    first = rows[1]
    assert first["Step"] == "1,234 / 18,740"
    assert first["Best test NLL"] == "93.14"
    assert first["Data / model"] == "mnist · gaussian r2 w5, T 64, LSTM 256, z 100"
    assert first["Status"] == "finished"
    assert first["Updated"] == "5 min ago"
    assert rows[0]["Status"] == "interrupted (can continue)" and rows[0]["Updated"] == "just now"
    assert rows[2]["Best test NLL"] == "—" and rows[2]["Step"] == "7" and rows[2]["Updated"] == "2 h ago"


@pytest.mark.parametrize("action, signal", [("open_action", "open_requested"),
                                            ("continue_action", "continue_requested"),
                                            ("compare_action", "compare_requested"),
                                            ("follow_action", "follow_requested")])
def test_each_action_sends_the_selected_runs_folder(qtbot, tmp_path, action, signal):
    make_run(tmp_path / "old", updated=time.time() - 100)
    target = make_run(tmp_path / "new")
    widget = _runs_list(qtbot, tmp_path)
    assert not getattr(widget, action).isEnabled()   # nothing selected yet
    assert widget.select(target)
    assert getattr(widget, action).isEnabled()
    with qtbot.waitSignal(getattr(widget, signal), check_params_cb=lambda path: path == str(target)):
        getattr(widget, action).trigger()


def test_double_click_opens_the_run(qtbot, tmp_path):
    make_run(tmp_path / "other", updated=time.time() - 100)
    target = make_run(tmp_path / "target")
    widget = RunsList([tmp_path])
    shown(qtbot, widget, 700, 300)
    tree = widget.tree
    where = tree.visualItemRect(tree.topLevelItem(0)).center()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=where)   # a double click starts with a press
    with qtbot.waitSignal(widget.open_requested, check_params_cb=lambda path: path == str(target)):
        qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_remove_hides_the_row_and_keeps_the_files(qtbot, tmp_path):
    keep = make_run(tmp_path / "keep", updated=time.time() - 100)
    gone = make_run(tmp_path / "remove-me", evals=((100, 90.0),))
    files = sorted(p.name for p in gone.iterdir())
    widget = _runs_list(qtbot, tmp_path)
    widget.select(gone)
    with qtbot.waitSignal(widget.remove_requested, check_params_cb=lambda path: path == str(gone)):
        widget.remove_action.trigger()
    assert [r["Name"] for r in _rows(widget)] == ["keep"]
    assert sorted(p.name for p in gone.iterdir()) == files
    widget.refresh()   # a rescan does not bring it back
    assert [r["Name"] for r in _rows(widget)] == ["keep"]
    assert keep.exists() and widget.selected_path() is None and not widget.open_action.isEnabled()


def test_continue_is_disabled_for_a_run_its_live_process_is_training(qtbot, tmp_path):
    live = make_run(tmp_path / "live", status="running", pid=os.getpid())
    no_checkpoint = make_run(tmp_path / "fresh", checkpoint=False, updated=time.time() - 60)
    widget = _runs_list(qtbot, tmp_path)
    assert _rows(widget)[0]["Status"] == "running"
    widget.select(live)
    assert widget.follow_action.isEnabled() and not widget.continue_action.isEnabled()
    assert "Follow" in widget.continue_action.toolTip()
    widget.continue_action.trigger()   # a disabled action's trigger does nothing, and neither would a stray call
    widget._continue()
    widget.select(no_checkpoint)
    assert widget.open_action.isEnabled() and not widget.continue_action.isEnabled()


def test_an_empty_list_says_where_runs_come_from(qtbot, tmp_path):
    widget = _runs_list(qtbot, tmp_path)
    assert widget.stack.currentWidget() is widget.empty_label
    assert widget.empty_label.text() == EMPTY_TEXT
    assert str(tmp_path) in widget.empty_label.toolTip()
    make_run(tmp_path / "first")
    widget.refresh()
    assert widget.stack.currentWidget() is widget.tree


def test_reveal_opens_the_folder_with_the_opener(qtbot, tmp_path):
    opened = []
    target = make_run(tmp_path / "r")
    widget = _runs_list(qtbot, tmp_path, opener=opened.append)
    widget.reveal_action.trigger()
    assert opened == []   # nothing selected
    widget.select(target)
    widget.reveal_action.trigger()
    assert opened == [str(target)]


def test_a_shown_list_picks_up_new_runs_and_a_hidden_one_stops_polling(qtbot, tmp_path):
    widget = RunsList([tmp_path], poll_ms=20)
    shown(qtbot, widget, 700, 300)
    assert widget.timer.isActive()
    first = make_run(tmp_path / "first")
    qtbot.waitUntil(lambda: [r["Name"] for r in _rows(widget)] == ["first"])
    widget.select(first)
    make_run(tmp_path / "second", updated=time.time() + 5)   # newer: it goes on top
    qtbot.waitUntil(lambda: len(_rows(widget)) == 2)
    assert _rows(widget)[0]["Name"] == "second" and widget.selected_path() == str(first)
    widget.hide()
    assert not widget.timer.isActive()


def test_remembered_folders_and_hidden_runs(qtbot, tmp_path):
    root, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    make_run(root / "hidden-one")
    outside = make_run(elsewhere / "outside", updated=time.time() - 60)
    widget = RunsList([root], remembered=[outside], hidden=[root / "hidden-one"])
    qtbot.addWidget(widget)
    widget.refresh()
    assert [r["Name"] for r in _rows(widget)] == ["outside"]


def test_runs_root_and_new_run_folders(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.RUNS_DIR_VARIABLE, str(tmp_path / "mine"))
    assert paths.runs_root() == tmp_path / "mine"
    monkeypatch.delenv(paths.RUNS_DIR_VARIABLE)
    assert paths.runs_root().name == "runs" and "draw-gui" in str(paths.runs_root())
    when = datetime.datetime(2026, 11, 29, 14, 2)
    first = paths.new_run_folder("mnist", "gaussian", root=tmp_path, now=when)
    assert first == tmp_path / "2026-11-29_1402_mnist_gaussian" and not first.exists()
    first.mkdir()
    second = paths.new_run_folder("mnist", "gaussian", root=tmp_path, now=when)
    assert second.name == "2026-11-29_1402_mnist_gaussian_2" and not second.exists()
    second.mkdir()
    assert paths.new_run_folder("mnist", "gaussian", root=tmp_path, now=when).name.endswith("_3")
    assert paths.new_run_folder("my data/set", "none", root=tmp_path, now=when).name == "2026-11-29_1402_my-data-set_none"


def test_on_a_narrow_tab_the_data_column_elides_so_that_status_stays_whole(qtbot, tmp_path):
    """At 1,024 pixels the Runs tab is about 660 wide: a long dataset and model text must not push
    the status behind a scroll bar; it is elided instead, whole in its tooltip."""
    from draw_gui.runs.runs_list import DATA_COLUMN, STATUS_COLUMN
    make_run(tmp_path / "2026-11-29_1402_binarized-mnist_gaussian", status="running", pid=_dead_pid(),
             dataset="binarized-mnist")
    widget = RunsList([tmp_path])
    shown(qtbot, widget, 660, 400)
    widget.refresh()
    tree, header = widget.tree, widget.tree.header()
    item = tree.topLevelItem(0)
    status = item.text(STATUS_COLUMN)
    assert status == "interrupted (can continue)"
    needed = tree.fontMetrics().horizontalAdvance(status)
    assert header.sectionSize(STATUS_COLUMN) >= needed
    assert header.length() <= tree.viewport().width() and not tree.horizontalScrollBar().isVisible()
    data = item.text(DATA_COLUMN)
    assert header.sectionSize(DATA_COLUMN) < tree.fontMetrics().horizontalAdvance(data)   # elided
    assert item.toolTip(DATA_COLUMN) == data == "binarized-mnist · gaussian r2 w5, T 64, LSTM 256, z 100"
    for i in range(30):        # more rows than it shows: a vertical scroll bar takes its width too
        make_run(tmp_path / f"2026-11-29_14{i:02d}_mnist_gaussian", updated=time.time() - 60)
    widget.refresh()
    qtbot.waitUntil(lambda: tree.verticalScrollBar().isVisible())
    qtbot.waitUntil(lambda: header.length() <= tree.viewport().width())
    assert not tree.horizontalScrollBar().isVisible() and header.sectionSize(STATUS_COLUMN) >= needed
    widget.resize(1400, 400)   # room enough: every column whole again
    qtbot.waitUntil(lambda: header.sectionSize(DATA_COLUMN) >= tree.fontMetrics().horizontalAdvance(data))
