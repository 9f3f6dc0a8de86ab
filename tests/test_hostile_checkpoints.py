"""Hostile checkpoints never hang, trace back or flood memory: every field of a loaded file is
checked (types, whole numbers, upper bounds, the memory the model needs) before anything is built
from it, and the user reads one line naming the file and what is wrong."""
import subprocess
import sys
import time

import pytest
import torch

from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import ConfigError, DrawConfig, TrainConfig
from core.data import Batches, load_embedded_mnist
from core.loop import Trainer
from draw_gui.cli.main import main as cli
from draw_gui.resources import resource_path
from tests.conftest import REPO

TINY = DrawConfig(glimpses=3, enc_size=16, dec_size=16, z_size=4)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    data = load_embedded_mnist(resource_path("mnist_sample.npz"))
    t = Trainer(TINY, TrainConfig(batch_size=16, max_steps=2, device="cpu"), Batches(data, 16))
    t.run()
    path = tmp_path_factory.mktemp("good") / "checkpoint.pt"
    save_checkpoint(path, t.checkpoint())
    return path


def _edit(ckpt: dict, case: str) -> dict:
    c = dict(ckpt)
    mc = dict(c["model_config"])
    if case == "glimpses 10**7":
        mc["glimpses"] = 10**7
    elif case == "image 100000x100000":
        mc["image_shape"] = [1, 100000, 100000]
    elif case == "enc_size 10**6":
        mc["enc_size"] = 10**6
    elif case == "z_size 8.5":
        mc["z_size"] = 8.5
    elif case == "attention 7":
        mc["attention"] = 7
    elif case == "step abc":
        c["step"] = "abc"
    elif case == "images seen -5":
        c["images_seen"] = -5
    elif case == "history garbage":
        c["history"] = "garbage"
    elif case == "evals garbage":
        c["evals"] = [{"step": "x"}]
    elif case == "version '1'":
        c["version"] = "1"
    elif case == "weight shape":
        c["model"] = {k: (torch.zeros(3, 3) if i == 0 else v) for i, (k, v) in enumerate(c["model"].items())}
    elif case == "weight missing":
        c["model"] = dict(list(c["model"].items())[1:])
    elif case == "train settings garbage":
        c["train_config"] = {"batch_size": "many"}
    c["model_config"] = mc
    return c


CASES = ["glimpses 10**7", "image 100000x100000", "enc_size 10**6", "z_size 8.5", "attention 7", "step abc",
         "images seen -5", "history garbage", "evals garbage", "version '1'", "weight shape", "weight missing",
         "train settings garbage", "truncated 10,000 bytes", "2 bytes PK"]


def _hostile(good, folder, case):
    path = folder / "checkpoint.pt"
    folder.mkdir(parents=True, exist_ok=True)
    if case == "truncated 10,000 bytes":
        path.write_bytes(good.read_bytes()[:10000])
    elif case == "2 bytes PK":
        path.write_bytes(b"PK")
    else:
        ckpt = load_checkpoint(good)
        torch.save({**_edit(ckpt, case)}, path)   # torch.save directly: save_checkpoint would re-tag it
    return path


