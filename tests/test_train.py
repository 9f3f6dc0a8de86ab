"""Training loop, checkpoints and evaluation: what a user relies on when they stop and come back."""
import math
import threading

import numpy as np
import pytest
import torch

from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.data import Batches, ImageData
from core.evaluate import evaluate
from core.loop import NonFiniteLoss, Trainer
from core.model import DRAW, ConfigError, DrawConfig
from core.train import TrainConfig, kl_weight, make_optimizer, train_step

SMALL = DrawConfig(glimpses=4, enc_size=32, dec_size=32, z_size=6)


@pytest.fixture(scope="module")
def small_data(mnist_dir):
    from torchvision.datasets import MNIST
    train = MNIST(str(mnist_dir), train=True, download=False).data[:256].unsqueeze(1)
    test = MNIST(str(mnist_dir), train=False, download=False).data[:64].unsqueeze(1)
    return ImageData(name="mnist", train=train, test=test, binarization="threshold", source="test slice")


def make_trainer(data, checkpoint=None, **train):
    cfg = TrainConfig(batch_size=32, device="cpu", **train)
    return Trainer(SMALL, cfg, Batches(data, cfg.batch_size, seed=cfg.seed), checkpoint=checkpoint)


def losses(trainer):
    return trainer.history.columns["loss"]


def test_resume_continues_exactly_like_an_uninterrupted_run(small_data, tmp_path):
    """Across an epoch boundary (8 steps per epoch) and with the KL warm-up still running."""
    straight = make_trainer(small_data, max_steps=13, kl_warmup_steps=20, lr_decay=0.9)
    straight.run()
    first = make_trainer(small_data, max_steps=6, kl_warmup_steps=20, lr_decay=0.9)
    first.run()
    save_checkpoint(tmp_path / "c.pt", first.checkpoint())
    ckpt = load_checkpoint(tmp_path / "c.pt")
    resumed = make_trainer(small_data, checkpoint=ckpt, max_steps=13, kl_warmup_steps=20, lr_decay=0.9)
    assert resumed.step == 6 and losses(resumed) == losses(first)
    resumed.run()
    assert resumed.step == 13
    assert losses(resumed) == losses(straight)  # bit for bit on the CPU


def test_pause_step_and_stop_from_another_thread(small_data):
    trainer = make_trainer(small_data, epochs=100)
    trainer.pause()
    done = []
    worker = threading.Thread(target=lambda: done.append(trainer.run()))
    worker.start()
    trainer.step_once()
    trainer.step_once()
    # wait (bounded) until both single steps ran, then check no more run while paused
    for _ in range(200):
        if trainer.step == 2:
            break
        worker.join(0.05)
    assert trainer.step == 2
    worker.join(0.3)
    assert trainer.step == 2 and worker.is_alive()
    trainer.resume()
    for _ in range(200):
        if trainer.step > 4:
            break
        worker.join(0.05)
    trainer.stop()
    worker.join(5)
    assert not worker.is_alive() and done == ["stopped"] and trainer.step > 4


def test_progress_reports_plain_numbers(small_data):
    reports = []
    make_trainer(small_data, max_steps=5).run(on_progress=reports.append, report_interval_s=0)
    assert [r.step for r in reports] == [1, 2, 3, 4, 5]
    last = reports[-1]
    assert last.total_steps == 5 and last.images_per_s > 0 and last.kl_steps.shape == (4,)
    assert abs(last.loss - (last.recon + last.kl)) < 1e-3


def test_nan_loss_keeps_the_last_good_weights(small_data):
    trainer = make_trainer(small_data, max_steps=10)
    trainer.run()  # a few good steps first
    trainer.config.max_steps = 20
    good = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with torch.no_grad():
        trainer.model.q.bias[0] = float("nan")  # poison the forward pass
    with pytest.raises(NonFiniteLoss, match="not applied"):
        trainer.run()
    assert trainer.step == 10 and trainer.paused
    for k, v in trainer.model.state_dict().items():
        if k != "q.bias":
            torch.testing.assert_close(v, good[k])


