"""The window opens alive: on the trained model that ships with draw-gui, with no data folder and no
network; the model chooser, Continue training, About this model and Compare work with shipped
models, and a shipped model's file is never written. Driven as a user would, with the real worker."""
from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.config import RESTART_WARMUP_STEPS
from core.data import Batches, load_embedded_mnist
from draw_gui.resources import resource_path
from draw_gui.window.settings import Settings
from draw_gui.models.shipped import DEFAULT, shipped_model
from draw_gui.window.main_window import MainWindow
from tests.helpers import record_dialogs

SMALL = dict(glimpses=4, hidden=32, z_size=8, batch_size=32, read_size=2, write_size=3)


def checkpoint(name: str) -> dict:
    return torch.load(shipped_model(name).checkpoint, weights_only=True)


def last_rate(name: str) -> float:
    """The learning rate of the shipped model's last step: its schedule at its history's last epoch."""
    ckpt = checkpoint(name)
    train = ckpt["train_config"]
    return train["lr"] * train["lr_decay"] ** int(ckpt["history"]["epoch"][-1])


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    """A first-time user's window: fresh settings, no data folder configured, DRAW_GUI_DATA an
    empty folder (no MNIST anywhere) and no network. Dialogs are recorded and answered `answer`."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("DRAW_GUI_DATA", str(empty))
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network is unreachable")))
    windows = []

    def make(answer=QMessageBox.Discard, **values):
        w = MainWindow(Settings(tmp_path / "settings.json"))
        qtbot.addWidget(w)
        w.dialogs, w.answer = [], answer
        record_dialogs(monkeypatch, w, w.dialogs, lambda: w.answer)
        if values:
            w.config_panel.set_values({**w.config_panel.values(), **values})
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.worker.dirty = False
        w.close()


def showing(qtbot, w, name: str, timeout: int = 20000):
    """Wait until every view shows the shipped model `name`; returns its glimpse trace."""
    def ready():
        s, trace = w.shown, w.glimpse_view.trace()
        return (s is not None and s.shipped is not None and s.shipped.name == name and not s.continued_from
                and trace is not None and not w.snapshot_pending and w.run_info.view_only
                and trace.glimpses == w.run_info.model.glimpses
                and (trace.read is None) == (w.run_info.model.attention == "none"))
    qtbot.waitUntil(ready, timeout=timeout)
    return w.glimpse_view.trace()


def continue_shipped(qtbot, w) -> list[int]:
    """Continue training on the shipped mnist model shown, until two steps have trained; the steps
    reported, growing while it trains."""
    showing(qtbot, w, "mnist")
    steps = []
    w.worker.metrics.connect(lambda u: steps.append(int(u.progress.step)))
    w.continue_button.click()
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=60000)
    return steps


def choose(w, kind: str, value: str):
    """Pick an entry of the toolbar's model chooser, as a user does."""
    index = w.model_chooser.index_of(kind, value)
    assert index >= 0, (kind, value, w.model_chooser.entries())
    w.model_chooser.setCurrentIndex(index)
    w.model_chooser.activated.emit(index)


