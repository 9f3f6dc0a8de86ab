"""The window driven as a user would: MNIST files (mnist_dir), a small model, the real worker thread."""
import time
from pathlib import Path

import numpy as np
import pytest

from draw_gui.window.settings import Settings
from draw_gui.window.main_window import MainWindow
from tests.helpers import record_dialogs

SMALL = dict(glimpses=4, hidden=32, z_size=8, batch_size=32, read_size=2, write_size=3)


@pytest.fixture
def make_window(qtbot, tmp_path, mnist_dir, monkeypatch):
    windows = []
    dialogs = []

    def make(configure=True, **values):
        w = MainWindow(Settings(tmp_path / "settings.json"))
        qtbot.addWidget(w)
        record_dialogs(monkeypatch, w, dialogs)
        w.dialogs = dialogs
        if configure:
            w.config_panel.set_values({"data_dir": str(mnist_dir), **SMALL, **values})
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.worker.dirty = False
        w.close()


def started(qtbot, w, points=3):
    w.start_button.click()
    qtbot.waitUntil(lambda: w.loss_plot.point_count() >= points, timeout=30000)


def pause_and_save(qtbot, w, path) -> int:
    """Pause the run, save it to `path` with Ctrl+S, and return the step the file holds
    (read from the file: the plot may still be catching up with the worker)."""
    from core.checkpoint import load_checkpoint
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    w.checkpoint_path = str(path)
    w.save_action.trigger()   # the window hears the worker's `saved` (queued to the GUI thread)
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == f"saved {path}", timeout=10000)
    return load_checkpoint(path)["step"]


def test_start_makes_loss_points_appear_and_glimpses_show(qtbot, make_window):
    w = make_window()
    assert w.start_button.isEnabled() and not w.pause_button.isEnabled()
    started(qtbot, w)
    assert w.state == "running" and not w.config_panel.fields["read_size"].isEnabled()
    qtbot.waitUntil(lambda: w.glimpse_view.trace() is not None, timeout=10000)
    trace = w.glimpse_view.trace()
    assert trace.canvases.shape[:2] == (4, 8) and trace.images.shape == (8, 1, 28, 28)
    xs, ys = w.loss_plot.curves[0].getData()
    assert len(xs) >= 3 and np.all(np.isfinite(ys)) and 50 < ys[0] < 800
    assert "step" in w.step_label.text() and "img/s" in w.rate_label.text()
    assert "mnist" in w.windowTitle() and "T 4" in w.windowTitle()
    # "auto" trains where `draw-gui train` would: on a GPU machine, the GPU (benchmarks/gpu_run.sh)
    from core.train import resolve_device
    assert w.device_label.text().split(" ")[0] == str(resolve_device("auto"))


def test_pause_stops_steps_and_step_advances_exactly_one(qtbot, make_window):
    w = make_window()
    started(qtbot, w)
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    qtbot.wait(200)  # a step already under way reports after the pause
    before = w.loss_plot.point_count()
    qtbot.wait(400)
    assert w.loss_plot.point_count() == before
    assert w.step_button.isEnabled()
    w.step_button.click()
    qtbot.waitUntil(lambda: w.loss_plot.point_count() == before + 1, timeout=5000)
    qtbot.wait(400)
    assert w.loss_plot.point_count() == before + 1
    w.pause_button.click()  # resume
    qtbot.waitUntil(lambda: w.loss_plot.point_count() > before + 3, timeout=10000)


def test_stop_and_close_join_the_worker_thread_within_two_seconds(qtbot, make_window, capfd):
    w = make_window()
    started(qtbot, w)
    t = time.monotonic()
    w.close()
    assert w.thread.isFinished() and time.monotonic() - t < 2.0
    assert capfd.readouterr().err == ""
    assert not w.dialogs   # nothing to ask: everything trained is in the run's folder
    folder = Path(w.run_info.run_folder)
    from core.checkpoint import load_checkpoint
    from core.runfolder import RunReader
    assert load_checkpoint(folder / "checkpoint.pt")["step"] >= w.loss_plot.point_count() >= 3
    assert RunReader(folder).info()["status"] == "stopped"


def test_time_slider_changes_the_canvas_and_boxes_sit_where_the_trace_says(qtbot, make_window):
    w = make_window()
    started(qtbot, w)
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    view = w.glimpse_view
    qtbot.waitUntil(lambda: view.trace() is not None)
    view.set_t(1)
    first = view.image().copy()
    view.timeline.slider.setValue(4)
    assert view.t() == 4 and view.image() != first
    rect = view.box_rect("write", 0)
    assert rect is not None
    edge = view.image().pixelColor(int(rect.left()), int(rect.center().y()))
    assert edge.red() > 200 and edge.green() < 60  # the write box is red where the trace puts it
    read = view.box_rect("read", 0)
    colour = view.image().pixelColor(int(read.center().x()), int(read.top()))
    assert colour.green() > 150 and colour.red() < 60


