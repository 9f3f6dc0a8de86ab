"""core.run_index: the Runs list's summaries, read from run.json and eval.csv only."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import DrawConfig
from core.run_index import STALE_AFTER_S, Status, list_runs, model_summary, summarize
from core.runfolder import EVAL_HEADER, write_json

HERE = socket.gethostname()


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def make_run(folder: Path, status: str = "finished", step: int = 500, total: int = 1000,
             updated: float | None = None, host: str = HERE, pid: int | None = None,
             evals: tuple = (), checkpoint: bool = True, **extra) -> Path:
    """A run folder as `draw-gui train --out` leaves it (the checkpoint is junk: it must not be read)."""
    folder.mkdir(parents=True)
    info = dict(format="draw-gui-run", version="0.1.0", status=status, step=step, total_steps=total,
                dataset="mnist", model_config=DrawConfig().to_dict(), host=host, pid=pid or os.getpid(),
                started_at="2026-11-29T14:02:00+00:00", updated_unix=time.time() if updated is None else updated)
    write_json(folder / "run.json", {**info, **extra})
    if evals:
        rows = [",".join(map(str, (s, 1, nll, nll - 20, 20))) for s, nll in evals]
        (folder / "eval.csv").write_text(",".join(EVAL_HEADER) + "\n" + "\n".join(rows) + "\n")
    if checkpoint:
        (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    return folder


def test_a_finished_run_is_summarized_with_its_best_test_bound(tmp_path):
    run = make_run(tmp_path / "r", step=1234, total=18740, evals=((600, 101.5), (1200, 93.14), (1234, 95.0)))
    s = summarize(run)
    assert s.status is Status.FINISHED and s.name == "r" and s.dataset == "mnist"
    assert (s.step, s.total_steps) == (1234, 18740)
    assert s.best_nll == pytest.approx(93.14) and s.best_nll_step == 1200 and s.last_eval_step == 1234
    assert s.model == "gaussian r2 w5, T 64, LSTM 256, z 100"
    assert s.host == HERE and s.pid == os.getpid() and s.started_at.startswith("2026-11-29")
    assert s.has_checkpoint and s.can_continue and not s.live


def test_no_eval_csv_means_no_best_bound(tmp_path):
    s = summarize(make_run(tmp_path / "r"))
    assert s.best_nll is None and s.best_nll_step is None and s.last_eval_step is None


def test_a_running_run_whose_process_is_gone_is_interrupted(tmp_path):
    s = summarize(make_run(tmp_path / "r", status="running", pid=_dead_pid()))
    assert s.status is Status.INTERRUPTED and s.can_continue


def test_a_running_run_of_a_live_process_is_running_and_cannot_be_continued(tmp_path):
    s = summarize(make_run(tmp_path / "r", status="running", pid=os.getpid(), updated=time.time() - 3600))
    assert s.status is Status.RUNNING and s.live and not s.can_continue


def test_a_paused_run_whose_process_is_gone_is_interrupted(tmp_path):
    assert summarize(make_run(tmp_path / "r", status="paused", pid=_dead_pid())).status is Status.INTERRUPTED


def test_another_machines_run_is_interrupted_once_it_stops_writing(tmp_path):
    now = time.time()
    old = make_run(tmp_path / "old", status="running", host="elsewhere", updated=now - STALE_AFTER_S - 60)
    fresh = make_run(tmp_path / "fresh", status="running", host="elsewhere", updated=now - 30)
    os.utime(old / "run.json", (now - STALE_AFTER_S - 60,) * 2)   # the file's date says the same
    assert summarize(old, now=now).status is Status.INTERRUPTED
    assert summarize(fresh, now=now).status is Status.RUNNING
    # Our pid means nothing on another machine: only the age counts.
    assert summarize(fresh, now=now, host="this-machine").status is Status.RUNNING


def test_a_damaged_run_json_gives_a_summary_not_an_exception(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text('{"status": "running", "step": "many", "model_config": {"glimpses": -1}')
    (run / "metrics.csv").write_text("step,epoch,loss,recon,kl,time_s\n1,1,9,8,1,0.1\n2,1,9,8,1,0.2\n3,1,9")
    s = summarize(run)
    assert s.status is Status.UNKNOWN and s.model == "" and s.dataset == ""
    assert s.step == 2   # the last complete line of metrics.csv
    assert not s.has_checkpoint and not s.can_continue
    write_json(run / "run.json", {"status": "exploded", "step": -4, "model_config": {"glimpses": -1}})
    s = summarize(run)
    assert s.status is Status.UNKNOWN and s.model == "" and s.step == 2


def test_a_folder_that_is_not_a_run_is_skipped(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    make_run(tmp_path / "run")
    assert summarize(tmp_path / "photos") is None
    assert summarize(tmp_path / "gone") is None
    assert [s.name for s in list_runs([tmp_path])] == ["run"]


def test_runs_are_listed_newest_first_with_remembered_folders_once(tmp_path):
    now = time.time()
    root, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    make_run(root / "a", updated=now - 300)
    make_run(root / "b", updated=now - 10)
    make_run(elsewhere / "c", updated=now - 100)
    runs = list_runs([root, tmp_path / "no-such-root"],
                     [elsewhere / "c", root / "a", tmp_path / "deleted-run", root / "b"])
    assert [s.name for s in runs] == ["b", "c", "a"]


def test_a_run_without_run_json_is_dated_by_its_files(tmp_path):
    now = time.time()
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, age in ((old, 7200), (new, 60)):
        folder.mkdir()
        (folder / "checkpoint.pt").write_bytes(b"")
        os.utime(folder / "checkpoint.pt", (now - age,) * 2)
    runs = list_runs([tmp_path])
    assert [s.name for s in runs] == ["new", "old"]
    assert runs[1].updated_unix == pytest.approx(now - 7200, abs=1)
    assert runs[0].status is Status.UNKNOWN and runs[0].step == 0


def test_model_summary_names_each_attention():
    m = DrawConfig(attention="spatial", read_size=3, write_size=4, glimpses=16, enc_size=128, dec_size=64,
                   z_size=10, spatial_rotation=True).to_dict()
    assert model_summary(m) == "spatial rot r3 w4, T 16, LSTM 128/64, z 10"
    assert model_summary(DrawConfig(attention="none").to_dict()) == "no attention, T 64, LSTM 256, z 100"
    assert model_summary(None) == ""


def test_listing_many_runs_reads_no_checkpoint_and_no_torch(tmp_path):
    """200 runs with junk checkpoints: listing them must not load one (nor import torch)."""
    for i in range(200):
        make_run(tmp_path / f"run{i:03d}", updated=1000.0 + i, evals=((100, 90.0 + i),))
    code = ("import sys, time; from core.run_index import list_runs; t = time.perf_counter(); "
            f"runs = list_runs([{str(tmp_path)!r}]); "
            "print(len(runs), runs[0].name, 'torch' in sys.modules, round(time.perf_counter() - t, 2))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split()
    assert out[:3] == ["200", "run199", "False"], out
    assert float(out[3]) < 5.0, f"listing 200 runs took {out[3]} s"