def test_kl_warmup_weights():
    cfg = TrainConfig(kl_warmup_steps=4)
    assert [kl_weight(s, cfg) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert kl_weight(0, TrainConfig(kl_warmup_steps=0)) == 1.0


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_every_optimizer_lowers_the_loss(name, mnist_batch):
    torch.manual_seed(0)
    model = DRAW(SMALL)
    cfg = TrainConfig(optimizer=name, lr={"adam": 3e-3, "sgd": 1e-3, "rmsprop": 1e-3}[name], grad_clamp=10)
    opt = make_optimizer(model, cfg)
    x = mnist_batch[:32]
    first = train_step(model, opt, x, cfg).loss.item()
    for _ in range(30):
        last = train_step(model, opt, x, cfg).loss.item()
    assert last < first - 5


@pytest.mark.parametrize("changes,message", [
    (dict(optimizer="adamw"), "unknown optimizer"), (dict(lr=0.0), "learning rate"),
    (dict(lr_decay=1.5), "lr decay"), (dict(grad_clip=-1), "grad_clip"), (dict(batch_size=0), "batch size"),
])
def test_bad_training_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes).validate()


def test_evaluation_is_deterministic_and_importance_weighting_is_tighter(small_data):
    torch.manual_seed(0)
    model = DRAW(SMALL)
    images = Batches(small_data, 32).test_images()
    a = evaluate(model, images, batch_size=24)
    b = evaluate(model, images, batch_size=24, k=8)
    assert a.nll_bound == pytest.approx(b.nll_bound, rel=1e-9)
    assert a.nll_bound == pytest.approx(a.recon + a.kl)
    assert a.images == 64 and a.kl_steps.shape == (4,)
    assert b.nll_iw < b.nll_bound  # log-mean-exp of 8 weights beats their mean (Jensen)


def test_evaluation_progress_moves_with_every_importance_sample(small_data):
    # With k = 100 on a CPU one batch takes minutes: progress comes after every pass of the
    # model over a batch (1 + k per image), steadily up to the whole.
    model = DRAW(SMALL)
    images = Batches(small_data, 32).test_images()[:50]
    calls = []
    evaluate(model, images, batch_size=24, k=3, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == 3 * (1 + 3)                    # 3 batches (24, 24, 2), each 1 + k passes
    assert {total for _, total in calls} == {50 * 4} and calls[-1][0] == 50 * 4
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert done[:4] == [24, 48, 72, 96]                 # the first batch: its bound, then each sample
    calls.clear()
    evaluate(model, images, batch_size=24, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(24, 50), (48, 50), (50, 50)]     # k = 0: images, as before


# ---- checkpoint files a user may hand us -----------------------------------------------------

@pytest.fixture
def real_checkpoint(small_data, tmp_path):
    trainer = make_trainer(small_data, max_steps=2)
    trainer.run()
    return save_checkpoint(tmp_path / "good.pt", trainer.checkpoint())


def test_checkpoint_round_trip_holds_everything_to_continue(real_checkpoint):
    ckpt = load_checkpoint(real_checkpoint)
    assert ckpt["step"] == 2 and ckpt["dataset"] == "mnist"
    assert DrawConfig.from_dict(ckpt["model_config"]) == SMALL
    assert TrainConfig.from_dict(ckpt["train_config"]).batch_size == 32
    assert ckpt["history"]["loss"].shape == (2,) and "noise_rng" in ckpt and "optimizer" in ckpt


def test_checkpoint_is_written_atomically(real_checkpoint, monkeypatch):
    before = real_checkpoint.read_bytes()

    def failing_save(obj, f, *a, **k):
        f.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError):
        save_checkpoint(real_checkpoint, {"model_config": {}, "model": {}})
    assert real_checkpoint.read_bytes() == before
    assert [p.name for p in real_checkpoint.parent.iterdir()] == ["good.pt"]


