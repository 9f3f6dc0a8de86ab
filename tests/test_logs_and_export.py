"""The log file a window started from a launcher writes (draw_gui.logs, Help → Open log folder), and
the loss and compare plots' Export plot… (PNG, SVG, CSV)."""
from __future__ import annotations

import csv
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog

from draw_gui import logs


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    """DRAW_GUI_LOG_DIR a folder of the test's own; logging undone after the test."""
    folder = tmp_path / "logs"
    monkeypatch.setenv("DRAW_GUI_LOG_DIR", str(folder))
    yield folder
    logs.teardown_logging()


def flushed(folder: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (folder / logs.LOG_NAME).read_text(encoding="utf-8")


def test_setup_logging_writes_warnings_errors_and_tracebacks_to_the_log_file(log_dir):
    assert logs.log_folder() == log_dir
    path = logs.setup_logging()
    assert path == log_dir / logs.LOG_NAME and path.exists()
    assert logs.setup_logging() == path                  # a second call changes nothing
    assert sum(isinstance(h, logging.handlers.RotatingFileHandler) for h in logging.getLogger().handlers) == 1
    logging.getLogger("draw_gui.test").info("an info line")
    logging.getLogger("core.test").warning("a core warning")
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        logging.getLogger("draw_gui.test").exception("it failed")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a python warning", UserWarning, stacklevel=1)
    text = flushed(log_dir)
    assert "INFO draw_gui.test: an info line" in text
    assert "WARNING core.test: a core warning" in text
    assert "ERROR draw_gui.test: it failed" in text and "Traceback (most recent call last)" in text
    assert "ZeroDivisionError: boom" in text
    assert "a python warning" in text and "py.warnings" in text


def test_uncaught_exceptions_and_qt_messages_go_to_the_log(log_dir, qapp, capsys, monkeypatch):
    from PySide6.QtCore import qWarning
    handed_on = []   # the hook there was before (Python's prints the traceback) still gets it
    monkeypatch.setattr(sys, "excepthook", lambda *exc: handed_on.append(exc[1]))
    logs.setup_logging()
    try:
        raise KeyError("nobody caught me")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    qWarning("a Qt warning")
    text = flushed(log_dir)
    assert "ERROR draw_gui.uncaught: uncaught KeyError" in text and "Traceback" in text
    assert "WARNING draw_gui.qt: a Qt warning" in text
    assert [str(e) for e in handed_on] == ["'nobody caught me'"]
    err = capsys.readouterr().err
    assert "a Qt warning" in err and "nobody caught me" not in err   # stderr: the hook's to print, not the log's


def test_the_log_rotates_past_its_size(log_dir):
    logs.setup_logging(max_bytes=2000, backups=2)
    for i in range(200):
        logging.getLogger("draw_gui.test").warning("line %d of a long log", i)
    flushed(log_dir)
    names = sorted(p.name for p in log_dir.iterdir())
    assert names == [logs.LOG_NAME, logs.LOG_NAME + ".1", logs.LOG_NAME + ".2"]
    assert all((log_dir / n).stat().st_size <= 2000 for n in names)
    assert "line 199 of a long log" in (log_dir / logs.LOG_NAME).read_text()


def test_a_folder_that_cannot_be_written_leaves_the_log_out_and_says_so_once(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DRAW_GUI_LOG_DIR", str(blocker / "logs"))
    try:
        assert logs.setup_logging() is None and logs.log_file() is None
        logs.setup_logging()
        logging.getLogger("draw_gui.test").info("still fine")
    finally:
        logs.teardown_logging()
    assert capsys.readouterr().err.count("no log file") == 1


def test_a_failure_shown_in_the_window_is_in_the_log(qtbot, new_window, log_dir, tmp_path, capsys):
    logs.setup_logging()
    w = new_window()
    bad = tmp_path / "x.pt"
    bad.write_text("a text file, not a checkpoint")
    w.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: bool(w.dialogs), timeout=20000)
    title, message = w.dialogs[-1]
    assert title == "Unusable checkpoint"
    text = flushed(log_dir)
    assert "WARNING draw_gui.window.main_window: checkpoint failure" in text and message.splitlines()[0] in text
    assert message.splitlines()[0] not in capsys.readouterr().err   # the dialog said it: not the terminal too


def test_help_opens_the_log_folder(qtbot, new_window, log_dir, monkeypatch):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    w = new_window()
    action = w.open_log_action
    assert action in w.menuBar().actions()[-1].menu().actions() and "log folder" in action.text()
    assert str(log_dir) in action.statusTip()
    assert not log_dir.exists()
    action.trigger()
    assert opened == [QUrl.fromLocalFile(str(log_dir))] and log_dir.is_dir()
    assert not w.dialogs


# ---- Export plot… --------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_blocking_warning(monkeypatch):
    """A failed export's warning box would wait for a click: it fails the test instead."""
    from PySide6.QtWidgets import QMessageBox

    def fail(parent, title, text, *a, **k):
        raise AssertionError(f"{title}: {text}")
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(fail))


