"""Opening a file the way the desktop does: `draw-gui CHECKPOINT.pt` and `draw-gui RUN_FOLDER` open
it in the window, a checkpoint or run folder dropped on the window opens, the .desktop file passes
%f and names a MIME type (resources/draw-gui-mime.xml), AppStream metainfo lists the app, and a
wheel installs all three."""
from __future__ import annotations

import configparser
import fnmatch
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFileOpenEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from draw_gui.cli import main as cli
from draw_gui.resources import resource_path
from draw_gui.window.application import DrawGuiApplication
from draw_gui.window.main_window import MainWindow, openable_path
from draw_gui.window.settings import Settings

REPO = Path(__file__).resolve().parents[1]
MIME_TYPE = "application/x-draw-gui-checkpoint"
METAINFO = "io.github.draw_gui.draw_gui.metainfo.xml"
# The freedesktop menu specification's main categories: a launcher in more than one shows in several menus
MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics", "Network",
                   "Office", "Science", "Settings", "System", "Utility"}


@pytest.fixture
def targets(tmp_path):
    """A run folder (metrics.csv, as `draw-gui train --out` leaves), a folder with only a checkpoint,
    a checkpoint file, and three things that are neither."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("step,epoch,loss,recon,kl,time_s\n")
    bare = tmp_path / "bare-run"
    bare.mkdir()
    (bare / "checkpoint.pt").write_bytes(b"PK\x03\x04")
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"PK\x03\x04")
    folder = tmp_path / "photos"
    folder.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    return dict(run=run, bare=bare, ckpt=ckpt, folder=folder, text=text, missing=tmp_path / "missing.pt")


# ---- the command line -----------------------------------------------------------------------------
def test_one_path_opens_the_window_and_a_command_name_stays_a_command():
    assert cli.path_to_open(["model.pt"]) == "model.pt"
    assert cli.path_to_open(["/runs/mnist-2026"]) == "/runs/mnist-2026"
    for argv in ([], ["--version"], ["-h"], ["models"], ["train", "--epochs", "1"], ["a.pt", "b.pt"], [""]):
        assert cli.path_to_open(argv) is None, argv
    for command in cli.COMMANDS:
        assert cli.path_to_open([command]) is None
    subcommands = next(a for a in cli.build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(subcommands.choices) == set(cli.COMMANDS)


def test_window_target_tells_a_checkpoint_from_a_run_folder(targets):
    assert cli.window_target(str(targets["run"])) == ("run", targets["run"])
    assert cli.window_target(str(targets["bare"])) == ("run", targets["bare"])
    assert cli.window_target(str(targets["ckpt"])) == ("checkpoint", targets["ckpt"])
    problems = {"missing": "no such file or folder", "folder": "not a run folder", "text": "not a checkpoint"}
    for name, words in problems.items():
        with pytest.raises(cli.UsageError) as e:
            cli.window_target(str(targets[name]))
        message = str(e.value)
        assert str(targets[name]) in message and words in message, message
        assert "run folder" in message and "draw-gui --help" in message, message  # the fix


def test_draw_gui_path_opens_the_window_on_it(targets, monkeypatch, capsys):
    opened = []
    monkeypatch.setattr(cli, "open_window", lambda **kw: opened.append(kw) or 0)
    assert cli.main([str(targets["ckpt"])]) == 0
    assert cli.main([str(targets["run"])]) == 0
    assert opened == [{"open_path": str(targets["ckpt"])}, {"open_path": str(targets["run"])}]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", ["missing", "folder", "text"])
def test_a_path_that_cannot_open_is_one_line_and_exit_2(targets, monkeypatch, capsys, name):
    monkeypatch.setattr(cli, "open_window", lambda **kw: pytest.fail("the window opened"))
    assert cli.main([str(targets[name])]) == cli.EXIT_USAGE == 2
    err = capsys.readouterr().err
    assert err.startswith("draw-gui: ") and err.count("\n") == 1, err


def test_a_mistyped_command_names_the_commands(monkeypatch, capsys):
    monkeypatch.setattr(cli, "open_window", lambda **kw: pytest.fail("the window opened"))
    assert cli.main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "trian" in err and "not a command" in err and "train" in err.replace("trian", "")


def test_no_display_is_exit_1_after_the_path_is_checked(targets, monkeypatch, capsys):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cli.main([str(targets["ckpt"])]) == 1
    assert "no display" in capsys.readouterr().err


def test_subcommands_still_parse_and_the_path_check_imports_no_qt(targets):
    code = ("import sys; from draw_gui.cli.main import build_parser, window_target, main; "
            f"print(window_target({str(targets['run'])!r})[0], window_target({str(targets['ckpt'])!r})[0]); "
            "print(build_parser().parse_args(['models']).command, main(['notes.txt'])); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=targets["run"].parent,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["run checkpoint", "models 2", "[]"]


def test_help_shows_the_path_form():
    out = subprocess.run([sys.executable, "-m", "draw_gui", "--help"], capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert out.returncode == 0
    assert "[CHECKPOINT.pt | RUN_FOLDER]" in out.stdout and "opens the window on it" in out.stdout


# ---- the window -------------------------------------------------------------------------------------
class _AppWithoutLoop:
    """The test's QApplication, but exec() returns at once: a real exec() ended by quit() leaves the
    main thread's later event loops returning at once, and the next tests' windows never load."""

    def __init__(self, app):
        self._app = app

    def __getattr__(self, name):
        return getattr(self._app, name)

    def exec(self):
        return 0


def test_run_app_opens_the_path_and_names_its_desktop_file(qapp, qtbot, targets, monkeypatch, tmp_path):
    """What `draw-gui PATH` runs (draw_gui.app.run_app): the window opens on the path, not on the
    shipped model, and the application names draw-gui.desktop (docks show its icon)."""
    from PySide6 import QtWidgets
    from draw_gui.app import run_app
    monkeypatch.setenv("DRAW_GUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("DRAW_GUI_STARTUP_PROBE", raising=False)
    monkeypatch.setenv("DRAW_GUI_LOG_DIR", str(tmp_path / "logs"))
    try:  # run_app sets up the application's log; the other tests' logging stays as it was
        import draw_gui.logs
        monkeypatch.setattr(draw_gui.logs, "setup_logging", lambda *a, **k: None)
    except ImportError:
        pass
    monkeypatch.setattr(QtWidgets, "QApplication", SimpleNamespace(instance=lambda: _AppWithoutLoop(qapp)))
    calls = []
    monkeypatch.setattr(MainWindow, "open_checkpoint", lambda self, path=None: calls.append(("checkpoint", path)))
    monkeypatch.setattr(MainWindow, "open_run", lambda self, folder: calls.append(("run", folder)))
    monkeypatch.setattr(MainWindow, "open_shipped", lambda self, *a, **k: calls.append(("shipped", a)))
    for path, kind in ((targets["ckpt"], "checkpoint"), (targets["run"], "run")):
        calls.clear()
        before = set(QApplication.topLevelWidgets())
        assert run_app(open_path=str(path)) == 0
        (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w not in before]
        qtbot.addWidget(window)
        qtbot.waitUntil(lambda: bool(calls))
        qtbot.wait(50)  # and nothing else opens (the shipped model would come a moment later)
        assert calls == [(kind, str(path))]
        assert QGuiApplication.desktopFileName() == "draw-gui"
        window.close()


def drag_data(*paths) -> QMimeData:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return data


def send_drag(target, data: QMimeData, pos: QPoint) -> tuple[bool, bool]:
    """A drag entering `target` at pos, then the drop there: whether each was accepted."""
    enter = QDragEnterEvent(pos, Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(QPointF(pos), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    if enter.isAccepted():
        QApplication.sendEvent(target, drop)
    return enter.isAccepted(), enter.isAccepted() and drop.isAccepted()


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.calls = []
    monkeypatch.setattr(w, "open_checkpoint", lambda path=None: w.calls.append(("checkpoint", path)))
    monkeypatch.setattr(w, "open_run", lambda folder: w.calls.append(("run", folder)))
    yield w
    w.worker.dirty = False
    w.close()


def test_dropping_a_checkpoint_or_run_folder_on_the_window_opens_it(window, targets):
    assert window.acceptDrops()
    centre = window.rect().center()
    assert send_drag(window, drag_data(targets["ckpt"]), centre) == (True, True)
    assert send_drag(window, drag_data(targets["run"]), centre) == (True, True)
    assert send_drag(window, drag_data(targets["bare"]), centre) == (True, True)
    assert window.calls == [("checkpoint", str(targets["ckpt"])), ("run", str(targets["run"])),
                            ("run", str(targets["bare"]))]
    window.calls.clear()
    # neither a checkpoint nor a run folder: the drag is refused and nothing opens
    for name in ("text", "folder"):
        assert send_drag(window, drag_data(targets[name]), centre) == (False, False)
    data = QMimeData()
    data.setText(str(targets["ckpt"]))  # text, not a file
    assert send_drag(window, data, centre) == (False, False)
    assert window.calls == []
    # several at once: the first that opens
    assert send_drag(window, drag_data(targets["text"], targets["run"], targets["ckpt"]), centre) == (True, True)
    assert window.calls == [("run", str(targets["run"]))]
    assert [openable_path(str(targets[n])) for n in ("ckpt", "run", "bare", "text", "folder", "missing")] == \
        ["checkpoint", "run", "run", None, None, None]


def test_drops_on_the_compare_tab_still_add_runs_there(window, targets, qtbot, monkeypatch):
    """Qt hands a drop to the innermost widget that accepts drops: over the Compare tab that is the
    tab (its runs list grows), anywhere else the window."""
    added = []
    monkeypatch.setattr(window.compare_view, "add_runs", lambda paths: added.append(list(paths)) or [])
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.compare_view)
    handle = window.windowHandle()
    over_compare = window.compare_view.mapTo(window, window.compare_view.rect().center())
    send_drag(handle, drag_data(targets["run"]), over_compare)
    assert added == [[str(targets["run"])]] and window.calls == []
    status = window.statusBar().mapTo(window, window.statusBar().rect().center())
    send_drag(handle, drag_data(targets["ckpt"]), status)
    assert window.calls == [("checkpoint", str(targets["ckpt"]))] and len(added) == 1


def test_a_dropped_run_folder_shows_its_model(qtbot, tmp_path, monkeypatch):
    """The real thing: a run folder (a copy of the shipped MNIST model's, which is one) dropped on a
    fresh window is shown read-only, as Runs → Open shows it."""
    from tests.helpers import record_dialogs
    run = tmp_path / "dropped-run"
    shutil.copytree(resource_path("models/mnist"), run)
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    dialogs = []
    record_dialogs(monkeypatch, w, dialogs)
    w.show()
    try:
        assert send_drag(w, drag_data(run), w.rect().center()) == (True, True)
        qtbot.waitUntil(lambda: w.shown is not None and w.run_info is not None and w.run_info.view_only
                        and w.shown.path == str(run / "checkpoint.pt"), timeout=60000)
        assert "run dropped-run" in w.windowTitle() and dialogs == []
    finally:
        w.worker.dirty = False
        w.close()


# ---- files macOS hands to the running app (a QFileOpenEvent, not the command line) -------------------
def test_files_handed_to_the_app_wait_for_its_window_then_reach_it_together(qapp, qtbot, tmp_path):
    assert isinstance(qapp, DrawGuiApplication)  # conftest's qapp_cls: the tests run on draw-gui's own
    got = []
    qapp.set_file_opener(None)
    try:
        # before any window, as when Finder launches draw-gui with files: nothing is lost
        assert QApplication.sendEvent(qapp, QFileOpenEvent(str(tmp_path / "a.pt")))
        assert QApplication.sendEvent(qapp, QFileOpenEvent(QUrl.fromLocalFile(str(tmp_path / "my run"))))
        QApplication.processEvents()
        assert got == []
        qapp.set_file_opener(got.append)
        assert got == [[str(tmp_path / "a.pt"), str(tmp_path / "my run")]]
        # while it runs: the files of one hand-over (one event each) arrive as one list
        for name in ("c.pt", "d.pt"):
            assert QApplication.sendEvent(qapp, QFileOpenEvent(str(tmp_path / name)))
        qtbot.waitUntil(lambda: len(got) == 2)
        assert got[1] == [str(tmp_path / "c.pt"), str(tmp_path / "d.pt")]
    finally:
        qapp.set_file_opener(None)


def test_a_run_folder_handed_over_while_the_shipped_model_loads_is_what_the_window_shows(qapp, qtbot, tmp_path,
                                                                                       monkeypatch):
    """Finder's Open With while the window is still loading the model it opens on: the handed run
    wins, with no dialog; then a file that is neither a checkpoint nor a run folder gets a dialog
    naming it, and the window keeps what it shows."""
    from tests.helpers import record_dialogs
    run = tmp_path / "handed-run"
    shutil.copytree(resource_path("models/mnist"), run)
    (tmp_path / "notes.txt").write_text("not a model")
    w = MainWindow(Settings(tmp_path / "settings.json"))  # opens on the shipped model
    qtbot.addWidget(w)
    dialogs = []
    record_dialogs(monkeypatch, w, dialogs)
    qapp.set_file_opener(w.open_from_desktop)
    try:
        w.show()
        qtbot.waitUntil(lambda: w._token > 0)  # the shipped model has been asked for and is loading
        assert w.run_info is None
        QApplication.sendEvent(qapp, QFileOpenEvent(str(run)))
        qtbot.waitUntil(lambda: w.run_info is not None and w.shown is not None, timeout=60000)
        assert w.shown.path == str(run / "checkpoint.pt") and w.run_info.view_only
        assert "run handed-run" in w.windowTitle() and dialogs == []
        QApplication.sendEvent(qapp, QFileOpenEvent(str(tmp_path / "notes.txt")))
        qtbot.waitUntil(lambda: len(dialogs) == 1)
        title, text = dialogs[0]
        assert title == "Cannot open" and str(tmp_path / "notes.txt") in text and "run folder" in text
        assert w.shown.path == str(run / "checkpoint.pt")
        # several at once (a selection in Finder): the first that opens, and one box says the
        # others stayed closed, instead of a refusal for each
        second = tmp_path / "second-run"
        shutil.copytree(run, second)
        for path in (tmp_path / "notes.txt", second, run):
            QApplication.sendEvent(qapp, QFileOpenEvent(str(path)))
        qtbot.waitUntil(lambda: w.shown.path == str(second / "checkpoint.pt"), timeout=60000)
        assert "second-run" in w.windowTitle() and len(dialogs) == 2
        title, text = dialogs[1]
        assert title == "One model at a time" and "opens second-run" in text
        assert "notes.txt, handed-run stayed closed" in text and "Compare tab" in text
    finally:
        qapp.set_file_opener(None)
        w.worker.dirty = False
        w.close()


def test_the_app_opens_a_run_folder_macos_handed_over_at_launch(tmp_path):
    """The whole path in a process of its own: draw-gui's application receives the file before any
    window exists (as macOS sends it when Finder starts draw-gui on a file), and run_app's window
    opens on it instead of the shipped model."""
    run = tmp_path / "handed-run"
    shutil.copytree(resource_path("models/mnist"), run)
    script = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFileOpenEvent
from draw_gui.app import run_app
from draw_gui.window.application import DrawGuiApplication
from draw_gui.window.main_window import MainWindow

app = DrawGuiApplication([sys.argv[0]])
app.sendEvent(app, QFileOpenEvent(sys.argv[1]))

def poll():
    windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]
    if windows and windows[0].run_info is not None:
        print("shown", windows[0].shown.path, flush=True)
        windows[0].close()  # the last window: run_app returns
    else:
        QTimer.singleShot(50, poll)

QTimer.singleShot(0, poll)
print("exit", run_app(), flush=True)
"""
    env = {**os.environ, "DRAW_GUI_CONFIG_DIR": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DRAW_GUI_STARTUP_PROBE", None)
    out = subprocess.run([sys.executable, "-c", script, str(run)], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"shown {run / 'checkpoint.pt'}", "exit 0"], out.stdout + out.stderr


# ---- the desktop files ------------------------------------------------------------------------------
def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(resource_path("draw-gui.desktop"))
    return parser["Desktop Entry"]


def test_the_desktop_file_passes_a_file_and_names_one_main_category_and_the_mime_type():
    entry = desktop_entry()
    assert entry["Exec"] == "draw-gui %f"
    assert entry["MimeType"].strip(";").split(";") == [MIME_TYPE]
    categories = entry["Categories"].strip(";").split(";")
    assert len(MAIN_CATEGORIES & set(categories)) == 1, categories
    assert "Science" in categories and "ArtificialIntelligence" in categories


def test_desktop_file_validate_says_nothing():
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate not installed (apt-get install desktop-file-utils)")
    result = subprocess.run(["desktop-file-validate", str(resource_path("draw-gui.desktop"))],
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_mime_type_declares_checkpoints():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(resource_path("draw-gui-mime.xml")).getroot()
    (mime,) = root.findall("m:mime-type", ns)
    assert mime.get("type") == MIME_TYPE
    assert mime.find("m:comment", ns).text == "draw-gui checkpoint"
    (glob,) = mime.findall("m:glob", ns)
    assert glob.get("pattern") == "*.pt" and int(glob.get("weight")) < 50  # .pt is every PyTorch file's name
    assert mime.find("m:sub-class-of", ns).get("type") == "application/zip"  # torch.save writes a zip


def test_update_mime_database_reads_the_mime_type(tmp_path):
    if shutil.which("update-mime-database") is None:
        pytest.skip("update-mime-database not installed (shared-mime-info)")
    (tmp_path / "mime" / "packages").mkdir(parents=True)
    shutil.copy(resource_path("draw-gui-mime.xml"), tmp_path / "mime" / "packages")
    result = subprocess.run(["update-mime-database", str(tmp_path / "mime")], capture_output=True, text=True)
    assert result.returncode == 0 and "rror" not in result.stderr, result.stderr
    assert f"30:{MIME_TYPE}:*.pt" in (tmp_path / "mime" / "globs2").read_text()
    assert f"{MIME_TYPE} application/zip" in (tmp_path / "mime" / "subclasses").read_text()


def test_the_appstream_metainfo_names_the_launcher_binary_mime_type_and_licence():
    root = ET.parse(resource_path(METAINFO)).getroot()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert METAINFO == root.findtext("id") + ".metainfo.xml"
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == project["license"]
    assert root.findtext("name") == desktop_entry()["Name"]
    assert root.find("launchable").get("type") == "desktop-id" and root.findtext("launchable") == "draw-gui.desktop"
    assert root.findtext("provides/binary") in project["scripts"]
    assert root.findtext("provides/mediatype") == MIME_TYPE
    assert root.find("content_rating") is not None
    assert [c.text for c in root.findall("categories/category")] == desktop_entry()["Categories"].strip(";").split(";")


def test_the_macos_bundle_declares_checkpoints_and_run_folders_and_is_a_dock_app():
    """draw-gui.spec's Info.plist for dist/draw-gui.app, read without PyInstaller (the bundle is built
    only on a Mac): Finder offers draw-gui for .pt files and folders, the plist serialises, the
    console executable does not make the app background-only, and its id is the AppStream one."""
    import ast
    import plistlib
    tree = ast.parse((REPO / "draw-gui.spec").read_text())
    plist = next(ast.literal_eval(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["MACOS_INFO_PLIST"])
    assert plistlib.loads(plistlib.dumps(plist)) == plist
    types = {t["CFBundleTypeName"]: t for t in plist["CFBundleDocumentTypes"]}
    assert {"pt", "pth"} <= set(types["draw-gui checkpoint"]["CFBundleTypeExtensions"])
    assert types["draw-gui run folder"]["LSItemContentTypes"] == ["public.folder"]
    assert all(t["CFBundleTypeRole"] == "Viewer" and t["LSHandlerRank"] == "Alternate" for t in types.values())
    assert plist["LSBackgroundOnly"] is False and plist["NSHighResolutionCapable"] is True
    bundle = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and getattr(node.func, "id", None) == "BUNDLE")
    keywords = {k.arg: k.value for k in bundle.keywords}
    assert ast.literal_eval(keywords["bundle_identifier"]) + ".metainfo.xml" == METAINFO
    assert ast.literal_eval(keywords["name"]) == "draw-gui.app"


def test_appstreamcli_validates_the_metainfo():
    if shutil.which("appstreamcli") is None:
        pytest.skip("appstreamcli not installed (apt-get install appstream)")
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(resource_path(METAINFO))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wheel_installs_the_desktop_files():
    """pyproject's package-data patterns cover the three files (resources/ is draw_gui/_resources)."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools["package-data"]["draw_gui._resources"]
    assert setuptools["package-dir"]["draw_gui._resources"] == "resources"
    for name in ("draw-gui.desktop", "draw-gui-mime.xml", METAINFO):
        assert (REPO / "resources" / name).is_file()
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
