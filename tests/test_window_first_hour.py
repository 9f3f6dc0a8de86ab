"""What a new user's first hour in the window went wrong on: the window must say the truth."""
from __future__ import annotations

import json

import pytest

from draw_gui.follow import follower as run_follower
from draw_gui.window.main_window import MainWindow
from draw_gui.window.settings import Settings
from tests.helpers import record_dialogs
from tests.test_hostile_checkpoints import good  # noqa: F401 - a fixture

SMALL = dict(glimpses=4, hidden=32, z_size=8, batch_size=32, read_size=2, write_size=3)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = MainWindow(Settings(tmp_path / "settings.json"), open_model=False)
    qtbot.addWidget(w)
    w.dialogs = []
    record_dialogs(monkeypatch, w, w.dialogs)
    w.show()
    yield w
    w.close()


def test_the_status_bar_shows_speed_only_while_training_and_says_paused(qtbot, window, mnist_dir):
    w = window
    w.config_panel.set_values({"data_dir": str(mnist_dir), **SMALL})
    w.start_button.click()
    qtbot.waitUntil(lambda: "img/s" in w.rate_label.text(), timeout=30000)
    assert "ETA" in w.rate_label.text()
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    assert "paused" in w.rate_label.text() and "img/s" not in w.rate_label.text()
    before = w.loss_plot.point_count()
    w.step_button.click()              # one step while paused reports its numbers, not a speed
    qtbot.waitUntil(lambda: w.loss_plot.point_count() > before, timeout=10000)
    assert "paused" in w.rate_label.text() and "ETA" not in w.rate_label.text()
    w.pause_button.click()             # resume
    qtbot.waitUntil(lambda: "img/s" in w.rate_label.text(), timeout=10000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    assert w.rate_label.text() == "stopped"


def test_view_run_hides_and_shows_the_run_panel(qtbot, window):
    w = window
    toggle = w.config_dock.toggleViewAction()
    assert toggle.isEnabled() and w.config_dock.isVisible()
    toggle.trigger()
    qtbot.waitUntil(lambda: not w.config_dock.isVisible())
    toggle.trigger()
    qtbot.waitUntil(lambda: w.config_dock.isVisible())


def test_following_a_run_never_becomes_the_users_own_settings(qtbot, tmp_path, monkeypatch):
    from tests.test_follow import _write_run
    monkeypatch.setattr(run_follower, "POLL_INTERVAL_MS", 50)
    folder = tmp_path / "run"
    run = _write_run(folder, 5, 0.2)
    theirs = {"glimpses": 32, "enc_size": 400, "dec_size": 400, "z_size": 200, "read_size": 5, "write_size": 5,
              "attention": "gaussian", "image_shape": [1, 28, 28]}
    run.write_info({"status": "running", "step": 5, "total_steps": 100, "steps_per_epoch": 50, "dataset": "mnist",
                    "model_config": theirs, "train_config": {"batch_size": 128}})
    settings = tmp_path / "settings.json"
    w = MainWindow(Settings(settings), open_model=False)
    qtbot.addWidget(w)
    w.config_panel.set_values({**w.config_panel.values(), **SMALL})
    w.show()
    assert w.follow_run(str(folder))
    qtbot.waitUntil(lambda: w.config_panel.values()["glimpses"] == 32, timeout=5000)   # the panel shows theirs
    w.close()                                                                          # closed while following
    saved = json.loads(settings.read_text())["config"]
    assert saved["glimpses"] == 4 and saved["hidden"] == 32                            # the next launch: mine


def test_the_disabled_image_size_shows_the_data_sets_own_size(qtbot):
    from draw_gui.window.config_panel import ConfigPanel
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    size = panel.fields["image_size"]
    panel.set_values({"dataset": "mnist", "image_size": 48})
    assert size.value() == 28 and not size.isEnabled()          # what MNIST is, not the folder setting
    panel.set_values({**panel.values(), "dataset": "cifar10"})
    assert size.value() == 32 and not size.isEnabled()
    panel.dataset.setCurrentIndex(panel.dataset.findData("folder"))
    assert size.value() == 48 and size.isEnabled()              # the user's folder size is kept
    size.setValue(64)
    panel.dataset.setCurrentIndex(panel.dataset.findData("mnist"))
    assert size.value() == 28 and panel.values()["image_size"] == 64
    panel.set_values({**panel.values(), "read_size": 40})     # the reason names the size shown
    assert "28x28" in panel.fields["read_size"].toolTip() and "28x28" in panel.error_label.text()


def test_a_data_folder_that_does_not_exist_is_outlined_and_never_created(qtbot, window, tmp_path):
    w, missing = window, tmp_path / "nonexistent" / "mnist"
    w.config_panel.set_values({**w.config_panel.values(), **SMALL, "dataset": "mnist", "data_dir": str(missing)})
    assert not w.config_panel.is_valid() and not w.start_button.isEnabled()
    assert "does not exist" in w.config_panel.fields["data_dir"].toolTip()
    assert w.config_panel.fields["data_dir"].styleSheet() != ""          # outlined in red
    w.start()                                                           # Start is refused: nothing happens
    from core.data import DataUnavailable, load_dataset                 # and the core never makes it either
    with pytest.raises(DataUnavailable, match="does not exist"):
        load_dataset("mnist", data_dir=missing)
    assert not missing.exists() and not missing.parent.exists()


def test_the_sample_banner_names_the_folder_it_looked_in(qtbot, window, tmp_path, monkeypatch):
    import urllib.request
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    w = window
    w.config_panel.set_values({**w.config_panel.values(), **SMALL, "dataset": "mnist", "data_dir": str(empty)})
    w.start_button.click()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=60000)
    assert "embedded MNIST sample" in w.banner.text() and str(empty) in w.banner.text()
    qtbot.waitUntil(lambda: w.state == "running", timeout=10000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state in ("stopped", "finished"), timeout=10000)