def test_a_fresh_window_opens_on_the_shipped_mnist_model_without_data(qtbot, make_window):
    assert DEFAULT == "mnist"
    ckpt = checkpoint("mnist")
    w = make_window()
    said = []   # the status bar, the chooser and the loss plot's points as they were, while it loads
    epochs = shipped_model("mnist").card["training"]["epochs"]
    figures = (f"step {ckpt['step']:,} · {epochs:g} epochs", f"test NLL bound {ckpt['evals'][-1]['nll_bound']:.2f} nats")

    def record(message):
        chooser, marked = w.model_chooser, w.loss_plot.eval_markers.getData()[0]
        said.append((message, chooser.currentText() if chooser.currentIndex() >= 0 else chooser.placeholderText(),
                     w.loss_plot.point_count(), 0 if marked is None else len(marked),
                     w.device_label.text(), w.step_label.text(), w.rate_label.text(), w.epoch_bar.isVisible()))
    w.statusBar().messageChanged.connect(record)
    started = time.monotonic()
    trace = showing(qtbot, w, "mnist")
    # torch's first import takes seconds on a cold start: the window says what it is loading, and
    # the model's curves and figures are shown already (from its run files and card, without torch),
    # not "no run" beside an empty epoch bar
    assert ("opening mnist (shipped): starting torch… (1/3)", "loading mnist (shipped)…",
            len(ckpt["history"]["step"]), len(ckpt["evals"]), "loading…", *figures, False) in said, said
    took = time.monotonic() - started
    assert took < 15, took  # generous: torch is already imported here; the app itself measures ~2 s
    assert trace.glimpses == 64 and trace.batch == 8 and trace.images.shape == (8, 1, 28, 28)
    assert trace.read is not None and trace.write is not None          # Gaussian attention: boxes drawn
    assert not w.glimpse_view.image().isNull()
    # the first 8 test digits of the embedded sample, as the window's snapshots use them
    sample = Batches(load_embedded_mnist(resource_path("mnist_sample.npz")), 1).examples(8).numpy()
    assert np.array_equal(trace.images, sample)
    # a trained model draws the digit it read: its final canvas is close to it, the mean image is not
    x, final = trace.images, trace.canvases[-1]
    error = np.abs(final - x).mean()
    baseline = np.abs(x.mean(axis=0, keepdims=True) - x).mean()
    assert error < 0.4 * baseline, (error, baseline)
    for i in range(8):
        assert np.corrcoef(final[i].ravel(), x[i].ravel())[0, 1] > 0.8
    # title, status bar, chooser and loss plot all name this model
    assert "mnist (shipped)" in w.windowTitle() and f"step {ckpt['step']:,}" in w.windowTitle()
    # the card's epochs, from the images it saw (it went on at batch 128): not the checkpoint's counter
    assert epochs != ckpt["epoch"] and (w.step_label.text(), w.rate_label.text()) == figures
    assert w.device_label.text() == "shown read-only" and not w.epoch_bar.isVisible()
    assert w.model_chooser.currentData() == ("shipped", "mnist")
    assert w.loss_plot.point_count() == len(ckpt["history"]["step"])
    assert len(w.loss_plot.eval_markers.getData()[0]) == len(ckpt["evals"])
    # nothing trains: a new model and continuing this one are both offered; nothing to save
    assert w.state == "idle" and w.start_button.isEnabled() and w.continue_button.isEnabled()
    assert not w.pause_button.isEnabled() and not w.save_action.isEnabled()
    assert not w.banner.isVisible() and w.dialogs == []


def test_a_start_up_model_that_cannot_load_takes_its_preview_away_without_a_dialog(qtbot, make_window, monkeypatch):
    """The shipped model's glimpses and curves show before it loads; if it then fails (a damaged
    install), they go, the status bar says why, and the window is an empty one, ready to Start."""
    import core.checkpoint
    def damaged(path, *a, **k):
        raise core.checkpoint.CheckpointError(f"{path} is damaged: reinstall draw-gui")
    monkeypatch.setattr(core.checkpoint, "load_checkpoint", damaged)
    w = make_window()
    qtbot.waitUntil(lambda: w.glimpse_view.trace() is not None and w.loss_plot.point_count() > 0)  # the preview
    qtbot.waitUntil(lambda: "could not be shown" in w.statusBar().currentMessage(), timeout=30000)
    assert w.statusBar().currentMessage().startswith("mnist (shipped) could not be shown: ")
    assert "is damaged: reinstall draw-gui" in w.statusBar().currentMessage()
    assert w.glimpse_view.trace() is None and w.loss_plot.point_count() == 0
    assert (w.device_label.text(), w.step_label.text(), w.rate_label.text()) == ("no run", "", "")
    assert w.model_chooser.currentIndex() < 0 and w.model_chooser.placeholderText() == "no model"
    assert w.dialogs == [] and w.state == "idle" and w.start_button.isEnabled()