@pytest.mark.parametrize("make,message", [
    (lambda p, good: None, "no such checkpoint"),
    (lambda p, good: p.write_bytes(b""), "empty"),
    (lambda p, good: p.write_bytes(good[: len(good) // 2]), "truncated or corrupt"),
    (lambda p, good: p.write_bytes(bytes(range(256)) * 40), "not a PyTorch archive"),
    (lambda p, good: torch.save(torch.zeros(3), p), "not a draw-gui checkpoint"),
    (lambda p, good: torch.save({"state_dict": {}}, p), "not a draw-gui checkpoint"),
    (lambda p, good: torch.save({"format": "draw-gui-checkpoint", "version": 99, "model": {}, "model_config": {}}, p),
     "format version 99"),
    (lambda p, good: torch.save({"x": threading.Lock}, p), "not loaded for safety .*Unsupported global"),
])
def test_unusable_checkpoints_get_a_one_line_reason(real_checkpoint, tmp_path, make, message):
    bad = tmp_path / "bad.pt"
    make(bad, real_checkpoint.read_bytes())
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


def test_restoring_an_older_checkpoint_rewrites_the_metrics_from_its_history(small_data, tmp_path):
    import csv
    from core.runfolder import RunFolder
    trainer = make_trainer(small_data, max_steps=3)
    trainer.run()
    old = trainer.checkpoint()
    trainer.config.max_steps = 6
    trainer.run()
    RunFolder(tmp_path).write_metrics(trainer.history)  # the run went on to step 6
    resumed = make_trainer(small_data, checkpoint=old, max_steps=5)
    resumed.run()
    RunFolder(tmp_path).write_metrics(resumed.history)
    with open(tmp_path / "metrics.csv") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps == [1, 2, 3, 4, 5]


def test_call_soon_runs_on_the_training_thread_while_paused(small_data):
    trainer = make_trainer(small_data, epochs=100)
    trainer.pause()
    worker = threading.Thread(target=trainer.run, name="trainer")
    worker.start()
    seen = threading.Event()
    where = []
    trainer.call_soon(lambda: (where.append((threading.current_thread().name, trainer.step)), seen.set()))
    assert seen.wait(5)
    assert where == [("trainer", 0)]  # served while paused, with no step taken
    trainer.stop()
    worker.join(5)
    assert not worker.is_alive()


def test_stop_cuts_an_evaluation_short(small_data):
    trainer = make_trainer(small_data, max_steps=1)
    trainer.stop()
    assert trainer.evaluate() is None and trainer.history.evals == []


def test_compiled_training_matches_the_plain_step(small_data):
    """torch.compile changes speed, not the model: the same run gives the same losses."""
    plain = make_trainer(small_data, max_steps=3)
    plain.run()
    compiled = make_trainer(small_data, max_steps=3, compile=True)
    compiled.run()
    assert compiled.compile_note is None
    assert losses(compiled) == pytest.approx(losses(plain), rel=1e-4)


def test_the_glimpses_compile_once_not_once_more_for_the_first_call_of_a_step():
    """The first call of a step gets the broadcast initial state and an h^enc_0 without a
    gradient; it is given the layout of every later call, so torch.compile builds one graph (two
    doubled the first compilation)."""
    from torch._dynamo.utils import counters

    from core.model import DRAW
    torch._dynamo.reset()
    model = DRAW(DrawConfig(glimpses=4, enc_size=16, dec_size=16, z_size=3))
    model.compile_glimpse(glimpses_per_call=2)
    cfg = TrainConfig()
    opt = make_optimizer(model, cfg)
    x = (torch.rand(8, 1, 28, 28) < 0.2).float()
    graphs = counters["stats"]["unique_graphs"]
    for _ in range(2):
        train_step(model, opt, x, cfg)
    assert counters["stats"]["unique_graphs"] - graphs == 1


def test_compiled_glimpses_fuse_the_filterbank_products_on_a_cpu_with_the_same_numbers():
    """On a CPU the compiled glimpses compute the filterbank's small products (eq. 27, 29) as
    multiply and sum inside inductor's kernels: no bmm call is left in a training step, and the
    bound and gradients are the plain step's. Asked not to, the products stay bmm calls."""
    from torch.profiler import ProfilerActivity, profile

    from core.model import DRAW
    torch._dynamo.reset()
    torch.manual_seed(0)
    x = (torch.rand(6, 1, 28, 28) < 0.2).float()
    eps = torch.randn(2, 6, 3)
    bmm_calls = {}
    for as_sums in (None, False):
        model = DRAW(DrawConfig(glimpses=2, enc_size=16, dec_size=16, z_size=3))
        plain = model(x, eps=eps)
        plain.loss.backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        model.compile_glimpse(glimpses_per_call=1, small_products_as_sums=as_sums)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            compiled = model(x, eps=eps)
            compiled.loss.backward()
        bmm_calls[as_sums] = sum(e.count for e in prof.key_averages() if e.key == "aten::bmm")
        torch.testing.assert_close(compiled.kl, plain.kl, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(compiled.recon, plain.recon, rtol=1e-4, atol=1e-4)
        for p, g in zip(model.parameters(), grads):
            torch.testing.assert_close(p.grad, g, rtol=1e-3, atol=1e-5)
    assert model.read.products_as_sums is False
    assert bmm_calls[None] == 0 and bmm_calls[False] > 0


def test_a_failing_compilation_falls_back_to_the_plain_step(small_data, monkeypatch):
    trainer = make_trainer(small_data, max_steps=2, compile=True)

    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    trainer.model._compiled_glimpses = broken
    trainer.run()
    assert trainer.step == 2 and "torch.compile failed" in trainer.compile_note


def test_deferred_reading_as_on_a_gpu_records_the_same_history(small_data):
    """The GPU path reads the numbers back only at reports and epoch ends; here on the CPU."""
    direct = make_trainer(small_data, max_steps=10)
    direct.run()
    deferred = make_trainer(small_data, max_steps=10)
    deferred.sync_every_step = False
    deferred.run(on_progress=lambda p: None, report_interval_s=3600)
    for key in ("step", "epoch", "loss", "recon", "kl"):
        assert deferred.history.columns[key] == direct.history.columns[key]


def test_deferred_reading_still_catches_a_nan_and_never_applies_it(small_data):
    trainer = make_trainer(small_data, max_steps=4)
    trainer.sync_every_step = False
    trainer.run()
    trainer.config.max_steps = 7
    with torch.no_grad():
        trainer.model.q.bias[0] = float("nan")
    good = {k: v.clone() for k, v in trainer.model.state_dict().items() if k != "q.bias"}
    with pytest.raises(NonFiniteLoss, match="at step 5"):
        trainer.run(on_progress=lambda p: None, report_interval_s=3600)
    for k, v in good.items():
        torch.testing.assert_close(trainer.model.state_dict()[k], v)


def test_a_checkpoint_from_another_kind_of_device_resumes(small_data, tmp_path):
    """A GPU's noise-generator state does not fit a CPU generator: resume reseeds instead of failing."""
    trainer = make_trainer(small_data, max_steps=2)
    trainer.run()
    ckpt = trainer.checkpoint()
    ckpt["noise_rng"], ckpt["noise_device"] = torch.zeros(16, dtype=torch.uint8), "cuda"
    resumed = make_trainer(small_data, checkpoint=ckpt, max_steps=4)
    resumed.run()
    assert resumed.step == 4 and all(map(math.isfinite, losses(resumed)))


@pytest.mark.parametrize("glimpses, per_call, attention", [(64, 8, "gaussian"), (12, 6, "gaussian"), (7, 7, "gaussian"),
                                                      (11, 1, "gaussian"), (16, 8, "none")])
def test_compiled_training_runs_several_glimpses_per_call_with_the_same_numbers(monkeypatch, glimpses, per_call,
                                                                               attention):
    """On a CPU one compiled call runs up to 8 glimpses (the largest divisor of T), so that
    torch.compile's per-call bookkeeping is paid T/8 times: same bound, same KL per glimpse, same
    gradients as the plain step. (torch.compile is the identity here: the grouping is tested.)"""
    from core.model import DRAW
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)
    torch.manual_seed(0)
    model = DRAW(DrawConfig(glimpses=glimpses, enc_size=16, dec_size=16, z_size=3, attention=attention))
    x = (torch.rand(5, 1, 28, 28) < 0.2).float()
    eps = torch.randn(glimpses, 5, 3)
    plain = model(x, eps=eps)
    plain.loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    calls = []
    model.compile_glimpse()
    glimpses_fn = model._compiled_glimpses
    model._compiled_glimpses = lambda *a: calls.append(a[6].shape[0]) or glimpses_fn(*a)   # a[6]: eps
    grouped = model(x, eps=eps)
    grouped.loss.backward()
    assert model.glimpses_per_call == per_call and calls == [per_call] * (glimpses // per_call)
    torch.testing.assert_close(grouped.kl, plain.kl)
    torch.testing.assert_close(grouped.recon, plain.recon)
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, g)
    with torch.no_grad():   # evaluation and traces keep the plain step
        calls.clear()
        model(x, eps=eps, trace=True)
        assert calls == []
    with pytest.raises(ValueError, match="does not divide"):
        model.compile_glimpse(glimpses_per_call=glimpses + 1)


def test_compile_mode_is_cuda_graphs_only_on_a_gpu(monkeypatch):
    """On the CPU the default inductor mode; "reduce-overhead" (CUDA graphs) is asked for on CUDA
    only, and then every training step marks where a new CUDA graph tree generation begins."""
    from core.model import DRAW
    seen, marks = [], []
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: seen.append(kw["mode"]) or fn)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: marks.append(1))
    model = DRAW(DrawConfig(glimpses=2, enc_size=8, dec_size=8, z_size=2))
    model.compile_glimpse()
    assert seen == [None] and model.compile_mode == "default"
    model.compile_glimpse("reduce-overhead")  # what "auto" picks when the model is on CUDA
    cfg = TrainConfig()
    train_step(model, make_optimizer(model, cfg), torch.zeros(2, 1, 28, 28), cfg)
    assert seen[-1] == "reduce-overhead" and marks == [1]


def test_bf16_training_reports_float32_numbers_close_to_fp32(small_data):
    """--precision bf16 once crashed at the first progress report (numpy has no bfloat16). The KL
    is summed in float32 under autocast, so the same weights give nearly the same bound."""
    reports = []
    trainer = make_trainer(small_data, max_steps=3, precision="bf16")
    trainer.run(on_progress=reports.append, report_interval_s=0)
    assert [r.step for r in reports] == [1, 2, 3]
    assert reports[-1].kl_steps.dtype == np.float32 and np.isfinite(reports[-1].loss)
    x = trainer.batches.batch(0, 0)
    eps = torch.randn(SMALL.glimpses, x.shape[0], SMALL.z_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        exact = trainer.model(x, eps=eps)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            rounded = trainer.model(x, eps=eps)
    assert rounded.kl.dtype == torch.float32
    np.testing.assert_allclose(rounded.kl.sum(1).numpy(), exact.kl.sum(1).numpy(), rtol=0.05, atol=0.05)
    np.testing.assert_allclose(rounded.recon.numpy(), exact.recon.numpy(), rtol=0.02)


def test_continuing_from_weights_only_ramps_the_learning_rate_up(small_data):
    """A shipped model has no optimizer state: Adam's moments start at zero, and the full learning
    rate on every weight at once threw a trained model back by 200 nats. It ramps up instead."""
    from core.checkpoint import weights_only
    from core.config import RESTART_WARMUP_STEPS
    first = make_trainer(small_data, max_steps=5, kl_warmup_steps=0)
    first.run()
    lrs = {}
    for name, ckpt in (("full", first.checkpoint()), ("weights", weights_only(first.checkpoint()))):
        t = make_trainer(small_data, checkpoint=ckpt, max_steps=8, kl_warmup_steps=0)
        t.run(on_progress=lambda p, n=name: lrs.setdefault(n, []).append(p.lr), report_interval_s=0)
        assert t.step == 8
    assert lrs["full"] == [1e-3] * 3                                   # its optimizer state came along
    assert lrs["weights"] == pytest.approx([1e-3 * k / RESTART_WARMUP_STEPS for k in (1, 2, 3)])


def test_images_seen_are_counted_across_runs_at_different_batch_sizes(small_data, tmp_path):
    """A model continued at another batch size: the epoch counter counts this run's steps at its
    batch, while the checkpoint counts every image the model learnt from, in every run."""
    from core.checkpoint import epochs_seen, weights_only
    first = make_trainer(small_data, max_steps=6)                 # 6 steps of 32 images
    first.run()
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "first.pt", first.checkpoint()))
    assert (ckpt["images_seen"], ckpt["train_images"]) == (192, 256) and epochs_seen(ckpt) == 0.75
    cfg = TrainConfig(batch_size=8, device="cpu", max_steps=10)   # then 4 steps of 8
    more = Trainer(SMALL, cfg, Batches(small_data, 8), checkpoint=weights_only(ckpt))
    more.run()
    assert more.step == 10 and more.epoch == 0                     # 10 steps of 8: 80 of 256 images
    assert more.images_seen == 192 + 4 * 8 and epochs_seen(more.checkpoint()) == 224 / 256


def test_a_file_from_before_images_were_counted_counts_its_steps_at_its_batch(small_data):
    first = make_trainer(small_data, max_steps=3)
    first.run()
    old = {k: v for k, v in first.checkpoint().items() if k not in ("images_seen", "train_images")}
    from core.checkpoint import epochs_seen
    assert epochs_seen(old) is None
    more = Trainer(SMALL, TrainConfig(batch_size=16, device="cpu", max_steps=5), Batches(small_data, 16), checkpoint=old)
    more.run()
    assert more.images_seen == 3 * 32 + 2 * 16


def test_weights_only_keeps_what_a_shipped_model_needs_and_thins_the_history(small_data):
    from core.checkpoint import weights_only
    t = make_trainer(small_data, max_steps=7)
    t.run()
    kept = weights_only(t.checkpoint(), max_history_rows=3)
    assert "optimizer" not in kept and "noise_rng" not in kept and kept["step"] == 7
    assert kept["images_seen"] == 7 * 32 and kept["train_images"] == 256
    assert kept["history"]["step"].tolist() == [1.0, 4.0, 7.0]       # the last step is always kept
    assert kept["data_settings"]["data_dir"] is None
