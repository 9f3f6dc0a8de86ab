"""The command line as a user meets it: `draw-gui train | sample | eval`.

Checked by exit codes, what is printed, and the files left behind (checkpoints read back with
core.checkpoint.load_checkpoint, CSVs, PNG and GIF sizes and frame counts). Models are tiny and
runs a few steps long; most tests call draw_gui.cli.main in-process, two run the installed
entry points.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.checkpoint import load_checkpoint
from draw_gui import __version__
from draw_gui.cli.main import main
from tests.conftest import MNIST_SAMPLE_TEST
from tests.helpers import square_folder

REPO = Path(__file__).resolve().parents[1]
TINY = ["--num_glimpses", "4", "--hidden_size", "32", "--latent_size", "8", "--batch_size", "16"]
T_TINY = 4


def run(capsys, *argv) -> tuple[int, str, str]:
    """main(argv) in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def grid_size(n: int, per_row: int, cell: int = 28 * 2, pad: int = 1) -> tuple[int, int]:
    """Pixel size of core.export's grid PNG: scale 2, 1 px padding around every cell."""
    cols, rows = min(n, per_row), -(-n // per_row)
    return cols * cell + (cols + 1) * pad, rows * cell + (rows + 1) * pad


@pytest.fixture(scope="module")
def trained(mnist_dir, tmp_path_factory) -> Path:
    """A tiny MNIST checkpoint (5 steps, T = 4) shared by the sample and eval tests."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", *TINY, "--max-steps", "5", "--no-eval", "--quiet",
                 "--data-dir", str(mnist_dir), "--out", str(out)]) == 0
    return out / "checkpoint.pt"


# --------------------------------------------------------------------------- train: options

SNAKE = (["--read_size", "3", "--write_size", "4", "--num_glimpses", "3", "--latent_size", "6",
          "--hidden_size", "24", "--batch_size", "12", "--lr", "0.002", "--grad_clip", "2.5",
          "--maxEpochs", "3", "--optimizer", "sgd", "--use_attention", "false", "--use_attention",
          "--dataset", "MNIST", "--backend", "cpu", "--save_interval", "2", "--save_image",
          "--img_per_row", "3", "--max-steps", "4"],
         dict(read_size=3, write_size=4, glimpses=3, z_size=6, enc_size=24, dec_size=24, attention="gaussian"),
         dict(batch_size=12, lr=0.002, grad_clip=2.5, epochs=3, optimizer="sgd", device="cpu", max_steps=4))
KEBAB = (["--read-size", "4", "--write-size", "3", "--num-glimpses", "2", "--latent-size", "5",
          "--hidden-size", "20", "--batch-size", "10", "--lr", "0.01", "--grad-clip", "1",
          "--max-epochs", "2", "--optimizer", "RMSprop", "--use-attention", "false",
          "--dataset", "mnist", "--backend", "cpu", "--save-interval", "1", "--save-image",
          "--img-per-row", "2", "--max_steps", "3"],
         dict(read_size=4, write_size=3, glimpses=2, z_size=5, enc_size=20, dec_size=20, attention="none"),
         dict(batch_size=10, lr=0.01, grad_clip=1.0, epochs=2, optimizer="rmsprop", device="cpu", max_steps=3))
ADAM = (["--num_glimpses", "2", "--hidden_size", "16", "--latent_size", "4", "--batch_size", "8",
         "--optimizer", "adam", "--use_attention", "--maxEpochs", "1", "--max-steps", "2"],
        dict(glimpses=2, z_size=4, enc_size=16, dec_size=16, attention="gaussian", read_size=2, write_size=5),
        dict(batch_size=8, epochs=1, optimizer="adam", max_steps=2, lr=1e-3, grad_clip=5.0, device="auto"))


@pytest.mark.parametrize("argv, model, train", [SNAKE, KEBAB, ADAM], ids=["seed-spelling", "kebab-case", "adam"])
def test_train_options_reach_the_checkpoint(capsys, mnist_dir, tmp_path, argv, model, train):
    out, log = tmp_path / "run", tmp_path / "train.log"
    log_flag = "--log-file" if "--read-size" in argv else "--log_file"
    code, stdout, err = run(capsys, "train", *argv, "--no-eval", log_flag, log,
                            "--data-dir", mnist_dir, "--out", out)
    assert code == 0, err
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["dataset"] == "mnist"
    assert ckpt["step"] == train["max_steps"]
    assert {k: ckpt["model_config"][k] for k in model} == model
    assert ckpt["model_config"]["image_shape"] == [1, 28, 28]
    assert {k: ckpt["train_config"][k] for k in train} == pytest.approx(train)
    # --log_file gets the run's header, the progress line of the last step and the final save
    lines = log.read_text().splitlines()
    assert any("mnist" in ln and "run folder" in ln for ln in lines)
    assert any(ln.startswith(f"step {train['max_steps']}/{train['max_steps']} ") for ln in lines)
    assert "finished" in lines[-1] and str(out / "checkpoint.pt") in lines[-1]


def test_save_image_writes_glimpse_pngs_gif_and_samples(capsys, mnist_dir, tmp_path):
    argv, model, _ = SNAKE
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", *argv, "--no-eval", "--data-dir", mnist_dir, "--out", out)
    assert code == 0, err
    folder = out / "images" / "step_000004"
    T, per_row = model["glimpses"], 3
    assert sorted(p.name for p in folder.glob("glimpse_*.png")) == [f"glimpse_{t:02d}.png" for t in range(1, T + 1)]
    # each panel: per_row test digits with read boxes | their canvases with write boxes, at scale 4
    half = per_row * 112 + (per_row + 1)
    assert Image.open(folder / "glimpse_01.png").size == (2 * half + 8, 112 + 2)
    with Image.open(folder / "glimpses.gif") as gif:
        assert gif.n_frames == T
    # samples.png: per_row x per_row samples
    assert Image.open(folder / "samples.png").size == grid_size(per_row * per_row, per_row)
    assert sorted(p.name for p in (out / "images").iterdir()) == ["step_000004"]


# --------------------------------------------------------------------------- train: run folder

def test_run_folder_metrics_and_eval(capsys, mnist_dir, tmp_path):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", *TINY, "--max-steps", "6", "--data-dir", mnist_dir, "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "eval.csv", "history.npz", "metrics.csv",
                                                    "run.json", "snapshot.npz"]
    with open(out / "metrics.csv") as f:
        assert f.readline().strip() == "step,epoch,loss,recon,kl,time_s"
    rows = read_csv(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(int(r["epoch"]) == 1 for r in rows)
    for r in rows:  # the bound is the sum of its parts, and positive
        assert float(r["loss"]) == pytest.approx(float(r["recon"]) + float(r["kl"]), abs=2e-4)
        assert 0 < float(r["loss"]) < 1000
    times = [float(r["time_s"]) for r in rows]
    assert times == sorted(times)
    # one test evaluation at the end of the run, on the whole test set (mnist_dir's: the sample's 2,000)
    evals = read_csv(out / "eval.csv")
    assert len(evals) == 1 and evals[0]["step"] == "6"
    nll = float(evals[0]["nll_bound"])
    assert nll == pytest.approx(float(evals[0]["recon"]) + float(evals[0]["kl"]), abs=2e-4)
    assert 50 < nll < 600
    assert f"step 6 test NLL bound {nll:.2f} nats" in err and f"{MNIST_SAMPLE_TEST} test images" in err
    assert load_checkpoint(out / "checkpoint.pt")["evals"][0]["nll_bound"] == pytest.approx(nll, abs=1e-4)


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """36 training images, batch 16: 2 steps an epoch; 3 epochs with --save_interval 2."""
    tmp = tmp_path_factory.mktemp("folder_run")
    folder = square_folder(tmp / "imgs")
    out = tmp / "run"
    argv = ["train", *TINY, "--dataset", "folder", "--folder", folder, "--maxEpochs", "3",
            "--save_interval", "2", "--save_image", "--img_per_row", "2", "--out", out]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    assert code == 0, err.getvalue()
    return out, err.getvalue()


def test_save_interval_epochs_and_eval_per_epoch(capsys, folder_run):
    """--save_interval 2 saves at the end of epoch 2 and at the end of the run; every epoch end is
    evaluated."""
    out, err = folder_run
    assert sorted(p.name for p in (out / "images").iterdir()) == ["step_000004", "step_000006"]
    assert "epoch 2 at step 4: checkpoint" in err and "finished at step 6: checkpoint" in err
    assert "epoch 1 at step 2" not in err
    evals = read_csv(out / "eval.csv")
    assert [e["step"] for e in evals] == ["2", "4", "6"]
    assert [int(r["step"]) for r in read_csv(out / "metrics.csv")] == [1, 2, 3, 4, 5, 6]
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["model_config"]["image_shape"] == [1, 32, 32]
    # eval finds the image folder again without being told, and scores the same 4 test images
    code, stdout, err = run(capsys, "eval", out / "checkpoint.pt", "--json")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["images"] == 4
    assert report["nll_bound"] == pytest.approx(float(evals[-1]["nll_bound"]), abs=1e-3)


def test_eval_csv_epoch_matches_metrics_csv(folder_run):
    out, _ = folder_run
    epoch_of_step = {r["step"]: r["epoch"] for r in read_csv(out / "metrics.csv")}
    evals = read_csv(out / "eval.csv")
    assert [(e["step"], e["epoch"]) for e in evals] == [(e["step"], epoch_of_step[e["step"]]) for e in evals]
    assert [e["epoch"] for e in evals] == ["1", "2", "3"]


# --------------------------------------------------------------------------- train: --restore

def test_restore_continues_the_step_count_and_metrics(capsys, mnist_dir, tmp_path):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", *TINY, "--max-steps", "4", "--no-eval", "--seed", "3",
                       "--data-dir", mnist_dir, "--out", out)
    assert code == 0, err
    first = load_checkpoint(out / "checkpoint.pt")

    # bare --restore: the run folder's checkpoint.pt
    code, _, err = run(capsys, "train", "--restore", "--out", out, "--max-steps", "7", "--no-eval",
                       "--data-dir", mnist_dir)
    assert code == 0, err
    assert "continuing at step 4 of 7" in err
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["step"] == 7
    assert ckpt["model_config"] == first["model_config"]
    assert ckpt["train_config"]["seed"] == 3
    assert torch.equal(ckpt["history"]["loss"][:4], first["history"]["loss"])

    # --restore PATH, and the data folder is remembered from the first run
    code, _, err = run(capsys, "train", "--restore", out / "checkpoint.pt", "--max-steps", "9", "--no-eval")
    assert code == 0, err
    steps = [int(r["step"]) for r in read_csv(out / "metrics.csv")]
    assert steps == list(range(1, 10))
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 9

    # nothing left to do, or a changed model shape: exit 2 and the checkpoint is untouched
    before = (out / "checkpoint.pt").read_bytes()
    for argv, words in ((["--max-steps", "9"], "nothing to train"),
                        (["--max-steps", "12", "--hidden_size", "64"], "--hidden_size cannot change")):
        code, _, err = run(capsys, "train", "--restore", out / "checkpoint.pt", "--no-eval", *argv)
        assert code == 2 and len(err.splitlines()) == 1 and words in err, err
    assert (out / "checkpoint.pt").read_bytes() == before
    assert len(read_csv(out / "metrics.csv")) == 9


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_a_run_trained_on_a_gpu_continues_on_this_machine(capsys, mnist_dir, tmp_path):
    """A checkpoint from a GPU machine (the shipped mnist-noattention was one) continues on the
    laptop's own device, saying so, unless --device asks for the missing one: then one line, exit 2."""
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", *TINY, "--max-steps", "3", "--no-eval", "--data-dir", mnist_dir, "--out", out)
    assert code == 0, err
    ckpt = load_checkpoint(out / "checkpoint.pt")
    ckpt["train_config"]["device"] = "cuda"
    torch.save(ckpt, out / "checkpoint.pt")
    code, _, err = run(capsys, "train", "--restore", out / "checkpoint.pt", "--max-steps", "5", "--no-eval",
                       "--out", tmp_path / "more")
    assert code == 0, err
    assert "trained on cuda, which this machine does not have; continuing on cpu (--device to choose)" in err
    assert load_checkpoint(tmp_path / "more" / "checkpoint.pt")["step"] == 5
    code, _, err = run(capsys, "train", "--restore", out / "checkpoint.pt", "--max-steps", "5", "--no-eval",
                       "--device", "cuda", "--out", tmp_path / "asked")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "sees no CUDA GPU; use --device cpu" in err, err


def test_restore_into_a_new_folder_carries_the_runs_history(capsys, mnist_dir, tmp_path):
    """`draw-gui train --restore RUN/checkpoint.pt --out NEW` (how a shipped model trains on): NEW's
    history.npz replays from step 1, through the first run's entries, to the new steps."""
    from core.history import HISTORY_NAME, TrainingHistory
    first = tmp_path / "run"
    code, _, err = run(capsys, "train", *TINY, "--max-steps", "12", "--no-eval", "--data-dir", mnist_dir,
                       "--out", first)
    assert code == 0, err
    earlier = TrainingHistory.load(first / HISTORY_NAME).steps
    assert earlier[0] == 1 and earlier[-1] == 12                # (the CLI reports, and records, every few steps)
    code, _, err = run(capsys, "train", "--restore", first / "checkpoint.pt", "--max-steps", "25", "--no-eval",
                       "--out", tmp_path / "more")
    assert code == 0, err
    steps = TrainingHistory.load(tmp_path / "more" / HISTORY_NAME).steps
    assert steps[:len(earlier)] == earlier and steps[-1] == 25 and len(steps) > len(earlier)
    assert TrainingHistory.load(first / HISTORY_NAME).steps == earlier   # left as it was


# --------------------------------------------------------------------------- sample and eval

def test_sample_writes_grid_and_drawing_gif(capsys, trained, tmp_path):
    out = tmp_path / "s"
    code, stdout, err = run(capsys, "sample", trained, "--out", out, "-n", "10", "--img_per_row", "4")
    assert code == 0, err
    assert Image.open(out / "samples.png").size == grid_size(10, 4)  # 4 a row, 3 rows
    with Image.open(out / "drawing.gif") as gif:
        assert gif.n_frames == T_TINY
    assert str(out / "samples.png") in stdout and str(out / "drawing.gif") in stdout

    # defaults: 64 samples 8 a row, written to samples/ beside the checkpoint
    code, _, err = run(capsys, "sample", trained)
    assert code == 0, err
    assert Image.open(trained.parent / "samples" / "samples.png").size == grid_size(64, 8) == (457, 457)


def test_sample_interpolation_and_sweep_gifs(capsys, trained, tmp_path):
    out = tmp_path / "latent"
    code, stdout, err = run(capsys, "sample", trained, "--out", out, "-n", "3", "--interpolate", "7",
                            "--sweep", "2", "--glimpse", "2")
    assert code == 0, err
    with Image.open(out / "interpolation.gif") as gif:
        assert gif.n_frames == 7 and gif.size == (3 * 28 * 3 + 4, 28 * 3 + 2)  # a row of 3 latents, scale 3
        gif.seek(0)
        first = np.asarray(gif.convert("L")).copy()
        gif.seek(6)
        assert not np.array_equal(first, np.asarray(gif.convert("L")))  # it moves from A to B
    with Image.open(out / "sweep_z2.gif") as gif:
        assert gif.n_frames == 25
    assert "in glimpse 2" in stdout and "spherical" in stdout


@pytest.mark.parametrize("argv,message", [
    (["--sweep", "8"], "z has 8 dimensions"),
    (["--sweep", "0", "--glimpse", "9"], "T = 4 glimpses"),
    (["--glimpse", "1"], "give --sweep too"),
])
def test_sample_refuses_impossible_sweeps_before_writing(capsys, trained, tmp_path, argv, message):
    out = tmp_path / "nothing"
    code, _, err = run(capsys, "sample", trained, "--out", out, *argv)
    assert code == 2 and message in err and not out.exists()


def test_sample_is_reproducible_with_a_seed(capsys, trained, tmp_path):
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert run(capsys, "sample", trained, "--out", tmp_path / name, "-n", "4", "--seed", seed)[0] == 0
    a, b, c = (np.asarray(Image.open(tmp_path / n / "samples.png")) for n in "abc")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_eval_prints_the_bound(capsys, trained, mnist_dir):
    code, stdout, err = run(capsys, "eval", trained, "--limit", "200", "--data-dir", mnist_dir)
    assert code == 0, err
    assert "200 images" in stdout
    line = next(ln for ln in stdout.splitlines() if "NLL bound" in ln)
    text_bound = float(line.split("NLL bound")[1].split()[0])

    code, stdout, err = run(capsys, "eval", trained, "--limit", "200", "--json")  # data dir from the checkpoint
    assert code == 0, err
    report = json.loads(stdout)  # the whole of stdout is one JSON object
    assert isinstance(report, dict) and stdout.count("\n") == 1
    assert {"nll_bound", "recon", "kl", "images"} <= set(report) and "nll_iw" not in report
    assert report["images"] == 200
    assert report["nll_bound"] == pytest.approx(report["recon"] + report["kl"])
    assert round(report["nll_bound"], 2) == pytest.approx(text_bound, abs=0.006)


def test_eval_importance_weighted(capsys, trained):
    code, stdout, err = run(capsys, "eval", trained, "--limit", "200", "--json", "-k", "2")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["k"] == 2
    assert math.isfinite(report["nll_iw"]) and report["nll_iw"] > 0
    assert report["nll_iw"] <= report["nll_bound"] + 1.0
    for k in ("2", "100"):
        code, stdout, _ = run(capsys, "eval", trained, "--limit", "20", "-k", k)
        assert code == 0 and f"importance-weighted k={k}" in stdout
        bound, iw = stdout.splitlines()[1:3]
        assert bound.index(" nats") == iw.index(" nats"), stdout    # the two figures in one column


# --------------------------------------------------------------------------- bad input

MISSING = "missing.pt"


def _bad_files(folder: Path, trained: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    data = trained.read_bytes()
    files = {"truncated": folder / "truncated.pt", "tensor": folder / "tensor.pt",
             "dict": folder / "dict.pt", "random": folder / "random.pt"}
    files["truncated"].write_bytes(data[:len(data) // 2])
    torch.save(torch.zeros(3, 3), files["tensor"])
    torch.save({"encoder.weight": torch.zeros(2, 2), "step": 5}, files["dict"])
    files["random"].write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return files


TRAIN_ERRORS = [  # what the one line must name
    (["--bogus"], ("--bogus",)),
    (["--read_size", "40"], ("read_size", "40", "28")),
    (["--num_glimpses", "0"], ("--num_glimpses", "0")),
    (["--read_size", "1"], ("read_size", "1", "Gaussian")),
    (["--optimizer", "adamw"], ("--optimizer", "adamw")),
    (["--lr", "-1"], ("learning rate", "-1")),
    (["--dataset", "nope"], ("nope", "mnist")),
    (["--use_attention", "maybe"], ("--use_attention", "maybe")),
    (["--img_per_row", "0"], ("--img_per_row", "0")),
    (["--backend", "tpu"], ("tpu",)),
]


@pytest.mark.parametrize("argv, words", TRAIN_ERRORS, ids=[" ".join(a) for a, _ in TRAIN_ERRORS])
def test_bad_train_options_exit_2_with_one_line_and_write_nothing(capsys, tmp_path, argv, words):
    # the data folder is empty with downloads off: the error must come before any data is needed
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", *TINY, *argv, "--data-dir", empty, "--no-download", "--out", out)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert all(w in err for w in words) and "Traceback" not in err
    assert stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("kind", [MISSING, "truncated", "tensor", "dict", "random"])
@pytest.mark.parametrize("command", ["sample", "eval", "train --restore"])
def test_unusable_checkpoints_exit_2_with_one_line(capsys, trained, tmp_path, command, kind):
    path = tmp_path / MISSING if kind == MISSING else _bad_files(tmp_path / "bad", trained)[kind]
    out = tmp_path / "out"
    argv = command.split() + [path] + ([] if command == "eval" else ["--out", out])
    code, stdout, err = run(capsys, *argv)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("draw-gui: ") and str(path) in err and "Traceback" not in err
    expected = {MISSING: "no such checkpoint", "truncated": "truncated",
                "tensor": "not a draw-gui checkpoint", "dict": "not a draw-gui checkpoint",
                "random": "not a"}[kind]
    assert expected in err
    assert stdout == ""
    assert not out.exists()
    assert not (tmp_path / "bad" / "samples").exists()


def test_missing_dataset_offline_names_the_folder_and_files(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", *TINY, "--dataset", "fashion-mnist", "--data-dir", empty,
                            "--no-download", "--out", out)
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(empty / "FashionMNIST" / "raw") in err
    assert "train-images-idx3-ubyte" in err and "t10k-images-idx3-ubyte" in err
    assert "Downloading is turned off" in err
    assert not out.exists() and list(empty.iterdir()) == []


def test_non_finite_loss_stops_with_exit_1_and_keeps_the_last_good_state(capsys, mnist_dir, tmp_path):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", *TINY, "--max-steps", "20", "--no-eval", "--optimizer", "sgd",
                       "--lr", "1e12", "--grad_clip", "0", "--data-dir", mnist_dir, "--out", out)
    assert code == 1
    assert "stopped: the loss became" in err and "lower the learning rate" in err and "Traceback" not in err
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert 1 <= ckpt["step"] < 20
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    assert [int(r["step"]) for r in read_csv(out / "metrics.csv")] == list(range(1, ckpt["step"] + 1))
    # errors are never quiet: with --quiet the reason is still printed
    code, _, err = run(capsys, "train", *TINY, "--max-steps", "20", "--no-eval", "--optimizer", "sgd", "--quiet",
                       "--lr", "1e12", "--grad_clip", "0", "--data-dir", mnist_dir, "--out", tmp_path / "quiet")
    assert code == 1 and "stopped: the loss became" in err


def test_unwritable_log_file_exits_1_before_the_run_folder(capsys, mnist_dir, tmp_path):
    out, log = tmp_path / "run", tmp_path / "no" / "such" / "folder" / "train.log"
    code, _, err = run(capsys, "train", *TINY, "--max-steps", "1", "--no-eval", "--log_file", log,
                       "--data-dir", mnist_dir, "--out", out)
    assert code == 1
    assert len(err.splitlines()) == 1 and str(log) in err and "Traceback" not in err
    assert not out.exists()


def test_out_that_is_a_file_is_refused(capsys, trained, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    for argv in (["train", *TINY, "--out", afile], ["sample", trained, "--out", afile]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and len(err.splitlines()) == 1 and "is a file" in err, err
    assert afile.read_text() == "keep me"


# --------------------------------------------------------------------------- entry points

def test_installed_entry_point_version():
    exe = Path(sys.executable).parent / "draw-gui"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"draw-gui {__version__}"


def test_python_m_help_lists_the_commands():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "draw_gui", "--help"], capture_output=True, text=True,
                       timeout=60, cwd=REPO, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: draw-gui")
    for command in ("train", "sample", "eval"):
        assert command in r.stdout


def test_train_help_shows_seed_and_kebab_spellings(capsys):
    code, stdout, _ = run(capsys, "train", "--help")
    assert code == 0
    for flag in ("--read_size", "--read-size", "--maxEpochs", "--use_attention", "--max-steps",
                 "--data-dir", "--out", "--restore", "--save_image", "--log_file", "--img_per_row"):
        assert flag in stdout


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_the_progress_line_fits_the_terminal(monkeypatch, columns):
    """A line wider than the terminal wraps, and every update then leaves a stale line behind."""
    import io
    import os
    import shutil

    import numpy as np
    from core.loop import Progress
    from draw_gui.cli.train import ProgressPrinter

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a, **k: os.terminal_size((columns, 24)))
    out = Terminal()
    printer = ProgressPrinter(out, quiet=False, steps_per_epoch=937)
    for step in (1, 500, 18740):
        printer(Progress(step=step, total_steps=18740, epoch=step // 937, epochs=20, epoch_fraction=0.5,
                         loss=123.456, recon=100.0, kl=23.456, kl_steps=np.zeros(64), images_per_s=142.0,
                         eta_s=12345.0, lr=1e-3, kl_weight=1.0, elapsed_s=10.0))
    updates = [u.replace("\x1b[K", "") for u in out.getvalue().split("\r") if u]
    assert len(updates) == 3 and all(len(u) < columns for u in updates), updates
    assert "step 18740/18740" in updates[-1] or columns < 60


@pytest.mark.parametrize("argv", [[], ["follow", "."], ["compare", "mnist", "mnist-noattention"],
                                  ["train", "--display", "--max-steps", "1"]])
def test_without_a_display_the_window_says_so_in_one_line_and_exits_1(tmp_path, argv):
    """Qt alone aborts (exit 134) advising to reinstall the application, which is wrong."""
    import os
    import subprocess
    import sys
    if argv[:1] == ["follow"]:
        (tmp_path / "run.json").write_text('{"status": "running"}')
        argv = ["follow", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    run = subprocess.run([sys.executable, "-m", "draw_gui", *argv], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "compare --save" in lines[0], run.stderr