def test_the_latent_tab_decodes_the_trained_model(qtbot, make_window):
    w = make_window()
    showing(qtbot, w, "mnist")
    view = w.latent_view
    w.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.image() is not None and view.up_to_date(), timeout=30000)
    assert view.trace().glimpses == 64 and f"{checkpoint('mnist')['step']:,}" in view.step_label.text()
    view.seed_spin.setValue(1)
    view.lock_seed.setChecked(True)
    view.randomize()
    qtbot.waitUntil(view.up_to_date, timeout=30000)
    first = view.image().copy()
    view.seed_spin.setValue(2)
    view.randomize()
    qtbot.waitUntil(view.up_to_date, timeout=30000)
    second = view.image().copy()
    assert first.shape == (1, 28, 28)
    # two latents, two different drawings: the trained decoder, not one mean image
    assert np.var(np.stack([first, second]), axis=0).mean() > 0.01
    assert first.std() > 0.2 and second.std() > 0.2   # ink on black, not a grey blur


def test_the_shipped_models_training_replays_in_the_glimpses_and_latent_tabs(qtbot, make_window):
    from core.history import HISTORY_NAME, TrainingHistory
    history = TrainingHistory.load(shipped_model("mnist").folder / HISTORY_NAME)
    w = make_window()
    showing(qtbot, w, "mnist")
    w.glimpse_view.history_checkbox.setChecked(True)
    strip = w.glimpse_view.history
    qtbot.waitUntil(lambda: strip.entries() == len(history), timeout=10000)
    assert strip.shown_step() == checkpoint("mnist")["step"]            # it opens on the shipped weights
    strip.slider.setValue(0)
    assert strip.shown_step() == 1 and strip.step_label.text().startswith("step 1 ")
    w.tabs.setCurrentWidget(w.latent_view)
    w.latent_view.history_checkbox.setChecked(True)
    qtbot.waitUntil(lambda: w.latent_view.history.entries() == len(history), timeout=10000)
    assert not w.latent_view.grid.isVisible()                           # the replay takes the grid's place
    choose(w, "shipped", "mnist-noattention")                           # shipped without its history
    showing(qtbot, w, "mnist-noattention")
    qtbot.waitUntil(lambda: strip.entries() == 0 and not strip.slider.isEnabled(), timeout=10000)


def test_the_chooser_switches_every_view_to_another_shipped_model_and_back(qtbot, make_window):
    w = make_window()
    showing(qtbot, w, "mnist")
    assert [e for e in w.model_chooser.entries() if e[0] == "shipped"] == [("shipped", "mnist"),
                                                                       ("shipped", "mnist-noattention")]
    choose(w, "shipped", "mnist-noattention")
    trace = showing(qtbot, w, "mnist-noattention")
    ckpt = checkpoint("mnist-noattention")
    assert trace.read is None and trace.write is None and trace.glimpses == 64   # no attention: no boxes
    assert "mnist-noattention (shipped)" in w.windowTitle() and "no attention" in w.windowTitle()
    assert f"step {ckpt['step']:,}" in w.windowTitle() and f"step {ckpt['step']:,}" in w.step_label.text()
    assert w.loss_plot.point_count() == len(ckpt["history"]["step"])
    assert f"{ckpt['evals'][-1]['nll_bound']:.2f}" in w.rate_label.text()
    assert w.model_chooser.currentData() == ("shipped", "mnist-noattention")
    qtbot.waitUntil(lambda: f"{ckpt['step']:,}" in w.latent_view.step_label.text(), timeout=10000)
    # and back, from the File menu's entry this time
    entry = next(a for a in w.shipped_menu.actions() if a.text().startswith("mnist —"))
    entry.trigger()
    trace = showing(qtbot, w, "mnist")
    assert trace.read is not None and "gaussian attention" in w.windowTitle()
    assert w.model_chooser.currentData() == ("shipped", "mnist") and w.dialogs == []


MODEL_FIELDS = ("attention", "spatial_rotation", "read_size", "write_size", "glimpses", "z_size", "enc_size",
                "dec_size")


