"""Comparing runs: the Compare tab (curves, shared t, samples, live growth) and `draw-gui compare`."""
import numpy as np
import pytest
import torch
from PIL import Image

from core.compare import example_images, run_stats, summary
from core.config import DrawConfig
from core.loop import History
from core.model import DRAW
from core.runfolder import RunFolder, save_trace
from core.train import TrainConfig
from draw_gui.cli.main import main
from draw_gui.compare.view import CompareView

# Two tiny models that differ as the seed's att_vs_no_att.sh runs did, and in T.
GAUSSIAN = DrawConfig(glimpses=4, enc_size=16, dec_size=16, z_size=5, attention="gaussian", read_size=2, write_size=3)
NONE = DrawConfig(glimpses=3, enc_size=16, dec_size=16, z_size=5, attention="none")


def _history(n, offset=0.0, start=0):
    h = History()
    for i in range(start, start + n):
        h.append(step=i + 1, epoch=0, loss=200.0 - i + offset, recon=150.0 - i + offset, kl=50.0, time=0.25 * (i + 1))
    return h


def _make_run(folder, cfg, steps, offset, mnist_dir, snapshot):
    torch.manual_seed(steps)
    model = DRAW(cfg).eval()
    run = RunFolder(folder)
    h = _history(steps, offset)
    h.evals.append({"step": steps, "epoch": 0, "nll_bound": 190.0 + offset, "recon": 140.0, "kl": 50.0})
    run.write_metrics(h)
    run.save_checkpoint({"model_config": cfg.to_dict(), "train_config": TrainConfig(batch_size=8).to_dict(),
                         "dataset": "mnist", "data_settings": {"data_dir": str(mnist_dir)},
                         "model": model.state_dict(), "step": steps, "epoch": 0, "evals": h.evals})
    if snapshot:
        ckpt = {"dataset": "mnist", "data_settings": {"data_dir": str(mnist_dir)}, "model_config": cfg.to_dict()}
        with torch.inference_mode():
            trace = model(torch.from_numpy(example_images(ckpt)), trace=True).trace
        save_trace(folder / "snapshot.npz", trace, steps)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mnist_dir):
    """A gaussian run with a snapshot (40 steps) and a no-attention run without one (25 steps)."""
    root = tmp_path_factory.mktemp("runs")
    return (_make_run(root / "gaussian", GAUSSIAN, 40, 0.0, mnist_dir, snapshot=True),
            _make_run(root / "none", NONE, 25, 10.0, mnist_dir, snapshot=False))


@pytest.fixture
def view(qtbot, runs):
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(1200, 800)
    v.show()
    ids = [v.add_run(p) for p in runs]
    qtbot.waitUntil(lambda: not v.busy(), timeout=60000)
    yield v, ids
    v.shutdown()


def _canvas_pixels(column, t):
    """The grey values of example 0's canvas in the column's glimpse panel, sampled per image pixel."""
    view = column.glimpses
    rect = view.cell_rect("canvas", 0)
    image = view.image().convertToFormat(view.image().Format.Format_RGB888)
    h, w = column.trace().canvases.shape[-2:]
    scale = int(rect.width()) // w
    out = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = image.pixelColor(int(rect.x()) + j * scale, int(rect.y()) + i * scale).red()
    return out


def test_one_curve_per_run_by_step_and_by_time(view):
    v, (a, b) = view
    assert v.plot.point_count(a) == 40 and v.plot.point_count(b) == 25
    v.plot.smoothing = 0
    v.plot.refresh()                       # (the plot refreshes on the next event-loop turn)
    x, y = v.plot.curve(a).getData()
    assert x.tolist() == list(range(1, 41)) and y[0] == 200.0 and y[-1] == 161.0
    v.plot.x_mode = "time"
    v.plot.refresh()
    x, _ = v.plot.curve(b).getData()
    assert np.allclose(x, 0.25 * np.arange(1, 26))
    v.plot.series = "Lx"
    v.plot.refresh()
    assert v.plot.curve(b).getData()[1][0] == 160.0
    # The evaluation diamonds: each run's own, at its step's time; in "nll" mode they are the curve.
    mx, my = v.plot.markers(a).getData()
    assert my.tolist() == [140.0] and np.isclose(mx[0], 10.0)
    v.plot.series, v.plot.x_mode = "nll", "step"
    v.plot.refresh()
    assert v.plot.curve(b).getData()[1].tolist() == [200.0]
    assert "gaussian" in v.plot.show_values_at(25) and "none" in v.plot.show_values_at(25)


def test_hiding_a_run_hides_its_curve_and_column(view):
    v, (a, b) = view
    v.runs[b].row.checkbox.setChecked(False)
    assert not v.plot.curve(b).isVisible() and v.plot.curve(a).isVisible()
    assert not v.column(b).isVisible() and v.column(a).isVisible()
    assert "none" not in v.plot.show_values_at(10)
    v.remove_run(b)
    assert v.run_ids() == [a] and len(v.plot.plot_item.listDataItems()) == 2  # a's curve and markers