@pytest.mark.parametrize("command", ["eval", "sample", "train --restore", "compare --table"])
@pytest.mark.parametrize("case", CASES)
def test_a_hostile_checkpoint_is_one_line_and_exit_2_within_seconds(good, tmp_path, capsys, command, case):
    path = _hostile(good, tmp_path / "run", case)
    out = tmp_path / "out"
    target = path.parent if command.startswith("compare") else path
    argv = command.split()[:1] + [str(target)] + command.split()[1:]
    if command.startswith("train"):
        argv = ["train", "--restore", str(path), "--out", str(out), "--no_download", "--data_dir", str(tmp_path)]
    elif command == "sample":
        argv += ["--out", str(out)]
    started = time.perf_counter()
    code = cli(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and str(path) in err and "Traceback" not in err, err
    assert "not a usable checkpoint" in err or "truncated" in err or "damaged" in err, err
    assert time.perf_counter() - started < 5
    assert not out.exists()


def test_the_worst_one_stays_under_a_gigabyte_in_its_own_process(good, tmp_path):
    """glimpses = 10**7 once hung `train --restore` at 3.3 GB and growing."""
    path = _hostile(good, tmp_path / "run", "glimpses 10**7")
    # The peak resident memory of the process after exec (VmHWM; getrusage would count the forked
    # copy of this test process too).
    code = ("import sys; from draw_gui.cli.main import main; rc = main(sys.argv[1:]); "
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]); sys.exit(rc)")
    run = subprocess.run([sys.executable, "-c", code, "eval", str(path)], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "glimpses must be at most 1,024" in run.stderr
    assert int(run.stdout.split()[-1]) < 1024 * 1024   # kB


@pytest.mark.parametrize("changes, words", [
    (dict(glimpses=10**7), "glimpses must be at most"), (dict(z_size=8.5), "z_size must be a whole number"),
    (dict(image_shape=(1, 100000, 100000)), "image_shape must be at most"),
    (dict(enc_size=8192, dec_size=8192, image_shape=(3, 512, 512), attention="none"), "free"),
])
def test_the_same_limits_hold_for_settings_typed_by_the_user(changes, words):
    with pytest.raises(ConfigError, match=words):
        DrawConfig(**changes).validate()


def test_restore_accepts_model_options_equal_to_the_checkpoints(good, tmp_path, capsys, mnist_dir):
    out = tmp_path / "more"
    code = cli(["train", "--restore", str(good), "--out", str(out), "--hidden_size", "16", "--num_glimpses", "3",
                "--max_steps", "3", "--no_eval", "--quiet", "--device", "cpu", "--data_dir", str(mnist_dir)])
    assert code == 0, capsys.readouterr().err
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 3
    assert cli(["train", "--restore", str(good), "--out", str(out), "--hidden_size", "32"]) == 2
    assert "enc_size 16" in capsys.readouterr().err


def test_a_data_set_too_large_for_memory_is_refused_before_it_is_resized(monkeypatch, mnist_dir):
    import core.config
    from core.data import DataUnavailable, load_dataset
    monkeypatch.setattr(core.config, "available_memory", lambda: 100 * 2**20)   # a 100 MB machine
    # mnist_dir's 10,000 + 2,000 digits at 500 x 500: 3.0e9 bytes (full MNIST's 70,000 at 200 x 200: 2.6 GB)
    with pytest.raises(DataUnavailable, match=r"needs 2\.8 GB of memory for its 12,000 images and this machine "
                                              r"has 0\.1 GB free; use a smaller --image-size"):
        load_dataset("mnist", data_dir=mnist_dir, download=False, image_size=500)


def test_restoring_optimizer_moments_of_the_wrong_shape_is_refused_not_crashed(good, tmp_path, capsys, mnist_dir):
    """torch's load_state_dict checks only the count of weights; fused Adam given moments of the
    wrong shape crashed the process (SIGSEGV) at the first step."""
    ckpt = load_checkpoint(good)
    ckpt["optimizer"]["state"] = {k: {n: (torch.zeros(7) if v.dim() else v) for n, v in s.items()}
                                  for k, s in ckpt["optimizer"]["state"].items()}
    path = tmp_path / "run" / "checkpoint.pt"
    path.parent.mkdir()
    torch.save(ckpt, path)
    code = cli(["train", "--restore", str(path), "--out", str(tmp_path / "out"), "--max_steps", "4", "--no_eval",
                "--device", "cpu", "--data_dir", str(mnist_dir)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "optimizer state" in err and "shape" in err, err


def test_a_full_disk_names_the_file_it_could_not_write(good, tmp_path, monkeypatch, capsys):
    """It once said 'could not write or read a file' without saying which."""
    import errno

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(torch, "save", full)
    out = tmp_path / "out"
    assert cli(["sample", str(good), "--out", str(out), "--num", "4"]) == 0      # sampling writes no checkpoint
    with pytest.raises(OSError) as e:
        save_checkpoint(tmp_path / "x" / "checkpoint.pt", load_checkpoint(good))
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(tmp_path / "x" / "checkpoint.pt")
    assert not (tmp_path / "x" / "checkpoint.pt").exists() and list((tmp_path / "x").iterdir()) == []