def test_the_run_panel_says_where_its_settings_differ_from_the_model_shown(qtbot, make_window):
    """The Run panel keeps the user's settings beside a model shown read-only (they are Start's),
    says so, names the rows that are not the shown model's, and fills them in on request."""
    w = make_window(lr="0.0005", batch_size=32)        # the user's own training settings
    panel = w.config_panel
    showing(qtbot, w, "mnist")
    # A fresh panel says MNIST; the shipped model was trained on the stochastically binarized one
    assert panel.shown_note.isVisible() and "mnist (shipped)" in panel.shown_note.text()
    assert "differs from these settings in: dataset." in panel.shown_note.text()
    assert panel.shown_differences() == ["dataset"] and panel.use_shown_button.isVisible()
    panel.use_shown_button.click()
    v = panel.values()
    assert v["dataset"] == "binarized-mnist" and panel.preset.currentText() == "MNIST (paper)"
    assert (v["lr"], v["batch_size"]) == ("0.0005", 32)   # the training rows stay the user's
    assert panel.shown_differences() == [] and not panel.use_shown_button.isVisible()
    assert "are the ones these settings describe" in panel.shown_note.text()

    choose(w, "shipped", "mnist-noattention")
    showing(qtbot, w, "mnist-noattention")
    assert panel.shown_differences() == ["attention"] and "in: attention." in panel.shown_note.text()
    panel.use_shown_button.click()
    model, train = panel.configs()     # what Start would train: the model shown, the user's rate
    assert {f: getattr(model, f) for f in MODEL_FIELDS} == {f: getattr(w.run_info.model, f) for f in MODEL_FIELDS}
    assert train.lr == 0.0005 and panel.values()["dataset"] == w.run_info.dataset
    panel.fields["glimpses"].setValue(8)                  # edited afterwards: named again
    assert panel.shown_differences() == ["glimpses T"] and panel.use_shown_button.isVisible()

    # A new model of the user's: the note goes (the panel shows that run's own settings)
    panel.set_values({**panel.values(), **SMALL, "dataset": "mnist"})
    w.start_button.click()
    assert not panel.shown_note.isVisible()               # locked while it loads
    qtbot.waitUntil(lambda: w.state == "running" and not w.run_info.view_only, timeout=30000)
    w.stop()
    qtbot.waitUntil(lambda: panel.fields["lr"].isEnabled(), timeout=10000)   # unlocked
    assert not panel.shown_note.isVisible() and not panel.use_shown_button.isVisible()
    assert panel.shown_note.text() == ""


def test_continue_training_goes_on_from_the_shipped_step_and_never_writes_its_file(
        qtbot, make_window, mnist_dir, tmp_path, monkeypatch):
    shipped = shipped_model("mnist")
    original = shipped.checkpoint.read_bytes()
    step0 = int(checkpoint("mnist")["step"])
    w = make_window(data_dir=str(mnist_dir), batch_size=8, epochs=1)
    steps = continue_shipped(qtbot, w)
    assert steps[0] == step0 + 1   # from the model's step, not from 0
    assert w.run_info.dataset == "binarized-mnist" and not w.run_info.view_only and not w.banner.isVisible()
    assert w.run_info.train.batch_size == 8 and "batch size 8" in w.statusBar().currentMessage()
    assert "mnist (shipped), continued" in w.windowTitle() and w.checkpoint_path is None
    assert w.loss_plot.point_count() > len(checkpoint("mnist")["history"]["step"])
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    # Ctrl+S asks where, suggesting a new file; the shipped file itself is refused
    asked = []
    answers = iter([str(shipped.checkpoint), str(tmp_path / "mine.pt")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, title, default, *a: (
        asked.append(default), next(answers))[1:] + ("",))
    w.save_action.trigger()
    assert w.dialogs[-1][0] == "Save checkpoint" and "never overwritten" in w.dialogs[-1][1]
    assert asked[0].endswith("mnist-continued.pt") and str(shipped.folder) not in asked[0]
    w.save_action.trigger()
    qtbot.waitUntil(lambda: w.checkpoint_path == str(tmp_path / "mine.pt")
                    and w.statusBar().currentMessage().startswith("saved "), timeout=20000)
    from core.checkpoint import load_checkpoint
    assert load_checkpoint(tmp_path / "mine.pt")["step"] > step0
    # even asked directly, the worker never writes there
    w.worker.save(str(shipped.checkpoint))
    qtbot.waitUntil(lambda: w.dialogs[-1][0] == "Could not save", timeout=10000)
    w.about_model_action.trigger()
    assert "Continued from mnist (shipped)" in w.dialogs[-1][1]
    # where its schedule left off, ramped up over the first steps: the shipped file has no Adam state
    ramped = w.run_info.step - step0
    assert 0 < ramped < RESTART_WARMUP_STEPS
    assert (f"learning rate {last_rate('mnist') * ramped / RESTART_WARMUP_STEPS:.3g} now, rising to "
            f"{last_rate('mnist'):.3g} over the first {RESTART_WARMUP_STEPS} steps") in w.dialogs[-1][1]
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    assert shipped.checkpoint.read_bytes() == original
    # Start is a new model, from step 0, with the Run panel's settings
    w.config_panel.set_values({**w.config_panel.values(), **SMALL})
    steps.clear()
    w.start_button.click()
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=30000)
    assert steps[0] == 1 and "new model" in w.windowTitle() and "T 4" in w.windowTitle()
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    assert shipped.checkpoint.read_bytes() == original