def test_shared_t_shows_every_runs_canvas_at_t(view):
    v, (a, b) = view
    assert v.column(a).source().startswith("snapshot at step 40")
    assert v.column(b).source().startswith("from checkpoint")       # no snapshot.npz: computed
    v.boxes_checkbox.setChecked(False)                              # pixels of the canvases alone
    assert v.timeline.slider.maximum() == 4
    for t in (1, 2, 3):
        v.set_t(t)
        for run_id in (a, b):
            canvas = v.column(run_id).trace().canvases[t - 1, 0, 0]
            assert np.abs(_canvas_pixels(v.column(run_id), t) - canvas * 255).max() <= 1
    v.timeline.slider.setValue(4)                                            # past the no-attention run's T = 3
    assert v.column(a).glimpses.t() == 4 and v.column(b).glimpses.t() == 3
    assert v.column(b).note.text() == "T = 3, finished"
    canvas = v.column(b).trace().canvases[2, 0, 0]
    assert np.abs(_canvas_pixels(v.column(b), 3) - canvas * 255).max() <= 1
    # One example, the same index in both runs.
    v.example_combo.setCurrentIndex(v.example_combo.findData(2))
    assert v.column(a).glimpses.trace().batch == 1
    np.testing.assert_array_equal(v.column(b).glimpses.trace().images[0], v.column(b).trace().images[2])


def test_samples_for_every_run_repeatable_by_seed(qtbot, view):
    v, (a, b) = view
    first = {i: v.column(i).samples_array() for i in (a, b)}
    for i in (a, b):
        assert first[i].shape == (64, 1, 28, 28) and first[i].std() > 0
        assert not v.column(i).samples.image().isNull()
    assert "latent shapes differ" in v.noise_label.text()           # T 4 against T 3
    v.new_seed()
    qtbot.waitUntil(lambda: not v.busy(), timeout=30000)
    assert not np.array_equal(v.column(a).samples_array(), first[a])
    v.request_samples(seed=0)
    qtbot.waitUntil(lambda: not v.busy(), timeout=30000)
    for i in (a, b):
        np.testing.assert_array_equal(v.column(i).samples_array(), first[i])


def test_a_growing_run_grows_its_curve(qtbot, tmp_path, mnist_dir):
    folder = _make_run(tmp_path / "live", NONE, 10, 0.0, mnist_dir, snapshot=False)
    v = CompareView()
    qtbot.addWidget(v)
    v.poll_timer.setInterval(50)           # the test need not wait POLL_MS
    run_id = v.add_run(folder)
    qtbot.waitUntil(lambda: v.plot.point_count(run_id) == 10, timeout=30000)
    RunFolder(folder).write_metrics(_history(30))
    qtbot.waitUntil(lambda: v.plot.point_count(run_id) == 30, timeout=30000)
    assert v.plot.curve(run_id).getData()[0][-1] == 30
    v.shutdown()


def test_adding_a_checkpoint_uses_its_folder_and_bad_paths_say_why(qtbot, runs, tmp_path):
    v = CompareView()
    qtbot.addWidget(v)
    v.add_run(runs[0] / "checkpoint.pt")
    assert v.runs[1].folder == runs[0].resolve()
    problems = v.add_runs([runs[0], tmp_path / "missing", tmp_path])
    assert len(problems) == 3 and "already" in problems[0] and "no such" in problems[1]
    assert "not a run folder" in problems[2] and "missing" in v.message.text()
    v.shutdown()


