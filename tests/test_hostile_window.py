"""The window against hostile files and careless lifetimes, as a user meets them: a damaged
checkpoint opened from the menu or the model chooser is one dialog with one line, and what was
shown stays; a followed run folder that is damaged, filled with nonsense or deleted never raises,
says what happened and never aborts the process; a closed window is freed."""
from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import time
import urllib.request
import weakref

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from core.checkpoint import load_checkpoint
from core.config import DrawConfig, TrainConfig
from core.data import Batches, ImageData
from core.live_run import snapshot_trace
from core.loop import Trainer
from core.runfolder import RunFolder, save_trace
from draw_gui.follow import follower as run_follower
from draw_gui.window.settings import Settings
from draw_gui.window.main_window import MainWindow
from tests.conftest import REPO
from tests.test_hostile_checkpoints import CASES, _hostile, good  # noqa: F401 - `good` is a fixture

OPTIMIZER_CASES = ["optimizer garbage", "optimizer moments of the wrong shape", "optimizer betas garbage"]


def _hostile_file(good, folder, case):
    """tests/test_hostile_checkpoints.py's hostile checkpoints, and some with a damaged optimizer
    state in a file that is otherwise fine (fused Adam given moments of the wrong shape crashed the
    process with SIGSEGV at the first step)."""
    if case not in OPTIMIZER_CASES:
        return _hostile(good, folder, case)
    folder.mkdir(parents=True, exist_ok=True)
    ckpt = load_checkpoint(good)
    opt = ckpt["optimizer"]
    if case == "optimizer garbage":
        ckpt["optimizer"] = {"state": "garbage", "param_groups": "garbage"}
    elif case == "optimizer moments of the wrong shape":
        opt["state"] = {k: {n: (torch.zeros(7) if v.dim() else v) for n, v in s.items()}
                        for k, s in opt["state"].items()}
    else:
        opt["param_groups"][0]["betas"] = "garbage"
    path = folder / "checkpoint.pt"
    torch.save(ckpt, path)
    return path


def _peak_kb() -> int:
    return int([ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0])