def test_the_shipped_model_continued_on_real_mnist_replays_from_step_1(qtbot, make_window, shared_data):
    """Continue training on the digits it trained on: the new run folder's history holds the
    shipped model's entries, then its own; the shipped history is untouched."""
    from core.history import HISTORY_NAME, TrainingHistory
    shipped = TrainingHistory.load(shipped_model("mnist").folder / HISTORY_NAME)
    before = (shipped_model("mnist").folder / HISTORY_NAME).read_bytes()
    w = make_window(data_dir=str(shared_data), batch_size=8, epochs=1)
    continue_shipped(qtbot, w)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    history = TrainingHistory.load(Path(w.run_info.run_folder) / HISTORY_NAME)
    assert history.steps[:len(shipped)] == shipped.steps and history.steps[-1] > shipped.steps[-1]
    assert np.array_equal(history.canvases[0], shipped.canvases[0]) and w.dialogs == []
    assert (shipped_model("mnist").folder / HISTORY_NAME).read_bytes() == before


def test_about_this_model_shows_the_model_card(qtbot, make_window):
    card = shipped_model("mnist").card
    w = make_window()
    showing(qtbot, w, "mnist")
    w.about_model_action.trigger()
    title, text = w.dialogs[-1]
    e, t = card["evaluation"], card["training"]
    assert title == "About this model" and card["title"] in text
    for figure in (f"{e['test_nll_bound']:.2f}", f"{e['nll_iw']:.2f}", f"{card['paper_nll']:.2f}",
                   f"{t['steps']:,}", f"{t['images_seen']:,}", f"{t['epochs']:g}", t["hardware"], t["date"],
                   "10,000 test images", "k = 100"):
        assert figure in text, figure
    assert "draw-gui train --dataset binarized-mnist" in text
    # the rate its last step trained at, not the schedule's base (the card's lr, 0.00965)
    assert f"{last_rate('mnist'):.3g} at its last step, × {t['lr_decay']:g} per epoch" in text
    assert 1e-5 < last_rate("mnist") < 1e-4


def test_about_fits_a_small_screen_and_gives_a_long_command_whole_under_details(qtbot, make_window):
    """The shipped mnist's training command has grown with every continuation: About shows its
    start and gives it whole under Show Details…, so the box fits a 768-pixel screen."""
    card = shipped_model("mnist").card
    command = card["training"]["command"]
    assert len(command) > 1000
    w = make_window()
    showing(qtbot, w, "mnist")
    boxes = []
    w._exec = lambda box: (boxes.append(box), box.show())[-1]
    w.about_model_action.trigger()
    box = boxes[-1]
    qtbot.waitExposed(box)
    assert command not in box.text() and command[:100] in box.text() and "Show Details" in box.text()
    assert command in box.detailedText() and card["evaluation"]["command"] in box.detailedText()
    assert box.sizeHint().height() < 700
    box.close()


