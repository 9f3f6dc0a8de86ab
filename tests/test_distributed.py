"""Data-parallel training on the CPU: two gloo processes take the same steps as one process
with the same global batch, stop together, and only rank 0 writes the run folder."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from core.config import DrawConfig, TrainConfig
from core.data import Batches, ImageData
from core.distributed import Distributed, DistributedError
from core.loop import Trainer
from tests.helpers import square_folder

REPO = Path(__file__).resolve().parents[1]
MODEL = DrawConfig(image_shape=(1, 8, 8), read_size=2, write_size=3, glimpses=3, z_size=4,
                   enc_size=16, dec_size=16)
TRAIN = TrainConfig(batch_size=8, epochs=1, max_steps=6, seed=3, device="cpu", kl_warmup_steps=2)


def _data() -> ImageData:
    g = torch.Generator().manual_seed(0)
    return ImageData("tiny", torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8, generator=g),
                     torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8, generator=g), "threshold", "random")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(rank: int, world: int, port: int) -> dict:
    return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}


def _rank_main(rank, world, port, out):
    os.environ.update(_env(rank, world, port))
    torch.set_num_threads(1)
    d = Distributed.from_env("cpu")
    try:
        full = Trainer(MODEL, TRAIN, Batches(_data(), TRAIN.batch_size, seed=TRAIN.seed), dist=d)
        outcome = full.run()
        # Then a run stopped by one rank alone (Ctrl-C reaching one process only).
        cut = Trainer(MODEL, TRAIN, Batches(_data(), TRAIN.batch_size, seed=TRAIN.seed), dist=d)
        cut_outcome = cut.run(on_progress=lambda p: cut.stop() if rank == 1 and p.step >= 3 else None,
                              report_interval_s=0)
        torch.save({"outcome": outcome, "step": full.step, "state": full.model.state_dict(),
                    "loss": full.history.columns["loss"], "cut": (cut_outcome, cut.step)}, Path(out) / f"rank{rank}.pt")
    finally:
        d.close()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ranks")
    mp.spawn(_rank_main, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


@pytest.mark.slow  # two fresh processes: ~10 s on 2 cores
def test_two_processes_take_the_steps_of_one_with_the_global_batch(two_ranks):
    single = Trainer(MODEL, TRAIN, Batches(_data(), TRAIN.batch_size, seed=TRAIN.seed))
    assert single.run() == "finished"
    for r in two_ranks:
        assert r["outcome"] == "finished" and r["step"] == 6
        for k, v in single.model.state_dict().items():
            torch.testing.assert_close(r["state"][k], v, rtol=1e-5, atol=1e-6, msg=k)
        torch.testing.assert_close(torch.tensor(r["loss"]), torch.tensor(single.history.columns["loss"]),
                                   rtol=1e-5, atol=1e-4)


@pytest.mark.slow  # two fresh processes: ~10 s on 2 cores
def test_a_stop_on_one_rank_stops_every_rank_at_the_same_step(two_ranks):
    assert [r["cut"] for r in two_ranks] == [("stopped", 3), ("stopped", 3)]


def test_a_batch_that_does_not_split_is_refused():
    with pytest.raises(DistributedError, match="multiple of 3"):
        Distributed(world_size=3).check_batch(64)


def test_torchrun_style_cli_rank0_writes_the_run_and_matches_one_process(tmp_path, capsys):
    """`draw-gui train` as torchrun starts it (RANK, WORLD_SIZE, ... per process, gloo on the CPU).
    Rank 1 is given another --out to show that it writes nowhere."""
    from core.checkpoint import load_checkpoint
    from draw_gui.cli.main import main
    images = square_folder(tmp_path / "imgs", size=16, square=6, margin=1)
    args = ["train", "--dataset", "folder", "--folder", str(images), "--image-size", "16", "--num_glimpses", "3",
            "--hidden_size", "16", "--latent_size", "4", "--batch_size", "8", "--max-steps", "5", "--no-eval",
            "--device", "cpu", "--seed", "5", "--follow_interval", "0"]
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "draw_gui", *args, "--out", str(tmp_path / f"out{r}")],
                              env={**os.environ, **_env(r, 2, port), "OMP_NUM_THREADS": "1"},
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert "2 processes (gloo)" in results[0][1] and "finished at step 5" in results[0][1]
    assert results[1] == ("", "")                       # rank 1 prints nothing ...
    assert not (tmp_path / "out1").exists() and not (tmp_path / "runs").exists()   # ... and writes nothing
    info = json.loads((tmp_path / "out0" / "run.json").read_text())
    assert info["world_size"] == 2 and info["status"] == "finished"
    rows = (tmp_path / "out0" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]   # one writer, no duplicates
    assert main([*args, "--out", str(tmp_path / "single"), "--quiet"]) == 0
    ddp, one = (load_checkpoint(tmp_path / d / "checkpoint.pt") for d in ("out0", "single"))
    for k, v in one["model"].items():
        torch.testing.assert_close(ddp["model"][k], v, rtol=1e-5, atol=1e-6, msg=k)
    torch.testing.assert_close(ddp["history"]["loss"], one["history"]["loss"], rtol=1e-5, atol=1e-4)


def test_torchrun_with_one_process_runs_the_distributed_path(tmp_path):
    """`torchrun --nproc_per_node 1` joins a process group of one (DDP, the collectives), so the
    path several GPUs take is checked on a machine with one (benchmarks/gpu_run.sh does, on NCCL)."""
    images = square_folder(tmp_path / "imgs", size=16, square=6, margin=1)
    args = ["train", "--dataset", "folder", "--folder", str(images), "--image-size", "16", "--num_glimpses", "3",
            "--hidden_size", "16", "--latent_size", "4", "--batch_size", "8", "--max-steps", "3", "--no-eval",
            "--device", "cpu", "--out", str(tmp_path / "out")]
    run = subprocess.run([sys.executable, "-m", "draw_gui", *args], env={**os.environ, **_env(0, 1, _free_port())},
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "1 processes (gloo)" in run.stderr and "finished at step 3" in run.stderr
    assert json.loads((tmp_path / "out" / "run.json").read_text())["world_size"] == 1
