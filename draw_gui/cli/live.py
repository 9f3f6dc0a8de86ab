"""`draw-gui train`'s followable run folder and its torchrun (DistributedDataParallel) mode.

Kept apart from cli_train.py so that the single-process path there reads as before: these
helpers are called at a few points (start, progress, checkpoint, end).
"""
from __future__ import annotations

import contextlib
import signal
from dataclasses import replace

from core.live_run import METRICS_EVERY_S as FOLLOW_INTERVAL_S   # the window's runs write at the same pace
from core.live_run import SNAPSHOT_EVERY_S as SNAPSHOT_INTERVAL_S
from draw_gui.cli.common import UsageError

CHECKPOINT_MINUTES = 10.0    # checkpoint.pt by time, besides epochs: recent weights on long epochs


def distributed_env() -> bool:
    """Started by torchrun (one process or several)."""
    from core.distributed import under_torchrun
    return under_torchrun()


def run_distributed(args, run_train) -> int:
    """Join the process group torchrun set up, train, and leave it whatever happens."""
    from core.distributed import Distributed, DistributedError
    if args.display:
        raise UsageError("--display opens the window in one process; run `draw-gui train --display` without torchrun")
    try:
        dist = Distributed.from_env(args.device or "auto")
    except DistributedError as e:
        raise UsageError(str(e)) from None
    if not dist.is_main:
        args.quiet, args.log_file = True, None   # rank 0 speaks and writes for all
    try:
        code = run_train(args, dist)
        # Every rank leaves the group together: a rank that tore gloo down while rank 0 was still
        # evaluating and saving was once aborted at exit ("terminate called without an active
        # exception"). After an exception no barrier: the others may never reach it.
        dist.barrier()
        return code
    finally:
        dist.close()


def train_config_for_ranks(dist, train_cfg):
    """This process's device, and a batch that splits evenly over the processes."""
    from core.distributed import DistributedError
    try:
        dist.check_batch(train_cfg.batch_size)
    except DistributedError as e:
        raise UsageError(str(e)) from None
    return replace(train_cfg, device=str(dist.device))


@contextlib.contextmanager
def stop_on_signals(trainer):
    """Ctrl-C, and SIGTERM (what torchrun, schedulers and `kill` send to a run on a server), stop
    the trainer between steps instead of killing the run; under torchrun every rank agrees on the
    step before the next one. The previous handlers come back on leaving."""
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = [signal.signal(s, lambda *_: trainer.stop()) for s in signals]
    try:
        yield
    finally:
        for s, p in zip(signals, previous):
            signal.signal(s, p)


def train_other_rank(trainer, dist) -> int:
    """Ranks other than 0: train in step with rank 0, write nothing, print nothing."""
    from core.loop import NonFiniteLoss
    with stop_on_signals(trainer):
        try:
            outcome = trainer.run(on_epoch_end=lambda epoch: dist.barrier())  # rank 0 evaluates and saves meanwhile
        except NonFiniteLoss:
            return 1  # every rank sees the same averaged gradient: they all stop at this step
    return 130 if outcome == "stopped" else 0


def start_live_run(args, trainer, batches, run, device, dataset, data, dist, save, continues=None):
    """run.json (status running) and a first snapshot; returns the core.live_run.LiveRun to feed.
    continues: the checkpoint restored (its run folder's history carries over)."""
    from core.live_run import LiveRun, run_info
    from draw_gui import __version__
    info = run_info(trainer, dataset, data.source, device, version=__version__,
                    world_size=dist.world_size if dist is not None else 1)
    minutes = CHECKPOINT_MINUTES if args.checkpoint_minutes is None else args.checkpoint_minutes
    live = LiveRun(run, trainer, batches.examples(8).to(device), info, save=save,
                   metrics_every_s=FOLLOW_INTERVAL_S if args.follow_interval is None else args.follow_interval,
                   snapshot_every_s=SNAPSHOT_INTERVAL_S if args.snapshot_interval is None else args.snapshot_interval,
                   checkpoint_every_s=60 * minutes, tensorboard=args.tensorboard, continues=continues)
    live.start()
    return live


def upkeep_line(live, trainer) -> str:
    """What keeping the folder followable cost, against the training time."""
    share = live.upkeep_s / trainer.elapsed_s if trainer.elapsed_s > 0 else 0.0
    return (f"run folder upkeep (metrics, snapshots, run.json, timed checkpoints): {live.upkeep_s:.2f} s of "
            f"{trainer.elapsed_s:.1f} s training ({share:.2%})")