def test_a_failed_load_leaves_the_model_shown_unchanged(qtbot, make_window, tmp_path):
    w = make_window()
    trace = showing(qtbot, w, "mnist")
    title, info, points = w.windowTitle(), w.run_info, w.loss_plot.point_count()
    bad = tmp_path / "x.pt"
    bad.write_text("a text file, not a checkpoint")
    w.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: bool(w.dialogs), timeout=20000)
    assert w.dialogs[-1][0] == "Unusable checkpoint" and "not a PyTorch archive" in w.dialogs[-1][1]
    qtbot.waitUntil(lambda: w.state == "idle", timeout=5000)
    assert w.glimpse_view.trace() is trace and w.windowTitle() == title and w.run_info is info
    assert w.loss_plot.point_count() == points and w.shown.shipped.name == "mnist"
    assert w.model_chooser.currentData() == ("shipped", "mnist") and str(bad) not in w.settings.get("recent", [])
    assert w.continue_button.isEnabled() and w.start_button.isEnabled()
    w.glimpse_view.refresh_requested.emit()   # the worker still holds the model shown
    qtbot.waitUntil(lambda: w.glimpse_view.trace() is not trace, timeout=10000)
    assert w.glimpse_view.trace().glimpses == 64


def test_choosing_a_model_keeps_the_training_in_its_run_folder_without_asking(qtbot, make_window, mnist_dir):
    w = make_window(answer=QMessageBox.Cancel, data_dir=str(mnist_dir), **SMALL)
    w.start_button.click()   # before the shipped model loaded: it is not loaded at all
    qtbot.waitUntil(lambda: w.loss_plot.point_count() >= 3, timeout=30000)
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    folder = Path(w.run_info.run_folder)
    choose(w, "shipped", "mnist")
    showing(qtbot, w, "mnist")
    assert not w.dialogs   # nothing was at risk: the run autosaved into its folder
    from core.checkpoint import load_checkpoint
    assert load_checkpoint(folder / "checkpoint.pt")["step"] >= 3


def test_choosing_a_model_asks_when_the_run_folder_cannot_be_written(qtbot, make_window, mnist_dir, monkeypatch):
    w = make_window(answer=QMessageBox.Cancel, data_dir=str(mnist_dir), **SMALL)
    w.start_button.click()
    qtbot.waitUntil(lambda: w.loss_plot.point_count() >= 3, timeout=30000)
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    monkeypatch.setattr(w.worker, "autosave_and_wait", lambda *a, **k: False)   # a full disk, say
    choose(w, "shipped", "mnist")
    assert w.dialogs[-1][0] == "Save progress?"
    qtbot.wait(300)
    assert w.state == "paused" and w.shown.name == "new model" and "T 4" in w.windowTitle()
    assert w.model_chooser.placeholderText() == "new model" and w.model_chooser.currentIndex() == -1
    w.answer = QMessageBox.Discard
    choose(w, "shipped", "mnist")
    showing(qtbot, w, "mnist")
    assert w.state == "idle" and w.start_button.isEnabled() and not w.pause_button.isEnabled()


def test_compare_adds_a_shipped_model_without_a_data_folder(qtbot, make_window):
    w = make_window()
    showing(qtbot, w, "mnist")
    w.tabs.setCurrentWidget(w.compare_view)
    entry = next(a for a in w.compare_view.shipped_menu.actions() if a.text().startswith("mnist-noattention —"))
    entry.trigger()
    assert len(w.compare_view.run_ids()) == 1 and w.compare_view.message.text() == ""
    run_id = w.compare_view.run_ids()[0]
    column = w.compare_view.column(run_id)
    qtbot.waitUntil(lambda: column.trace() is not None, timeout=60000)
    assert column.trace().glimpses == 64 and column.trace().images.shape == (8, 1, 28, 28)
    assert "snapshot" in column.source()       # the glimpses it ships with: no data, no model run
    qtbot.waitUntil(lambda: not w.compare_view.busy(), timeout=60000)
    assert w.compare_view.plot is not None