def test_invalid_fields_are_marked_and_disable_start(qtbot, make_window):
    w = make_window()
    w.config_panel.fields["read_size"].setValue(1)
    assert not w.start_button.isEnabled() and not w.start_action.isEnabled()
    assert "N >= 2" in w.config_panel.error_for("read_size")
    assert "N >= 2" in w.config_panel.fields["read_size"].toolTip()
    w.config_panel.fields["read_size"].setValue(2)
    w.config_panel.lr.setText("fast")
    assert not w.start_button.isEnabled() and "not a number" in w.config_panel.error_for("lr")
    w.config_panel.lr.setText("3e-4")
    assert w.start_button.isEnabled()


def test_settings_survive_a_new_window(qtbot, make_window):
    w = make_window(glimpses=12, lr="2e-4")
    w.config_panel.fields["seed"].setValue(7)
    w.close()
    again = make_window(configure=False)
    v = again.config_panel.values()
    assert (v["glimpses"], v["lr"], v["seed"]) == (12, "2e-4", 7)


def test_no_data_offline_says_what_to_do(qtbot, make_window, tmp_path):
    (tmp_path / "empty").mkdir()   # a folder that does not exist is refused in the panel (test_window_first_hour)
    w = make_window(dataset="fashion-mnist", data_dir=str(tmp_path / "empty"))
    import urllib.request
    original = urllib.request.urlopen
    urllib.request.urlopen = lambda *a, **k: (_ for _ in ()).throw(OSError("network is unreachable"))
    try:
        w.start_button.click()
        qtbot.waitUntil(lambda: bool(w.dialogs), timeout=20000)
    finally:
        urllib.request.urlopen = original
    title, text = w.dialogs[-1]
    assert title == "No data" and "FashionMNIST" in text and str(tmp_path / "empty") in text
    assert w.state == "failed" and w.start_button.isEnabled()


def test_offline_without_mnist_trains_on_the_embedded_sample_and_says_so(qtbot, make_window, tmp_path):
    (tmp_path / "empty").mkdir()
    w = make_window(data_dir=str(tmp_path / "empty"))
    import urllib.request
    original = urllib.request.urlopen
    urllib.request.urlopen = lambda *a, **k: (_ for _ in ()).throw(OSError("network is unreachable"))
    try:
        started(qtbot, w)
    finally:
        urllib.request.urlopen = original
    assert w.banner.isVisible() and "embedded MNIST sample" in w.banner.text()
    assert w.run_info.source.startswith("embedded sample")


def test_save_and_open_checkpoint_continue_the_run(qtbot, make_window, tmp_path):
    w = make_window()
    started(qtbot, w, points=4)
    path = tmp_path / "run.pt"
    steps = pause_and_save(qtbot, w, path)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped")
    w.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: w.state == "paused" and w.run_info is not None, timeout=20000)
    assert w.run_info.step == steps and w.loss_plot.point_count() == steps
    assert str(path) in w.settings.get("recent")
    assert not w.start_button.isEnabled() and w.pause_button.text() == "Resume"
    w.pause_button.click()  # Resume continues from the checkpoint
    qtbot.waitUntil(lambda: w.loss_plot.point_count() > steps + 2, timeout=10000)


def test_opening_a_checkpoint_whose_run_ended_shows_it_read_only(qtbot, make_window, tmp_path, mnist_dir):
    """Its last epoch trained, so there is nothing to resume: the model is shown, not refused."""
    from draw_gui.cli.main import main as cli
    assert cli(["train", "--dataset", "mnist", "--data_dir", str(mnist_dir), "--no_download", "--num_glimpses", "2",
                "--hidden_size", "16", "--latent_size", "4", "--batch_size", "2000", "--maxEpochs", "1",
                "--compile", "false", "--no_eval", "--quiet", "--out", str(tmp_path / "run")]) == 0
    path = tmp_path / "run" / "checkpoint.pt"
    before = path.read_bytes()
    w = make_window(epochs=1)
    w.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: w.run_info is not None and w.glimpse_view.trace() is not None, timeout=30000)
    assert w.state == "idle" and w.run_info.view_only and w.run_info.step == 5 and not w.dialogs
    assert "its run ended at step 5, so it is shown read-only" in w.statusBar().currentMessage()
    assert w.shown.read_only and w.checkpoint_path is None      # Ctrl+S never writes over it
    assert w.continue_button.isEnabled() and w.glimpse_view.trace().canvases.shape[0] == 2
    assert path.read_bytes() == before


def test_a_bad_checkpoint_gets_a_dialog(qtbot, make_window, tmp_path):
    w = make_window()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    w.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: bool(w.dialogs), timeout=10000)
    assert w.dialogs[-1][0] == "Unusable checkpoint" and "not a PyTorch archive" in w.dialogs[-1][1]


