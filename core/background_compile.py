"""Compile the training step in another process, so that training never waits for the compiler.

torch.compile's first call traces the glimpses and has inductor generate and build C++ for their
forward and backward: about a minute on a 2-core CPU, during which the training thread stands
still (the window would look hung). Inductor keeps what it built in its on-disk cache, keyed by
the traced graph (shapes, dtypes, thread count), not by the weights. So a child process that
builds a model of the same configuration and runs one compiled training step at the same batch
size and thread count fills the cache; the training thread then compiles its own step from that
cache in about 3 s (benchmarks/background_compile.py measures both) and switches to it.

    job = BackgroundCompile(model_config, batch_size=64, threads=1)
    ... train the plain step, calling job.poll() between steps: None while it builds ...
    if job.poll():  compile_from_cache(model)   # the next step compiles from the cache

The child runs at a lower priority (nice 10), so the training thread and a window's GUI thread
keep the cores they had. main() is the child.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

# A compiled step is ~1.5x faster on a CPU (README, "Speed"); compiling costs ~1 min once, or ~3 s
# from the cache: it pays back within a few hundred steps, so runs this long are compiled by default.
AUTO_COMPILE_STEPS = 2000


def compile_from_cache(model, collect_garbage: bool = True) -> None:
    """The training thread's side of the switch, once the job is done: model.compile_glimpse();
    its next training step compiles from the cache the job filled. collect_garbage False: no
    collection of Python's cyclic garbage after compiling (torch.compile runs one by default, in
    the thread that compiles), for a program that collects in one thread only (a Qt window)."""
    if not collect_garbage:
        import torch._dynamo
        torch._dynamo.config.run_gc_after_compile = False
    model.compile_glimpse()


def can_compile_in_background(device: str) -> bool:
    """Only on a CPU (a GPU step is compiled with CUDA graphs, not measured this way), and not in a
    PyInstaller bundle (sys.executable is the app, and there is no C++ tool chain for inductor).
    DRAW_GUI_NO_BACKGROUND_COMPILE=1 turns it off (the tests, which time or compare plain steps)."""
    if os.environ.get("DRAW_GUI_NO_BACKGROUND_COMPILE") == "1":
        return False
    return device == "cpu" and not getattr(sys, "frozen", False)


class BackgroundCompile:
    """The child process that fills inductor's cache for one training step's shapes."""

    def __init__(self, model_config: dict, batch_size: int, threads: int, precision: str = "fp32",
                 timeout_s: float = 600.0):
        self.started = time.monotonic()
        self.timeout_s = timeout_s
        self.seconds: float | None = None   # how long it took, once done
        self.error: str | None = None       # why it failed: the child's last line of output
        self._result: bool | None = None
        self._log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall the child
        spec = json.dumps({"model": model_config, "batch_size": batch_size, "threads": threads,
                           "precision": precision})
        self._proc = subprocess.Popen(_child_command(spec), stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT)

    def poll(self) -> bool | None:
        """None while the child builds; then True (the cache is filled) or False (see .error)."""
        if self._result is not None:
            return self._result
        code = self._proc.poll()
        if code is None:
            if time.monotonic() - self.started < self.timeout_s:
                return None
            self._proc.kill()
            self._proc.wait()
            return self._done(False, f"no result after {self.timeout_s:.0f} s")
        if code == 0:
            return self._done(True)
        return self._done(False, self._last_line() or f"the compiling process exited with code {code}")

    def cancel(self) -> None:
        """Stop the child (the run ended or another model was loaded); nothing is left running."""
        if self._result is None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
            self._done(False, "cancelled")

    def _done(self, ok: bool, error: str | None = None) -> bool:
        self._result, self.error = ok, error
        self.seconds = time.monotonic() - self.started
        self._log.close()
        return ok

    def _last_line(self) -> str:
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""


def _child_command(spec: str) -> list[str]:
    """python -c, importing this `core` and no other: the parent's working folder (a user's own
    "core" package, say) is taken off sys.path, and a checkout's root is put there when `core`
    is not installed (an installed one's site-packages never goes before the standard library)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = os.path.basename(root) in ("site-packages", "dist-packages")
    code = ("import sys; sys.path[0:1] = sys.argv[2:3]; "
            "from core.background_compile import main; sys.exit(main(sys.argv[1:2]))")
    return [sys.executable, "-c", code, spec] + ([] if installed else [root])


def main(argv: list[str] | None = None) -> int:
    """The child: one compiled training step of a fresh model with the given shapes."""
    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    if hasattr(os, "nice"):
        os.nice(10)
    import torch

    from core.config import DrawConfig, TrainConfig
    from core.model import DRAW
    from core.train import make_optimizer, train_step

    torch.set_num_threads(int(spec["threads"]))  # dynamo guards on it: the parent's count
    model_config = DrawConfig.from_dict(spec["model"])
    train_config = TrainConfig(batch_size=int(spec["batch_size"]), precision=spec["precision"], device="cpu")
    model = DRAW(model_config)
    model.compile_glimpse()
    x = (torch.rand(train_config.batch_size, *model_config.image_shape) < 0.5).float()
    train_step(model, make_optimizer(model, train_config), x, train_config)
    return 0