def test_the_empty_compare_tab_puts_the_shipped_models_side_by_side_in_one_click(qtbot, make_window):
    """The paper's comparison, attention against none, with no data folder and no training: their
    curves (every row of their metrics.csv), glimpses (boxes for one only) and samples."""
    w = make_window()
    showing(qtbot, w, "mnist")
    w.tabs.setCurrentWidget(w.compare_view)
    view = w.compare_view
    assert view.shipped_button.isVisible() and view.shipped_button.text() == "Compare the 2 shipped models"
    view.shipped_button.click()
    assert not view.shipped_button.isVisible() and view.message.text() == ""
    runs = {view.runs[i].name: i for i in view.run_ids()}
    assert sorted(runs) == ["mnist", "mnist-noattention"]
    for name, run_id in runs.items():
        rows = len((shipped_model(name).folder / "metrics.csv").read_text().splitlines()) - 1
        qtbot.waitUntil(lambda i=run_id, n=rows: view.column(i).trace() is not None
                        and view.plot.point_count(i) == n, timeout=60000)
        assert (view.column(run_id).trace().read is None) == (name == "mnist-noattention")
    qtbot.waitUntil(lambda: not view.busy(), timeout=60000)
    # on a 1024x768 screen the two runs' columns scroll; the plot keeps a readable height
    w.resize(1024, 700)
    qtbot.waitUntil(lambda: w.height() <= 700)
    assert view.plot.height() >= 200, view.plot.height()
    for run_id in list(runs.values()):
        view.remove_run(run_id)
    assert view.shipped_button.isVisible()


def test_compare_falls_back_to_the_embedded_sample_for_a_run_without_snapshot(qtbot, make_window, tmp_path):
    """A run folder with a checkpoint but no snapshot.npz, whose MNIST is not on disk: its glimpses
    are computed on the embedded sample's test digits, and the column says so."""
    import shutil
    from draw_gui.models.shipped import shipped_model
    run = tmp_path / "copied-run"
    shutil.copytree(shipped_model("mnist-noattention").folder, run)
    (run / "snapshot.npz").unlink()
    w = make_window()
    showing(qtbot, w, "mnist")
    w.tabs.setCurrentWidget(w.compare_view)
    w.compare_view.add_runs([str(run)])
    column = w.compare_view.column(w.compare_view.run_ids()[0])
    qtbot.waitUntil(lambda: column.trace() is not None, timeout=60000)
    assert column.trace().glimpses == 64 and "embedded MNIST sample" in column.source()


def test_the_first_glimpses_show_as_soon_as_the_window_is_up(tmp_path):
    """A new user sees the shipped model draw as soon as the window is up: its shipped glimpses
    (snapshot.npz) play while torch (~1.5 s) and the model load behind them."""
    import os
    import subprocess
    import sys
    code = """
import os, sys, time
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication
app = QApplication([])
from draw_gui.window.main_window import MainWindow
w = MainWindow()
w.show()
shown = time.perf_counter()
while w.glimpse_view.trace() is None and time.perf_counter() - shown < 30:
    app.processEvents(QEventLoop.AllEvents, 5)
trace = w.glimpse_view.trace()
print('torch' in sys.modules, round(time.perf_counter() - shown, 2), trace.glimpses, trace.images.shape[0],
      w.glimpse_view.timeline.play_button.isChecked())
while 'STEP' not in w.windowTitle() and time.perf_counter() - shown < 60:
    app.processEvents(QEventLoop.AllEvents, 20)
print(w.windowTitle())
w.shutdown()
"""
    step = f"step {shipped_model(DEFAULT).card['training']['steps']:,}"
    code = code.replace("STEP", step)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DRAW_GUI_CONFIG_DIR": str(tmp_path / "config"),
           "DRAW_GUI_DATA": str(tmp_path / "no-data")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    first, title = run.stdout.strip().splitlines()[-2:]
    _, seconds, glimpses, images, playing = first.split()
    assert (glimpses, images, playing) == ("64", "8", "True"), run.stdout + run.stderr
    assert float(seconds) < 1.0     # torch alone takes longer than that to import here
    assert "mnist (shipped)" in title and step in title             # then the model itself took over
