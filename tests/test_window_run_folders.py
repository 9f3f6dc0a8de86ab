"""Every run the window trains is a run folder, as `draw-gui train --out` writes: it autosaves,
survives `kill -9`, and the command line, follow and compare read it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.checkpoint import load_checkpoint
from core.runfolder import RunReader

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--num_glimpses", "4", "--hidden_size", "32", "--latent_size", "8", "--batch_size", "32",
         "--read_size", "2", "--write_size", "3", "--no_eval"]


def _env(tmp_path, autosave_minutes: float) -> dict:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "settings.json").write_text(json.dumps({"autosave_minutes": autosave_minutes}))
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DRAW_GUI_CONFIG_DIR": str(config),
            "DRAW_GUI_THREADS": "1", "PYTHONPATH": str(REPO)}


def _saved_step(folder: Path) -> int:
    try:
        return int(load_checkpoint(folder / "checkpoint.pt")["step"])
    except Exception:  # noqa: BLE001 - not there yet
        return 0


def test_a_window_run_killed_with_sigkill_continues_from_its_last_autosave(tmp_path, mnist_dir):
    folder = tmp_path / "run"
    # The window (offscreen), training at once into `folder`, autosaving every 0.6 s
    window = subprocess.Popen([sys.executable, "-m", "draw_gui", "train", "--display", "--out", str(folder),
                               "--data_dir", str(mnist_dir), *SMALL], env=_env(tmp_path, 0.01),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while _saved_step(folder) < 20 and time.monotonic() < deadline and window.poll() is None:
            time.sleep(0.2)
        saved = _saved_step(folder)
        assert saved >= 20, window.stderr.read().decode() if window.poll() is not None else "no autosave in 120 s"
        info = RunReader(folder).info()
        assert info["status"] == "running" and info["pid"] == window.pid and info["command"] == "draw-gui (the window)"
        window.send_signal(signal.SIGKILL)
        window.wait(10)
    finally:
        if window.poll() is None:
            window.kill()
    saved = _saved_step(folder)
    # The Runs list calls it interrupted: run.json says running, and its process is gone
    from core.run_index import summarize
    assert summarize(folder).status.value == "interrupted"
    # The command line continues it where the autosave left it, in the same folder
    rows_before = len(RunReader(folder).new_metrics())
    assert rows_before >= saved
    done = subprocess.run([sys.executable, "-m", "draw_gui", "train", "--restore", str(folder / "checkpoint.pt"),
                           "--max_steps", str(saved + 5), "--quiet", "--no_eval", "--data_dir", str(mnist_dir)],
                          env=_env(tmp_path, 5), capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _saved_step(folder) == saved + 5
    steps = RunReader(folder).new_metrics().step
    assert list(steps) == list(range(1, saved + 6))   # the steps after the autosave were trained again, once
    assert RunReader(folder).info()["status"] == "finished"


def _training_window(qtbot, tmp_path, mnist_dir):
    """A window training a small model on MNIST, 5 steps in."""
    from draw_gui.window.main_window import MainWindow
    from draw_gui.window.settings import Settings
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.config_panel.set_values({"data_dir": str(mnist_dir), "glimpses": 4, "hidden": 32, "z_size": 8,
                               "batch_size": 32, "read_size": 2, "write_size": 3})
    w.show()
    w.start_button.click()
    qtbot.waitUntil(lambda: w.loss_plot.point_count() >= 5, timeout=30000)
    return w


@pytest.mark.parametrize("how", ["stop", "close"])
def test_stop_and_close_leave_a_complete_run_folder_that_follow_and_compare_read(qtbot, tmp_path, mnist_dir,
                                                                                  runs_dir, how):
    w = _training_window(qtbot, tmp_path, mnist_dir)
    folder = Path(w.run_info.run_folder)
    assert folder.parent == runs_dir and folder.name.endswith("_mnist_gaussian")
    if how == "stop":
        w.stop_button.click()
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    else:
        w.close()
    step = int(load_checkpoint(folder / "checkpoint.pt")["step"])
    assert step >= 5
    reader = RunReader(folder)
    assert reader.info()["status"] == "stopped" and reader.info()["step"] == step
    assert reader.new_metrics().step[-1] == step and reader.new_snapshot() is not None
    from core.compare import run_stats   # what `draw-gui compare` reads
    assert run_stats(folder).steps == step and run_stats(folder).status == "stopped"
    if how == "stop":
        w.close()


def test_the_runs_tab_lists_a_window_run_and_continues_it_in_its_own_folder(qtbot, tmp_path, mnist_dir):
    w = _training_window(qtbot, tmp_path, mnist_dir)
    folder = w.run_info.run_folder
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    step = int(load_checkpoint(Path(folder) / "checkpoint.pt")["step"])
    w.tabs.setCurrentWidget(w.runs_list)
    qtbot.waitUntil(lambda: [r.name for r in w.runs_list.runs()] == [Path(folder).name], timeout=5000)
    row = w.runs_list.tree.topLevelItem(0)
    assert f"{step:,} / " in " ".join(row.text(c) for c in range(row.columnCount()))
    assert w.runs_list.select(folder) and w.runs_list.continue_action.isEnabled()
    w.runs_list.continue_action.trigger()
    qtbot.waitUntil(lambda: w.state == "running", timeout=30000)
    assert w.run_info.run_folder == folder and w.run_info.step == step
    qtbot.waitUntil(lambda: w.loss_plot.point_count() >= step + 3, timeout=30000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    steps = RunReader(folder).new_metrics().step
    assert list(steps) == list(range(1, len(steps) + 1)) and len(steps) >= step + 3   # one growing run
    # Remove from list hides it, for the next launch too; its files stay
    w.runs_list.select(folder)
    w.runs_list.remove_action.trigger()
    assert w.runs_list.runs() == [] and (Path(folder) / "checkpoint.pt").is_file()
    assert folder in w.settings.get("hidden_runs")
    w.close()