def test_cli_table_prints_the_numbers(runs, capsys):
    assert main(["compare", str(runs[0]), str(runs[1] / "checkpoint.pt"), "--table"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["run", "steps", "epochs"]
    gaussian = out[1].split()
    assert gaussian[:3] == ["gaussian", "40", "1"]
    assert gaussian[3] == f"{np.mean(200.0 - np.arange(40)):.2f}" and gaussian[4:6] == ["190.00", "40"]
    assert gaussian[6] == "0:00:10" and gaussian[7] == "32"      # 40 steps x 8 images in 10 s
    assert "gaussian r2 w3 · T 4" in out[1] and "no attention · T 3" in out[2]
    assert run_stats(runs[1]).best_nll == 200.0


def test_cli_save_writes_the_compare_tab(runs, tmp_path, capsys):
    out = tmp_path / "compare.png"
    assert main(["compare", str(runs[0]), str(runs[1]), "--save", str(out), "--size", "900x600"]) == 0
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (600, 900, 3)
    assert image.std() > 20 and len(np.unique(image.reshape(-1, 3), axis=0)) > 50
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["missing", "not a run", "bad checkpoint"])
def test_cli_bad_input_exits_2_naming_the_file(runs, tmp_path, capsys, case):
    bad = tmp_path / "bad"
    if case == "not a run":
        bad.mkdir()
    elif case == "bad checkpoint":
        bad.mkdir()
        (bad / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main(["compare", str(runs[0]), str(bad), "--table"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err


def test_window_has_a_compare_tab(qtbot, tmp_path, runs):
    from draw_gui.window.settings import Settings
    from draw_gui.window.main_window import MainWindow
    w = MainWindow(Settings(tmp_path / "settings.json"))
    qtbot.addWidget(w)
    w.compare_runs([str(p) for p in runs])
    assert w.tabs.currentWidget() is w.compare_view and w.tabs.tabText(w.tabs.currentIndex()) == "Compare"
    assert len(w.compare_view.run_ids()) == 2 and not w.loss_plot.isVisibleTo(w)
    qtbot.waitUntil(lambda: not w.compare_view.busy(), timeout=60000)
    w.shutdown()


def test_summary_names_the_attention_kind_and_rotation():
    base = {"read_size": 2, "write_size": 5, "glimpses": 64, "z_size": 100}
    assert summary({**base, "attention": "gaussian"}) == "gaussian r2 w5 · T 64 · z 100"
    assert summary({**base, "attention": "none"}) == "no attention · T 64 · z 100"
    assert summary({**base, "attention": "spatial", "spatial_rotation": False}).startswith("spatial r2 w5")
    assert summary({**base, "attention": "spatial", "spatial_rotation": True}).startswith("spatial+rotation r2 w5")
    assert summary({}) == ""


def test_a_compared_run_whose_folder_is_deleted_says_so_and_keeps_its_curve(qtbot, tmp_path, mnist_dir, capfd):
    """It printed a traceback to the terminal at every poll (every 1.5 s)."""
    import shutil
    folder = _make_run(tmp_path / "doomed", NONE, 10, 0.0, mnist_dir, snapshot=False)
    v = CompareView()
    qtbot.addWidget(v)
    v.poll_timer.setInterval(50)
    run_id = v.add_run(folder)
    qtbot.waitUntil(lambda: v.plot.point_count(run_id) == 10, timeout=30000)
    shutil.rmtree(folder)
    qtbot.waitUntil(lambda: "the run folder is gone" in v.runs[run_id].row.summary.text(), timeout=10000)
    assert v.plot.point_count(run_id) == 10
    v.shutdown()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "draw-gui compare:" not in out


def test_the_empty_compare_plot_shows_no_empty_legend(qtbot):
    from draw_gui.compare.plot import ComparePlot
    plot = ComparePlot()
    qtbot.addWidget(plot)
    assert not plot.legend.isVisible()
    plot.add_run(1, "run a", (200, 100, 50))
    assert plot.legend.isVisible()
    plot.remove_run(1)
    assert not plot.legend.isVisible()


def test_a_shipped_model_continued_at_another_batch_counts_the_images_it_saw(capsys):
    """The shipped mnist went on at batch 128 after 3,480 steps at 1,024: its metrics count epochs
    at the batch each part had, its card from the images it saw. The table says what the card
    says, and images/s is those images over its training time."""
    from draw_gui.models.shipped import shipped_model
    for name in ("mnist", "mnist-noattention"):
        model = shipped_model(name)
        card, stats = model.card["training"], run_stats(model.folder)
        assert stats.steps == card["steps"] and stats.epochs == card["epochs"]
        assert stats.images_per_s == pytest.approx(card["images_seen"] / stats.time_s)
    mnist = shipped_model("mnist")
    card = mnist.card["training"]
    assert torch.load(mnist.checkpoint, weights_only=True)["epoch"] != card["epochs"]
    assert main(["compare", "mnist", "--table"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("mnist "))
    assert row.split()[1:3] == [f"{card['steps']:,}", f"{card['epochs']:g}"]


def test_a_run_continued_at_another_batch_counts_the_images_its_checkpoint_saw(tmp_path, mnist_dir, capsys):
    """A user's own run, continued at another batch size: the checkpoint counts the images (here
    40 steps, the first 10 of them at batch 128: 10 x 128 + 30 x 8 = 1,520 of 60,000 training
    images), and the table says those epochs and images/s, not 40 steps x 8 images."""
    folder = _make_run(tmp_path / "continued", NONE, 40, 0.0, mnist_dir, snapshot=False)
    ckpt = torch.load(folder / "checkpoint.pt", weights_only=True)
    RunFolder(folder).save_checkpoint({**ckpt, "images_seen": 1520, "train_images": 60000})
    assert main(["compare", str(folder), "--table"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:3] == ["continued", "40", f"{1520 / 60000:g}"]
    assert row[7] == "152"                                     # 1,520 images in 10 s