def test_a_failed_save_says_so_and_writes_nothing(qtbot, make_window, tmp_path):
    w = make_window()
    started(qtbot, w)
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    w.checkpoint_path = str(blocker / "run.pt")  # its folder cannot exist
    w.save_action.trigger()
    qtbot.waitUntil(lambda: bool(w.dialogs), timeout=10000)
    assert w.dialogs[-1][0] == "Could not save" and "Nothing was overwritten" in w.dialogs[-1][1]
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "settings.json"]


def test_nan_loss_pauses_and_keeps_the_last_good_state(qtbot, make_window):
    w = make_window(lr="1e30", optimizer="sgd")
    w.start_button.click()
    qtbot.waitUntil(lambda: bool(w.dialogs), timeout=30000)
    title, text = w.dialogs[-1]
    assert title == "Training paused: loss is not a number" and "last good state" in text
    qtbot.waitUntil(lambda: w.state == "paused", timeout=5000)  # the worker's state follows its failure
    assert w.save_action.isEnabled()


def test_train_display_opens_the_window_with_the_command_line_settings(monkeypatch, mnist_dir):
    import draw_gui.app
    from draw_gui.cli.main import main
    seen = []
    monkeypatch.setattr(draw_gui.app, "run_app", lambda argv=None, setup=None: seen.append(setup) or 0)
    assert main(["train", "--display", "--read_size", "3", "--num_glimpses", "10", "--data-dir", str(mnist_dir),
                 "--lr", "3e-4", "--backend", "cpu"]) == 0
    setup = seen[0]
    assert (setup.model.read_size, setup.model.glimpses, setup.train.lr, setup.train.device) == (3, 10, 3e-4, "cpu")
    assert setup.data_dir == str(mnist_dir) and setup.dataset == "mnist"


def test_typing_a_dot_or_space_in_a_field_types_it(qtbot, make_window):
    """'.' (Step) and Space (Pause) are shortcuts, but not while the user writes a number."""
    w = make_window()
    w.activateWindow()
    w.config_panel.lr.setFocus()
    w.config_panel.lr.clear()
    qtbot.keyClicks(w.config_panel.lr, "2.5e-4")
    assert w.config_panel.lr.text() == "2.5e-4" and w.state == "idle"


def test_a_new_run_is_never_saved_over_the_previous_runs_file(qtbot, make_window, tmp_path):
    w = make_window()
    started(qtbot, w)
    path = tmp_path / "first.pt"
    pause_and_save(qtbot, w, path)
    first = path.read_bytes()
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped")
    started(qtbot, w)
    assert w.checkpoint_path is None  # Ctrl+S on the new run asks for a file instead
    assert path.read_bytes() == first


def test_opening_a_checkpoint_while_paused_loads_it(qtbot, make_window, tmp_path):
    w = make_window()
    started(qtbot, w, points=4)
    path = tmp_path / "run.pt"
    saved_steps = pause_and_save(qtbot, w, path)
    w.pause_button.click()  # resume, train on, pause again
    qtbot.waitUntil(lambda: w.loss_plot.point_count() > saved_steps + 3, timeout=20000)
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    w.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: w.state == "paused" and w.run_info is not None and w.checkpoint_path == str(path),
                    timeout=20000)
    assert w.run_info.step == saved_steps and w.loss_plot.point_count() == saved_steps


def test_about_and_continue_training_speak_of_the_run_as_it_is_now(qtbot, make_window):
    """About this model and Continue training describe the model trained here at its current step,
    with its evaluations and the rate it trains at, not as it was when the run started."""
    w = make_window(batch_size=500, epochs=3, lr="0.002")   # 20 steps an epoch: evaluated after each
    evaluated = []
    w.worker.evaluated.connect(evaluated.append)
    w.start_button.click()
    # evaluated.append runs in the worker's thread as it emits; the window hears of it once its own
    # event loop runs (and Pause switches the state at once), so wait for the window to have it
    qtbot.waitUntil(lambda: len(evaluated) >= 1 and w.run_info is not None and len(w.run_info.evals) >= 1,
                    timeout=60000)
    w.pause_button.click()
    qtbot.waitUntil(lambda: w.state == "paused")
    step = int(w.step_label.text().split()[1].replace(",", ""))   # "step 23 / 60 · epoch 2/3"
    assert step >= 20
    w.about_model_action.trigger()
    title, text = w.dialogs[-1]
    assert title == "About this model"
    assert f"<td>{step:,}</td>" in text and "not evaluated yet" not in text
    assert f"{evaluated[0]['nll_bound']:.2f} nats</b> at step 20" in text
    assert "learning rate 0.002, batch size 500" in text
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
    w.continue_button.click()
    assert f"from step {w.run_info.step:,}: 3 more epochs" in w.statusBar().currentMessage()
    assert w.run_info.step >= step
    qtbot.waitUntil(lambda: w.state == "running", timeout=30000)
    w.stop_button.click()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=10000)