def _rss_kb() -> int:
    return int([ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmRSS")][0])


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A window with no data folder and no network (MNIST runs fall back to the embedded sample),
    its dialogs recorded and answered Discard."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("DRAW_GUI_DATA", str(empty))
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network is unreachable")))
    monkeypatch.setattr(run_follower, "POLL_INTERVAL_MS", 50)
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.dialogs = []
    w._exec = lambda box: (w.dialogs.append((box.windowTitle(), box.text())), QMessageBox.Discard)[1]
    w.show()
    yield w
    w.worker.dirty = False
    w.close()


def _show(qtbot, w, path):
    """Show `path` read-only, as the model on screen before the hostile file is opened."""
    w.view_checkpoint(str(path))
    qtbot.waitUntil(lambda: w.run_info is not None and w.glimpse_view.trace() is not None, timeout=20000)
    return w.windowTitle(), w.glimpse_view.trace(), w.run_info, w.shown


def _open_from_menu(w, path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    w.open_action.trigger()


def _open_from_chooser(w, path, monkeypatch, kind):
    """Pick the file (a recent checkpoint) or its folder (a recent run, shown read-only) in the chooser."""
    w.settings.set("recent", [str(path)])
    w.settings.set("recent_runs", [str(path.parent)])
    w.model_chooser.refresh()
    value = str(path) if kind == "file" else str(path.parent)
    index = w.model_chooser.index_of(kind, value)
    assert index >= 0, w.model_chooser.entries()
    w.model_chooser.setCurrentIndex(index)
    w.model_chooser.activated.emit(index)


ENTRIES = {"File > Open": lambda w, p, mp: _open_from_menu(w, p, mp),
           "chooser: recent file": lambda w, p, mp: _open_from_chooser(w, p, mp, "file"),
           "chooser: recent run": lambda w, p, mp: _open_from_chooser(w, p, mp, "run")}


@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("case", CASES + OPTIMIZER_CASES)
def test_a_hostile_checkpoint_is_one_dialog_and_the_model_shown_stays(qtbot, window, good, tmp_path, monkeypatch,
                                                                      case, entry):
    if entry == "chooser: recent run" and case in OPTIMIZER_CASES:
        pytest.skip("a run's checkpoint is shown read-only: its optimizer state is not read")
    w = window
    title, trace, info, shown = _show(qtbot, w, good)
    path = _hostile_file(good, tmp_path / "hostile", case)
    rss, started = _rss_kb(), time.monotonic()
    ENTRIES[entry](w, path, monkeypatch)
    qtbot.waitUntil(lambda: len(w.dialogs) > 0 and w.state not in ("loading",) and w._pending is None, timeout=5000)
    took = time.monotonic() - started
    assert len(w.dialogs) == 1, w.dialogs
    heading, text = w.dialogs[0]
    assert heading == "Unusable checkpoint", w.dialogs
    assert len(text.splitlines()) == 1 and str(path) in text and "Traceback" not in text, text
    assert took < 5 and _peak_kb() - rss < 1024 * 1024, (took, _peak_kb() - rss)
    # nothing else changed: the model shown, its title, glimpses and controls
    assert w.windowTitle() == title and w.glimpse_view.trace() is trace
    assert w.run_info is info and w.shown is shown and w.state == "idle"
    assert w.start_button.isEnabled() and w.continue_button.isEnabled()
    assert w.model_chooser.currentIndex() == -1 and w.model_chooser.placeholderText() == shown.name


def _show_damaged_optimizer(qtbot, w, good, tmp_path):
    """A checkpoint whose weights are fine and whose optimizer state is not, shown (read-only):
    its path and what _show returns."""
    path = _hostile_file(good, tmp_path / "run", "optimizer moments of the wrong shape")
    return path, _show(qtbot, w, path)


def _continue_briefly(w):
    w.config_panel.set_values({**w.config_panel.values(), "epochs": 1, "batch_size": 16})
    w.continue_button.click()


def test_continuing_a_model_whose_optimizer_state_is_damaged_is_refused_in_one_line(qtbot, window, good, tmp_path):
    """The weights are fine, so the model shows read-only; continuing it would load the optimizer
    state: refused in one line (as `train --restore` refuses it), never a crash at the first step."""
    w = window
    path, (title, trace, info, shown) = _show_damaged_optimizer(qtbot, w, good, tmp_path)
    _continue_briefly(w)
    qtbot.waitUntil(lambda: len(w.dialogs) > 0 and w._pending is None, timeout=30000)
    assert w.dialogs == [("Unusable checkpoint", w.dialogs[0][1])] and "optimizer state" in w.dialogs[0][1]
    assert str(path) in w.dialogs[0][1] and len(w.dialogs[0][1].splitlines()) == 1
    assert w.windowTitle() == title and w.glimpse_view.trace() is trace and w.run_info is info
    assert w.state == "idle" and w.continue_button.isEnabled()


def test_the_window_is_back_to_idle_when_the_failure_is_shown_not_only_after_the_next_signal(
        qtbot, window, good, tmp_path, monkeypatch):
    """The worker reports a failed load, then its FAILED state: two signals that the GUI thread
    may handle apart. The dialog already finds the window as it was (idle, Continue enabled)."""
    w = window
    _show_damaged_optimizer(qtbot, w, good, tmp_path)
    seen, show_failure = [], w.show_failure
    monkeypatch.setattr(w, "show_failure", lambda *a, **k: (seen.append(w.state), show_failure(*a, **k)))
    w.worker.state_changed.disconnect(w._on_state)     # as if the state signal came late
    _continue_briefly(w)
    qtbot.waitUntil(lambda: len(w.dialogs) > 0, timeout=30000)
    assert w.dialogs[0][0] == "Unusable checkpoint"
    assert seen == ["idle"] and w.state == "idle" and w.continue_button.isEnabled()


# ---- following a run folder ---------------------------------------------------------------------
def _tiny_run(folder, steps=4):
    """A real run folder: run.json, metrics.csv, snapshot.npz and checkpoint.pt of a tiny model."""
    g = torch.Generator().manual_seed(0)
    data = ImageData("tiny", torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8, generator=g),
                     torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8, generator=g), "threshold", "random")
    model = DrawConfig(image_shape=(1, 8, 8), read_size=2, write_size=3, glimpses=3, z_size=4, enc_size=16,
                       dec_size=16)
    trainer = Trainer(model, TrainConfig(batch_size=8, max_steps=steps, device="cpu"), Batches(data, 8))
    trainer.run()
    run = RunFolder(folder)
    run.write_info({"status": "running", "step": steps, "total_steps": 100, "steps_per_epoch": 8,
                    "model_config": model.to_dict(), "train_config": trainer.config.to_dict()})
    run.write_metrics(trainer.history)
    run.save_checkpoint(trainer.checkpoint())
    run.write_snapshot(snapshot_trace(trainer.model, Batches(data, 8).examples(4)), step=steps)
    return run


def _following(qtbot, w, folder, steps=4):
    assert w.follow_run(str(folder))
    qtbot.waitUntil(lambda: w.loss_plot.point_count() == steps and w.glimpse_view.trace() is not None
                    and w.follow.weights_step == steps, timeout=10000)


def _polls(qtbot, w, n):
    """Wait until the follower has delivered n more polls."""
    seen = []
    w.follow.follower.updated.connect(seen.append)
    qtbot.waitUntil(lambda: len(seen) >= n, timeout=5000)
    w.follow.follower.updated.disconnect(seen.append)
    return seen


def test_a_followed_folder_that_is_deleted_says_so_and_polls_on_quietly(qtbot, window, tmp_path):
    w, folder = window, tmp_path / "run"
    _tiny_run(folder)
    _following(qtbot, w, folder)
    trace = w.glimpse_view.trace()
    shutil.rmtree(folder)
    qtbot.waitUntil(lambda: "the run folder is gone" in w.windowTitle(), timeout=5000)
    assert "the run folder is gone" in w.statusBar().currentMessage() and str(folder) in w.statusBar().currentMessage()
    assert "the run folder is gone" in w.banner.text() and w.banner.isVisible()
    assert "the run folder is gone" in w.rate_label.text()
    # what it showed stays; the window still follows (Stop following is offered); polls go on, cheaply
    assert w.loss_plot.point_count() == 4 and w.glimpse_view.trace() is trace and w.state == "following"
    assert w.stop_follow_action.isEnabled() and w.follow.follower.timer.isActive()
    polls = _polls(qtbot, w, 3)       # one stat each, and nothing but "gone" to say
    assert all(u.gone and len(u.problems) == 1 and not u.changed for u in polls)
    assert w.follow.gone and w.dialogs == []
    # it comes back (remounted, synced again): shown again from the start, without duplicates
    _tiny_run(folder, steps=6)
    qtbot.waitUntil(lambda: w.loss_plot.point_count() == 6 and "step 6" in w.windowTitle(), timeout=5000)
    assert "gone" not in w.windowTitle() and "gone" not in w.banner.text() and not w.follow.gone
    w.stop_following()
    assert w.state == "idle" and w.windowTitle() == "draw-gui"


def test_untrusted_run_folder_data_never_raises_in_the_follower_or_the_plot(qtbot, window, tmp_path):
    """pytest-qt fails this test on any exception raised in a slot (the follower's, the plot's)."""
    w, folder = window, tmp_path / "run"
    _tiny_run(folder)
    _following(qtbot, w, folder)
    with open(folder / "metrics.csv", "a") as f:      # step, epoch, loss, recon, kl, time
        f.write("nan,0,1,1,1,1\n1e21,0,1,1,1,1\n-3,0,1,1,1,1\n5,0,nan,inf,-inf,1\nmany,x,y\n6,0,100,90,10,1\n")
    (folder / "eval.csv").write_text("step,epoch,nll_bound,recon,kl\nnan,0,1,1,1\n1e21,0,1,1,1\nx,y,z\n")
    qtbot.waitUntil(lambda: w.follow.step == 6, timeout=5000)
    steps = w.loss_plot.curves[0].getData()[0]
    assert list(steps) == [1, 2, 3, 4, 5, 6]
    json.dump({"status": "running", "step": "many", "total_steps": 1e21, "steps_per_epoch": "x", "world_size": -3,
               "images_per_s": "fast", "host": ["x"], "model_config": "garbage", "train_config": {"lr": "x"}},
              open(folder / "run.json", "w"))
    qtbot.waitUntil(lambda: w.follow.info.get("status") == "running" and "host" not in w.follow.info, timeout=5000)
    assert "step 6" in w.windowTitle() and "step 6" in w.step_label.text()
    # a snapshot whose step is out of range is skipped and named; one that cannot be read is skipped
    trace = w.glimpse_view.trace()
    problems = []
    w.follow.follower.updated.connect(lambda u: problems.extend(u.problems))
    for step in (1e21, -1):
        problems.clear()
        save_trace(folder / "snapshot.npz", trace, step=step)
        qtbot.waitUntil(lambda: any("snapshot.npz" in p for p in problems), timeout=5000)
        assert w.glimpse_view.trace() is trace and w.follow.snapshot_step == 4 and w.follow.step == 6
    save_trace(folder / "snapshot.npz", trace, step=np.nan)
    _polls(qtbot, w, 3)
    assert w.glimpse_view.trace() is trace and w.follow.snapshot_step == 4 and w.follow.step == 6
    # a checkpoint whose settings would flood memory never reaches the latent explorer
    hostile = _hostile(folder / "checkpoint.pt", tmp_path / "hostile", "glimpses 10**7")
    shutil.copy(hostile, folder / "checkpoint.pt")
    qtbot.waitUntil(lambda: any("checkpoint.pt" in p for p in problems), timeout=5000)
    assert any("glimpses must be at most" in p for p in problems) and w.follow.weights_step == 4
    assert w.latent_view._config.glimpses == 3
    assert "following run" in w.windowTitle() and w.state == "following" and w.dialogs == []


# ---- threads and lifetimes ----------------------------------------------------------------------
ABORT_SCRIPT = r"""
import gc, os, shutil, sys, weakref
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
from PySide6.QtCore import QDeadlineTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from draw_gui.workers import job_thread
from draw_gui.follow import follower as run_follower
from draw_gui.window.settings import Settings
from draw_gui.window.main_window import MainWindow
from tests.test_hostile_window import _tiny_run

run_follower.POLL_INTERVAL_MS = 50
tmp = sys.argv[2]
app = QApplication([])

def wait_until(check, what, seconds=20):
    deadline = QDeadlineTimer(int(seconds * 1000))
    while not check():
        if deadline.hasExpired():
            sys.exit(f"timed out waiting for {what}")
        QTest.qWait(10)

def window(name, open_model=False):
    w = MainWindow(Settings(os.path.join(tmp, name + ".json")), open_model=open_model)
    w._exec = lambda box: QMessageBox.Discard
    w.show()
    return w

refs = []
# 1. Opens on the shipped model (its weights may still be on their way), follows a run, which is
#    then damaged and deleted; the window is closed.
folder = os.path.join(tmp, "run")
_tiny_run(folder)
w = window("a", open_model=True)
wait_until(lambda: w._token > 0, "the shipped model asked for")
assert w.follow_run(folder)
wait_until(lambda: w.follow.weights_step == 4 and w.glimpse_view.trace() is not None, "the followed run")
problems = []
w.follow.follower.updated.connect(lambda u: problems.extend(u.problems))
open(os.path.join(folder, "metrics.csv"), "a").write("nan,x,y\n1e21,0,1,1,1,1\n")
open(os.path.join(folder, "run.json"), "w").write('{"step": "many"}')
open(os.path.join(folder, "checkpoint.pt"), "wb").write(b"PK garbage")
wait_until(lambda: any("checkpoint.pt" in p for p in problems), "the damage")
shutil.rmtree(folder)
wait_until(lambda: "the run folder is gone" in w.windowTitle(), "the deletion")
w.close()
refs.append(weakref.ref(w))
del w
# 2. Follows, stops following, closes.
_tiny_run(folder)
w = window("b")
assert w.follow_run(folder)
wait_until(lambda: w.follow.weights_step == 4, "the followed run")
w.stop_following()
w.close()
refs.append(weakref.ref(w))
del w
# 3. A follow that fails (not a run folder), then closes at once.
w = window("c")
assert not w.follow_run(tmp)
w.close()
refs.append(weakref.ref(w))
del w
for _ in range(3):
    app.processEvents()
    gc.collect()
print("alive", sum(r() is not None for r in refs), "unjoined", job_thread.unjoined(), flush=True)
"""


def test_closing_after_following_a_damaged_then_deleted_folder_never_aborts(tmp_path):
    """`QThread: Destroyed while thread 'draw-gui latent decoder' is still running`, then SIGABRT,
    ended such a session once. In a process of its own, so that an abort is seen as one."""
    script = tmp_path / "session.py"
    script.write_text(ABORT_SCRIPT)
    run = subprocess.run([sys.executable, str(script), str(REPO), str(tmp_path)], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "QThread: Destroyed" not in run.stderr and "malformed" not in run.stderr, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "alive 0 unjoined 0" in run.stdout, run.stdout + run.stderr[-3000:]


def _use_and_close(qtbot, settings, how, good, folder):
    """A window created, shown, used `how`, and closed: (a weak reference to it, its threads)."""
    w = MainWindow(Settings(settings), open_model=False)
    w._exec = lambda box: QMessageBox.Discard     # on the instance: a monkeypatch would hold the window
    w.show()
    if how == "model":   # the worker holds a model, the Latent tab's decoder a copy
        w.view_checkpoint(str(good))
        qtbot.waitUntil(lambda: w.glimpse_view.trace() is not None and w.latent_view.decoder is not None,
                        timeout=20000)
    elif how == "follow":
        assert w.follow_run(str(folder))
        qtbot.waitUntil(lambda: w.follow.weights_step == 4, timeout=10000)
    elif how == "menus":   # the chooser's and the tabs' slots used once
        w.model_chooser.refresh()
        w.tabs.setCurrentWidget(w.compare_view)
    w.close()
    return weakref.ref(w), [w.thread] + ([w.latent_view.decoder._thread] if w.latent_view.decoder else [])


def test_closed_windows_are_freed(qtbot, tmp_path, good):
    """Each window held ~90 MB for the rest of the process: lambdas naming the window, connected
    to its widgets' signals, are held by Qt, a cycle gc cannot see."""
    folder = tmp_path / "run"
    _tiny_run(folder)
    refs, threads = [], []
    for i, how in enumerate(("plain", "model", "follow", "menus")):
        ref, its_threads = _use_and_close(qtbot, tmp_path / f"settings{i}.json", how, good, folder)
        refs.append(ref)
        threads += its_threads
    QApplication.processEvents()
    gc.collect()
    assert [r() is not None for r in refs] == [False] * 4
    assert len(threads) == 6 and all(t.isFinished() for t in threads)   # joined, not merely let go