def test_no_widget_in_the_window_shows_raw_tex(qtbot, window):
    from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget
    texts = []
    for widget in window.findChildren(QWidget):
        texts.append(widget.toolTip())
        if isinstance(widget, (QLabel, QAbstractButton)):
            texts.append(widget.text())
        if isinstance(widget, QGroupBox):
            texts.append(widget.title())
    from PySide6.QtGui import QAction
    texts += [a.text() + a.toolTip() for a in window.findChildren(QAction)]
    assert len(texts) > 100
    raw = [t for t in texts if "_{" in t or "^{" in t or "c_T" in t or "c_t" in t]
    assert raw == []


def test_space_pauses_training_after_the_play_button_was_clicked(qtbot, window, mnist_dir):
    from PySide6.QtCore import Qt
    w = window
    w.config_panel.set_values({"data_dir": str(mnist_dir), **SMALL})
    w.start_button.click()
    qtbot.waitUntil(lambda: w.state == "running" and w.glimpse_view.trace() is not None, timeout=30000)
    qtbot.mouseClick(w.glimpse_view.timeline.play_button, Qt.LeftButton)   # the glimpses play
    assert w.glimpse_view.timeline.play_button.isChecked()
    focused = w.focusWidget() or w
    qtbot.keyClick(focused, Qt.Key_Space)
    qtbot.waitUntil(lambda: w.state == "paused", timeout=5000)              # Space meant training
    assert w.glimpse_view.timeline.play_button.isChecked()                 # and the glimpses play on


def test_start_says_what_it_is_loading_until_the_run_is_ready(qtbot, window, mnist_dir):
    w = window
    messages, bars = [], []
    w.statusBar().messageChanged.connect(messages.append)
    w.statusBar().messageChanged.connect(lambda _: bars.append((w.load_bar.isVisibleTo(w), w.load_bar.value(),
                                                                 w.load_bar.maximum())))
    w.config_panel.set_values({"data_dir": str(mnist_dir), **SMALL})
    w.start_button.click()
    assert w.state == "loading" and "loading MNIST" in w.statusBar().currentMessage()   # at once, not after
    qtbot.waitUntil(lambda: w.state == "running", timeout=30000)
    assert "loading" not in w.statusBar().currentMessage()                             # gone once it trains
    assert not w.load_bar.isVisibleTo(w)
    # Each stage in turn, the folder it reads named, with a bar counting the stages
    stages = [m for m in messages if m.startswith("new model: ")]
    assert stages == ["new model: starting torch… (1/4)", f"new model: reading mnist from {mnist_dir}… (2/4)",
                      "new model: building the model… (3/4)", "new model: drawing the first glimpses… (4/4)"]
    assert [b for b in bars if b[0]] == [(True, i, 4) for i in range(1, 5)], (bars, messages)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)


