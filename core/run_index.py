"""The runs a user has, one summary per run folder, for the window's Runs list.

Only run.json, eval.csv, the tail of metrics.csv and file dates are read (never checkpoint.pt),
so listing a few hundred runs takes a blink. A damaged or half-written file gives a summary with
less in it, never an exception.
"""
from __future__ import annotations

import enum
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable

from core.config import is_count
from core.runfolder import CHECKPOINT_NAME, INFO_NAME, RunReader

# A run on another machine whose run.json has not changed for this long has stopped without
# saying so (a running run writes it every ~5 s).
STALE_AFTER_S = 600.0


class Status(str, enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # run.json says running (or paused) but its process is gone
    UNKNOWN = "unknown"          # no run.json, or a status draw-gui does not write

    @classmethod
    def parse(cls, value) -> Status:
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True)
class RunSummary:
    path: Path
    name: str
    dataset: str                  # "" when run.json does not say
    model: str                    # "gaussian r2 w5, T 64, LSTM 256, z 100", or ""
    step: int
    total_steps: int | None
    best_nll: float | None        # the lowest test NLL bound in eval.csv
    best_nll_step: int | None
    last_eval_step: int | None
    status: Status
    updated_unix: float           # run.json's updated_unix, else the newest run file's date
    started_at: str | None
    host: str | None
    pid: int | None
    has_checkpoint: bool

    @property
    def live(self) -> bool:
        """Owned by a process that is (as far as we can tell) still going: follow it, don't continue it."""
        return self.status in (Status.RUNNING, Status.PAUSED)

    @property
    def can_continue(self) -> bool:
        return self.has_checkpoint and not self.live


def model_summary(model_config: dict | None) -> str:
    """'gaussian r2 w5, T 64, LSTM 256, z 100' from run.json's (validated) model_config."""
    if not model_config:
        return ""
    m = model_config
    attention = m.get("attention", "gaussian")
    if attention == "none":
        parts = ["no attention"]
    else:
        rotation = " rot" if attention == "spatial" and m.get("spatial_rotation") else ""
        parts = [f"{attention}{rotation} r{m.get('read_size', 2)} w{m.get('write_size', 5)}"]
    enc, dec = m.get("enc_size", 256), m.get("dec_size", 256)
    parts += [f"T {m.get('glimpses', 64)}", f"LSTM {enc}" if enc == dec else f"LSTM {enc}/{dec}",
              f"z {m.get('z_size', 100)}"]
    return ", ".join(parts)


def pid_alive(pid: int) -> bool | None:
    """Whether process `pid` of this machine exists; None where this cannot be asked safely
    (on Windows os.kill(pid, 0) would terminate it)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True   # another user's process (or an odd pid): do not claim it is gone
    return True


def effective_status(info: dict, last_sign_of_life: float, now: float | None = None,
                     host: str | None = None) -> Status:
    """run.json's status, with a running (or paused) run whose process is gone as INTERRUPTED:
    on this machine its pid no longer exists; on another, a running run stopped writing
    run.json over STALE_AFTER_S ago (a paused one there cannot be told from a dead one)."""
    status = Status.parse(info.get("status"))
    if status not in (Status.RUNNING, Status.PAUSED):
        return status
    here = socket.gethostname() if host is None else host
    alive = pid_alive(info["pid"]) if info.get("host") == here and info.get("pid") else None
    if alive is None and status is Status.RUNNING:
        alive = (time.time() if now is None else now) - last_sign_of_life <= STALE_AFTER_S
    return Status.INTERRUPTED if alive is False else status


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _last_metrics_step(path: Path) -> int:
    """The step of metrics.csv's last complete line (reads only its last 4 KB)."""
    try:
        with open(path / "metrics.csv", "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
            lines = fh.read().split(b"\n")[:-1]   # the part after the last newline is incomplete
        step = float(lines[-1].split(b",")[0]) if lines else 0.0
    except (OSError, ValueError):
        return 0
    return int(step) if is_count(step, floats=True) else 0


def summarize(path: str | os.PathLike, now: float | None = None, host: str | None = None) -> RunSummary | None:
    """The summary of the run in `path`; None when it is not a run folder (or is gone).
    now, host: the clock and this machine's name (tests)."""
    path = Path(path)
    try:
        reader = RunReader(path)
        if not reader.looks_like_run():
            return None
    except OSError:
        return None
    info = reader.info()
    evals = reader.evals()
    best = min(evals, key=lambda e: e["nll_bound"]) if evals else None
    files_date = max(_mtime(path / n) for n in (INFO_NAME, "metrics.csv", "eval.csv", CHECKPOINT_NAME))
    updated = float(info.get("updated_unix") or files_date)
    step = info.get("step")
    if step is None:
        step = max(_last_metrics_step(path), int(evals[-1]["step"]) if evals else 0)
    return RunSummary(
        path=path, name=path.name, dataset=info.get("dataset", ""),
        model=model_summary(info.get("model_config")), step=step,
        total_steps=info.get("total_steps") or None,
        best_nll=None if best is None else best["nll_bound"],
        best_nll_step=None if best is None else int(best["step"]),
        last_eval_step=int(evals[-1]["step"]) if evals else None,
        status=effective_status(info, max(updated, _mtime(path / INFO_NAME)), now, host),
        updated_unix=updated, started_at=info.get("started_at"), host=info.get("host"),
        pid=info.get("pid"), has_checkpoint=(path / CHECKPOINT_NAME).is_file())


def _children(root: Path) -> list[Path]:
    try:
        return [p for p in root.iterdir() if p.is_dir()]
    except OSError:   # missing, not a folder, not readable
        return []


def list_runs(roots: Iterable[str | os.PathLike], extra: Iterable[str | os.PathLike] = (),
              now: float | None = None, host: str | None = None) -> list[RunSummary]:
    """The runs directly under each of `roots` and the remembered folders `extra`, newest first.
    Folders that are gone or are not runs are skipped; each run appears once."""
    seen: set[Path] = set()
    runs: list[RunSummary] = []
    candidates = [child for root in roots for child in _children(Path(root))] + [Path(p) for p in extra]
    for folder in candidates:
        key = Path(os.path.abspath(folder))
        if key in seen:
            continue
        seen.add(key)
        summary = summarize(folder, now, host)
        if summary is not None:
            runs.append(summary)
    runs.sort(key=lambda s: s.updated_unix, reverse=True)
    return runs
