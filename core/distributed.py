"""Data-parallel training under `torchrun`: one process per GPU (or several on the CPU).

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; `Distributed.from_env`
reads them and joins the process group (nccl on CUDA, one GPU per process, cuda:LOCAL_RANK;
gloo on the CPU). The Trainer then:

- draws the *global* batch and the *global* noise eps on every rank, from the same seed and
  generator, and keeps its own contiguous slice (`shard`), so N processes with batch B take the
  same steps as one process with batch B, reproducibly;
- wraps the model in DistributedDataParallel, which averages the gradients: the mean over B/N
  images averaged over N ranks is the mean over B;
- averages the step's loss numbers (`average`) so every rank records the global batch's bound;
- asks `should_stop` before every step: a stop on any rank (Ctrl-C, SIGTERM from torchrun)
  stops every rank at the same step, so none waits forever in a collective.

Agreement and barriers use a separate gloo group: plain CPU numbers, so on a GPU they never
force the device to synchronise.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


class DistributedError(RuntimeError):
    """A distributed setup that cannot work; the message says how to fix it."""


def env_world_size() -> int:
    """WORLD_SIZE as torchrun sets it (1 outside torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def under_torchrun() -> bool:
    """Started by torchrun (or anything that sets RANK and WORLD_SIZE), even as a single process:
    `torchrun --nproc_per_node 1` then runs the same code path (NCCL, DDP) as N processes, which
    is how that path is checked on a machine with one GPU."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str = ""
    _control: object = None           # gloo group for flags and barriers

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """Joined a process group (under torchrun, whatever the number of processes)."""
        return self.backend != ""

    @classmethod
    def from_env(cls, device: str = "auto", timeout_s: float = 1800) -> Distributed:
        """Join the process group torchrun describes in the environment; a process not started
        by torchrun gets a disabled Distributed and nothing is initialised."""
        if not under_torchrun():
            return cls()
        world = max(env_world_size(), 1)
        try:
            rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
        except (KeyError, ValueError):
            raise DistributedError("WORLD_SIZE is set but RANK is not: start several processes with "
                                   "`torchrun --nproc_per_node N -m draw_gui train ...`") from None
        name = device or "auto"
        if name.startswith("cuda:"):
            raise DistributedError(f"--device {name}: under torchrun each process uses the GPU cuda:LOCAL_RANK; "
                                   "give --device cuda (or auto), or limit the GPUs with CUDA_VISIBLE_DEVICES")
        if name == "mps":
            raise DistributedError("--device mps cannot train in several processes; use --device cpu or a CUDA GPU")
        use_cuda = name == "cuda" or (name == "auto" and torch.cuda.is_available())
        if use_cuda:
            if not torch.cuda.is_available():
                raise DistributedError("--device cuda under torchrun, but this torch sees no CUDA GPU; use --device cpu")
            if local_rank >= torch.cuda.device_count():
                raise DistributedError(f"process LOCAL_RANK {local_rank} has no GPU: only {torch.cuda.device_count()} "
                                       "visible; give --nproc_per_node at most the number of GPUs")
            torch.cuda.set_device(local_rank)
            dev, backend = torch.device("cuda", local_rank), "nccl"
        else:
            dev, backend = torch.device("cpu"), "gloo"
        timeout = datetime.timedelta(seconds=timeout_s)
        if not dist.is_initialized():
            kwargs = {"device_id": dev} if backend == "nccl" else {}
            dist.init_process_group(backend, rank=rank, world_size=world, timeout=timeout, **kwargs)
        control = dist.new_group(backend="gloo", timeout=timeout) if backend != "gloo" else dist.group.WORLD
        return cls(rank=rank, world_size=world, local_rank=local_rank, device=dev, backend=backend,
                   _control=control)

    # ---- what the Trainer calls ---------------------------------------------------------------
    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.world_size:
            raise DistributedError(f"batch size {batch_size} does not split evenly over {self.world_size} processes; "
                                   f"use a multiple of {self.world_size} (--batch_size is the global batch)")

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to train through: DistributedDataParallel, or the model itself alone."""
        if not self.enabled:
            return model
        import inspect
        from torch.nn.parallel import DistributedDataParallel
        # Buffers (a fixed c_0) never change and start equal on every rank: no per-step broadcast
        # (the option's name changed in recent torch).
        params = inspect.signature(DistributedDataParallel.__init__).parameters
        no_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in params else {"broadcast_buffers": False}
        return DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                       **no_sync)

    def shard(self, x: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """This rank's contiguous slice of a global batch along `dim`."""
        if not self.enabled:
            return x
        per = x.shape[dim] // self.world_size
        return x.narrow(dim, self.rank * per, per)

    def average(self, t: torch.Tensor) -> torch.Tensor:
        """The mean of t over ranks (gloo has no AVG, so a sum divided)."""
        if not self.enabled:
            return t
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t / self.world_size

    def should_stop(self, stop_here: bool) -> bool:
        """True on every rank when any rank asks to stop."""
        if not self.enabled:
            return stop_here
        flag = torch.tensor([1 if stop_here else 0], dtype=torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self._control)
        return bool(flag.item())

    def barrier(self) -> None:
        """Wait for every rank (e.g. while rank 0 evaluates and saves)."""
        if self.enabled:
            dist.barrier(group=self._control)

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()