def test_opening_a_checkpoint_says_each_stage_and_ends_clean(qtbot, window, good):  # noqa: F811
    w = window
    messages = []
    w.statusBar().messageChanged.connect(messages.append)
    w.view_checkpoint(str(good))
    qtbot.waitUntil(lambda: w.run_info is not None and w.shown.path == str(good), timeout=30000)
    name = good.name
    stages = [m for m in messages if m.startswith(f"opening {name}: ")]
    assert stages == [f"opening {name}: starting torch… (1/3)", f"opening {name}: reading the checkpoint… (2/3)",
                      f"opening {name}: drawing the first glimpses… (3/3)"]
    assert not w.load_bar.isVisibleTo(w)


def test_opening_a_model_after_a_sample_run_replaces_every_field_and_quits_without_asking(qtbot, window, tmp_path,
                                                                                         monkeypatch):
    """Train on the embedded sample (banner up, a speed in the status bar), stop, open the shipped
    model's file: the banner, title, step, speed and plot are the opened model's; quitting asks nothing."""
    import urllib.request

    from draw_gui.models.shipped import DEFAULT, shipped_model
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network is unreachable")))
    w = window
    (tmp_path / "empty").mkdir()
    w.config_panel.set_values({"data_dir": str(tmp_path / "empty"), **SMALL})
    w.start_button.click()
    qtbot.waitUntil(lambda: "img/s" in w.rate_label.text(), timeout=60000)
    assert w.banner.isVisible()
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    shipped = shipped_model(DEFAULT)
    w.open_checkpoint(str(shipped.checkpoint))
    qtbot.waitUntil(lambda: w.shown is not None and w.shown.shipped is not None and w.state == "idle", timeout=30000)
    assert not w.banner.isVisible()
    assert DEFAULT in w.windowTitle()
    assert w.step_label.text().startswith(f"step {shipped.card['training']['steps']:,}") and "/" not in w.step_label.text()
    assert "img/s" not in w.rate_label.text() and "ETA" not in w.rate_label.text()
    assert w.loss_plot.point_count() > 1000                 # the shipped model's own curves
    assert not w.epoch_bar.isVisible() and not w.load_bar.isVisible()
    w.close()
    assert w.dialogs == []                                  # nothing unsaved: the sample run is in its folder


def test_a_model_continued_at_another_batch_size_shows_the_epochs_of_images_it_saw(qtbot, window, good,  # noqa: F811
                                                                                  tmp_path):
    """2 steps of 16 images, then 4 of 2,000 on the 10,000-digit sample: 8,032 images, 0.8 epochs.
    The epoch counter of the last run (6 steps at 5 per epoch) would say 1."""
    from core.checkpoint import load_checkpoint, save_checkpoint
    from core.config import TrainConfig
    from core.data import Batches
    from core.loop import Trainer
    from draw_gui.resources import embedded_mnist
    from tests.test_hostile_checkpoints import TINY
    more = Trainer(TINY, TrainConfig(batch_size=2000, max_steps=6, device="cpu"), Batches(embedded_mnist(), 2000),
                   checkpoint=load_checkpoint(good))
    more.run()
    path = save_checkpoint(tmp_path / "continued.pt", more.checkpoint())
    assert more.epoch == 1 and more.images_seen == 2 * 16 + 4 * 2000
    window.view_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.run_info is not None and window.shown.path == str(path), timeout=30000)
    assert window.step_label.text() == "step 6 · 0.8 epochs"
