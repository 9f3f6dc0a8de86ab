"""How many CPU threads torch trains with, chosen by timing the training steps themselves.

On a 2-core laptop two threads train ~1.3x faster than one while the other core is free, and
~3x slower than one as soon as something else keeps it busy (libgomp's spinning threads wait for
each other): the window's GUI thread, a browser, a second run. No fixed choice is right, so the
tuner measures. Every so often it runs a few steps with the other candidate thread counts, times
them against the current one, and keeps the fastest; a probe that loses backs off (the next one
comes later), so a busy machine pays little for asking.

    tuner = ThreadTuner.for_machine()          # None where there is nothing to choose
    for step in ...:
        t = time.perf_counter(); train_step(...); tuner.after_step(time.perf_counter() - t)
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field

import torch

PROBE_STEPS = 3           # timed steps per candidate in a probe (after one untimed step to settle)
FIRST_PROBE_S = 20.0      # the first probe, once the run has warmed up
PROBE_EVERY_S = 60.0      # then this often while the winner stays ...
MAX_PROBE_EVERY_S = 600.0  # ... and up to this apart while probes keep losing (doubling)


@dataclass
class ThreadTuner:
    """Chooses torch.set_num_threads among `candidates` by the median time of training steps."""
    candidates: tuple[int, ...]
    current: int
    clock: object = time.monotonic            # seconds; tests pass their own
    probe_every_s: float = PROBE_EVERY_S
    first_probe_s: float = FIRST_PROBE_S
    choices: list[tuple[int, dict[int, float]]] = field(default_factory=list)  # (step, {threads: median s})
    _next_probe: float = 0.0
    _plan: list[int] = field(default_factory=list)   # threads still to time in this probe
    _times: dict[int, list[float]] = field(default_factory=dict)
    _settling: bool = False
    _steps: int = 0

    def __post_init__(self):
        torch.set_num_threads(self.current)
        self._next_probe = self.clock() + self.first_probe_s

    @classmethod
    def for_machine(cls, cores: int | None = None, start: int = 1,
                    first_probe_s: float = FIRST_PROBE_S) -> ThreadTuner | None:
        """A tuner over 1 and 2 threads (2 cores) or 1 .. cores // 2 in steps (more cores), starting
        at `start`; None on one core, or when DRAW_GUI_THREADS fixes the number."""
        env = os.environ.get("DRAW_GUI_THREADS", "")
        if env.isdigit() and int(env) > 0:
            return None
        cores = cores or os.cpu_count() or 1
        if cores < 2:
            return None
        candidates = (1, 2) if cores <= 3 else tuple(sorted({1, max(1, cores // 4), cores // 2, cores}))
        return cls(candidates=candidates, current=start if start in candidates else candidates[0],
                   first_probe_s=first_probe_s)

    def after_step(self, seconds: float) -> None:
        """Called after every training step with its wall time; may change torch's threads."""
        self._steps += 1
        if self._plan:
            if self._settling:           # the first step after a switch wakes the new threads
                self._settling = False
                return
            threads = self._plan[0]
            self._times.setdefault(threads, []).append(seconds)
            if len(self._times[threads]) >= PROBE_STEPS:
                self._plan.pop(0)
                if self._plan:
                    self._switch(self._plan[0])
                else:
                    self._decide()
            return
        if self.clock() >= self._next_probe:
            # The current count first (the machine as it is now), then the others.
            self._plan = [self.current] + [c for c in self.candidates if c != self.current]
            self._times = {}
            self._settling = False

    def _switch(self, threads: int) -> None:
        torch.set_num_threads(threads)
        self._settling = True

    def _decide(self) -> None:
        medians = {threads: statistics.median(times) for threads, times in self._times.items()}
        best = min(medians, key=medians.get)
        kept = best == self.current
        # A probe that changed nothing comes back later; a new winner is checked again soon.
        self.probe_every_s = min(self.probe_every_s * 2, MAX_PROBE_EVERY_S) if kept else PROBE_EVERY_S
        self.current = best
        torch.set_num_threads(best)
        self.choices.append((self._steps, medians))
        self._next_probe = self.clock() + self.probe_every_s

    def describe(self) -> str:
        """What it chose last, e.g. '2 threads (1: 0.61 s, 2: 0.45 s a step)'."""
        if not self.choices:
            return f"{self.current} thread{'s' if self.current > 1 else ''} (not yet measured)"
        _, medians = self.choices[-1]
        timed = ", ".join(f"{t}: {s:.2f} s" for t, s in sorted(medians.items()))
        return f"{self.current} thread{'s' if self.current > 1 else ''} ({timed} a step)"