def save_as(monkeypatch, path: Path, chosen: str = ""):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), chosen)))


@pytest.fixture
def loss_plot(qtbot):
    from draw_gui.widgets.loss_plot import LossPlot
    from tests.helpers import shown
    plot = shown(qtbot, LossPlot(), 800, 400)
    plot.smoothing = 0
    steps = 10 * np.arange(1, 51)
    loss = 300.0 - steps / 10
    plot.append(steps, loss, loss - 20, np.full(50, 20.0))
    plot.add_evaluation(250, 180.5)
    qtbot.waitUntil(lambda: plot.curves[0].xData is not None and len(plot.curves[0].xData) == 50, timeout=3000)
    return plot


def test_the_loss_plot_exports_png_svg_and_csv(qtbot, loss_plot, tmp_path, monkeypatch):
    from PIL import Image
    menu = loss_plot.export_menu
    export = next(a for a in menu.actions() if a.text() == "Export plot…")
    assert loss_plot.plot_item.getViewBox().plot_menu is menu   # the right click shows it
    assert [a.text() for a in menu.actions()] == ["Export plot…", "Copy image"]

    save_as(monkeypatch, tmp_path / "loss.png")
    export.trigger()
    with Image.open(tmp_path / "loss.png") as image:
        width, height = image.size
    view = loss_plot.plot_widget.size()
    assert view.width() / 2 <= width <= view.width() * 1.5 and view.height() / 2 <= height <= view.height() * 1.5

    save_as(monkeypatch, tmp_path / "loss.svg")
    loss_plot.export_button.click()
    assert "<svg" in (tmp_path / "loss.svg").read_text()

    loss_plot.visibility_checkboxes[2].setChecked(False)     # Lz hidden: not in the table
    save_as(monkeypatch, tmp_path / "loss", "CSV table of the curves shown (*.csv)")   # the filter gives the suffix
    export.trigger()
    rows = list(csv.reader((tmp_path / "loss.csv").open()))
    assert rows[0] == ["loss step", "loss", "Lx step", "Lx", "test NLL bound step", "test NLL bound"]
    assert [int(r[0]) for r in rows[1:]] == list(range(10, 510, 10))
    assert float(rows[1][1]) == 299.0 and float(rows[1][3]) == 279.0
    assert rows[1][4:] == ["250", "180.5"] and rows[2][4:] == ["", ""]


def test_a_cancelled_export_writes_nothing(qtbot, loss_plot, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    loss_plot.export_button.click()
    assert list(tmp_path.iterdir()) == []


def test_the_compare_plot_exports_png_and_csv(qtbot, tmp_path, monkeypatch):
    from PIL import Image
    from core.runfolder import MetricsRows
    from draw_gui.compare.plot import ComparePlot
    from tests.helpers import shown
    plot = shown(qtbot, ComparePlot(), 700, 350)
    plot.smoothing = 0
    plot.add_run(1, "run a", (200, 100, 50))
    steps = np.arange(1, 21)
    plot.append(1, MetricsRows(step=steps, epoch=np.zeros(20), loss=200.0 - steps, recon=150.0 - steps,
                               kl=np.full(20, 50.0), time_s=steps * 0.5))
    qtbot.waitUntil(lambda: plot.curve(1).xData is not None and len(plot.curve(1).xData) == 20, timeout=3000)

    save_as(monkeypatch, tmp_path / "compare.png")
    plot.export_menu.actions()[0].trigger()
    with Image.open(tmp_path / "compare.png") as image:
        assert 350 <= image.size[0] <= 1050 and 150 <= image.size[1] <= 525

    save_as(monkeypatch, tmp_path / "compare.csv")
    plot.export_button.click()
    rows = list(csv.reader((tmp_path / "compare.csv").open()))
    assert rows[0] == ["run a total loss L step", "run a total loss L"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 21)) and float(rows[1][1]) == 199.0

