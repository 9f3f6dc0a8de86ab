"""Promises about the project itself: CI runs what the README says; core stays free of Qt."""
import re
import subprocess
import sys

from tests.conftest import REPO


def test_ci_runs_exactly_the_readme_setup_commands():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Set up and test.*?```sh\n(.*?)```", readme, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == commands


def test_core_never_imports_qt():
    code = ("import sys, core.model, core.data, core.loop, core.export, core.checkpoint, core.evaluate, "
            "core.runfolder; bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_window_module_opens_without_importing_torch():
    """torch costs ~1.4 s to import: the window shows first and imports it when it first needs it.
    (A run-folder reader pulling torch in at import once made the window take 2 s to appear.)"""
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'; import draw_gui.window.main_window, draw_gui.app; "
            "bad = sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')}); "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_building_the_window_does_not_import_torch(tmp_path):
    """Nor does building the window: every tab waits for torch until it needs it (the Sketch and
    Filterbank tabs once pulled it in at construction, making the window appear 2 s later)."""
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'; "
            f"os.environ['DRAW_GUI_CONFIG_DIR'] = {str(tmp_path)!r}; "
            "from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from draw_gui.window.main_window import MainWindow; w = MainWindow(open_model=False); "
            "bad = sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')}); "
            "print(bad); w.shutdown(); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_qt_bindings_keep_none_alive_across_many_signals(qtbot):
    """PySide6 6.12.0 dropped a reference to None/True/False per signal emit and crashed Python < 3.12
    within seconds of training; pyproject excludes it, and this catches a binding that does it again."""
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Emitter(QObject):
        value = Signal(object)

    emitter, label = Emitter(), QLabel()
    emitter.value.connect(lambda v: None)
    before = (sys.getrefcount(None), sys.getrefcount(True))
    for i in range(3000):
        emitter.value.emit(i)
        label.setText("x")
        label.isVisible()
    after = (sys.getrefcount(None), sys.getrefcount(True))
    assert abs(after[0] - before[0]) < 500 and abs(after[1] - before[1]) < 500, (before, after)


def test_every_file_the_readme_links_to_exists():
    import re
    readme = (REPO / "README.md").read_text()
    links = [target for target in re.findall(r"\]\(([^)#\s]+)\)", readme) if "://" not in target]
    assert links, "the README links to its screenshots"
    missing = [target for target in links if not (REPO / target).exists()]
    assert not missing, f"README links to missing files: {missing}"
