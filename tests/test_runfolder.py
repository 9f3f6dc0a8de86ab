"""The run folder as a follower sees it: files that grow or are replaced while it reads them."""
import numpy as np
import pytest

from core.loop import History
from core.runfolder import RunFolder, RunReader, load_trace, save_trace
from core.trace import GlimpseTrace


def _history(n, start=0):
    h = History()
    for i in range(start, start + n):
        h.append(step=i + 1, epoch=0, loss=100.0 - i, recon=80.0 - i, kl=20.0, time=0.5 * i)
    return h


def _trace(T=3, B=2):
    rng = np.random.default_rng(0)
    return GlimpseTrace(canvases=rng.random((T, B, 1, 5, 5), dtype=np.float32),
                        read=rng.random((T, B, 5), dtype=np.float32), write=None,
                        read_size=2, write_size=5, images=rng.random((B, 1, 5, 5), dtype=np.float32),
                        kl_steps=np.arange(T, dtype=np.float32))


def test_reader_returns_only_new_rows_and_complete_lines(tmp_path):
    run, reader = RunFolder(tmp_path), RunReader(tmp_path)
    assert len(reader.new_metrics()) == 0
    h = _history(5)
    run.write_metrics(h)
    rows = reader.new_metrics()
    assert rows.step.tolist() == [1, 2, 3, 4, 5] and rows.loss[0] == 100.0 and not rows.reset
    assert len(reader.new_metrics()) == 0
    with open(tmp_path / "metrics.csv", "a") as fh:  # a line half written by the trainer
        fh.write("6,1,94.0")
    assert len(reader.new_metrics()) == 0
    with open(tmp_path / "metrics.csv", "a") as fh:
        fh.write(",74.0,20.0,2.5\n")
    rows = reader.new_metrics()
    assert rows.step.tolist() == [6] and rows.time_s.tolist() == [2.5]


def test_reader_notices_a_rewritten_metrics_file(tmp_path):
    reader = RunReader(tmp_path)
    RunFolder(tmp_path).write_metrics(_history(8))
    assert len(reader.new_metrics()) == 8
    RunFolder(tmp_path).write_metrics(_history(3))  # restored from an older checkpoint
    rows = reader.new_metrics()
    assert rows.reset and rows.step.tolist() == [1, 2, 3]


def test_snapshot_round_trip_and_change_detection(tmp_path):
    run, reader = RunFolder(tmp_path), RunReader(tmp_path)
    assert reader.new_snapshot() is None
    trace = _trace()
    run.write_snapshot(trace, step=40)
    step, back = reader.new_snapshot()
    assert step == 40 and back.write is None and back.read_size == 2
    np.testing.assert_array_equal(back.canvases, trace.canvases)
    np.testing.assert_array_equal(back.kl_steps, trace.kl_steps)
    assert reader.new_snapshot() is None  # unchanged
    save_trace(tmp_path / "snapshot.npz", _trace(T=4), step=41)
    step, back = reader.new_snapshot()
    assert step == 41 and back.glimpses == 4


def test_a_half_synced_snapshot_is_skipped_until_it_is_whole(tmp_path):
    reader = RunReader(tmp_path)
    save_trace(tmp_path / "whole.npz", _trace(), step=7)
    whole = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "snapshot.npz").write_bytes(whole[:len(whole) // 2])  # a sync tool still copying it
    assert reader.new_snapshot() is None
    (tmp_path / "snapshot.npz").write_bytes(whole)
    step, back = reader.new_snapshot()
    assert step == 7 and back.glimpses == 3


def test_info_and_evals(tmp_path):
    run, reader = RunFolder(tmp_path), RunReader(tmp_path)
    assert reader.info() == {} and reader.evals() == [] and not reader.looks_like_run()
    run.write_info({"dataset": "mnist", "status": "running"})
    h = _history(2)
    h.evals.append({"step": 2, "epoch": 0, "nll_bound": 120.5, "recon": 100.0, "kl": 20.5})
    run.write_metrics(h)
    assert reader.info()["status"] == "running" and reader.looks_like_run()
    assert reader.evals() == [{"step": 2.0, "epoch": 1.0, "nll_bound": 120.5, "recon": 100.0, "kl": 20.5}]


def test_reader_refuses_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        RunReader(tmp_path / "nope")


def test_load_trace_names_a_foreign_file(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a glimpse snapshot"):
        load_trace(tmp_path / "x.npz")


def test_everything_read_from_a_run_folder_is_checked_like_a_checkpoint(tmp_path):
    """A follower reads folders that other programs, sync tools or damage wrote: rows with a step of
    nan or 1e21 are skipped, and run.json fields of the wrong type are dropped, never raised."""
    import json
    from core.runfolder import RunReader
    (tmp_path / "metrics.csv").write_text("step,epoch,loss,recon,kl,time_s\n1,1,200,190,10,0.5\n"
                                          "nan,1,1,1,1,1\n1e21,1,1,1,1,1\n2.5,1,1,1,1,1\n3,1,150,140,10,1.5\n")
    (tmp_path / "eval.csv").write_text("step,epoch,nll_bound,recon,kl\nmany,1,1,1,1\n3,1,140,130,10\n4,1,nan,1,1\n")
    (tmp_path / "run.json").write_text(json.dumps({
        "step": "many", "total_steps": 1e21, "world_size": -2, "status": ["running"], "device": "cpu",
        "images_per_s": "fast", "model_config": {"glimpses": 10**7}, "train_config": {"batch_size": 32}}))
    reader = RunReader(tmp_path)
    rows = reader.new_metrics()
    assert rows.step.tolist() == [1.0, 3.0]
    assert [e["step"] for e in reader.evals()] == [3.0]
    info = reader.info()
    assert info == {"device": "cpu", "train_config": {"batch_size": 32}}
    (tmp_path / "run.json").write_text("[1, 2")
    assert reader.info() == {}


def test_a_metrics_file_missing_for_a_while_keeps_what_was_read_and_rereads_when_back(tmp_path):
    from core.runfolder import RunReader
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "metrics.csv").write_text("step,epoch,loss,recon,kl,time_s\n1,1,5,4,1,0.1\n2,1,4,3,1,0.2\n")
    reader = RunReader(folder)
    assert list(reader.new_metrics().step) == [1, 2]
    (folder / "metrics.csv").unlink()                 # a folder being deleted, or synced again
    gone = reader.new_metrics()
    assert len(gone) == 0 and not gone.reset          # not "rewritten": the plot keeps its points
    (folder / "metrics.csv").write_text("step,epoch,loss,recon,kl,time_s\n1,1,5,4,1,0.1\n2,1,4,3,1,0.2\n3,1,3,2,1,0.3\n")
    back = reader.new_metrics()
    assert back.reset and list(back.step) == [1, 2, 3]   # read from its start, whatever its inode
