"""The loss plots' data: per-step points in preallocated, growing buffers and their smoothing
(TensorBoard's debiased EMA), computed incrementally. Plain numpy, no Qt: the window's live plot
and the Compare tab keep their curves in these and hand the arrays to pyqtgraph's setData.
"""
from __future__ import annotations

import math

import numpy as np

# Closed-form EMA blocks stop where weight**-k reaches e**200: far from overflow.
_MAX_LOG_GROWTH = 200.0


def _linear_scan(u: np.ndarray, a: float, start: float) -> np.ndarray:
    """s[i] = a * s[i-1] + u[i] with s[-1] = start, without a Python loop over i."""
    n = len(u)
    if n == 0 or a == 0.0:
        return u.copy()
    block = int(_MAX_LOG_GROWTH / -math.log(a))
    if block <= 1:
        # a <= e**-200: anything older than the previous term is below float resolution.
        return u + a * np.concatenate(([start], u[:-1]))
    k = np.arange(min(block, n))
    if block >= n:
        return a ** k * np.cumsum(u * a ** -k) + a ** (k + 1) * start
    # Solve each block in closed form from zero, then carry block ends across blocks
    # (itself a scan, with weight a**block).
    blocks = -(-n // block)
    padded = np.zeros(blocks * block)
    padded[:n] = u
    local = a ** k * np.cumsum(padded.reshape(blocks, block) * a ** -k, axis=1)
    ends = _linear_scan(local[:, -1], a ** block, start)
    carry_in = np.concatenate(([start], ends[:-1]))
    return (local + a ** (k + 1) * carry_in[:, None]).ravel()[:n]


def debiased_ema(values: np.ndarray, weight: float, biased_last: float = 0.0,
                 count: int = 0) -> tuple[np.ndarray, float, int]:
    """TensorBoard's smoothing: an EMA debiased by 1 - weight**count.

    Continues from the state (biased_last, count) of the points before and returns
    (smoothed, new state); non-finite values pass through and are not averaged.
    """
    finite = np.isfinite(values)
    all_finite = bool(finite.all())
    x = values if all_finite else values[finite]
    biased = _linear_scan((1.0 - weight) * x, weight, biased_last)
    debiased = biased / (1.0 - weight ** (count + np.arange(1, len(x) + 1)))
    if len(x):
        biased_last, count = float(biased[-1]), count + len(x)
    if all_finite:
        return debiased, biased_last, count
    smoothed = values.copy()
    smoothed[finite] = debiased
    return smoothed, biased_last, count


class GrowingCurves:
    """Preallocated columns of per-step points and their debiased EMA, as setData wants them.

    x: (X, capacity) axes (step, time...), values and smoothed: (V, capacity). An append doubles
    the buffers when they are full (amortised O(new points)) and smooths only the new points,
    continuing the EMA state; smooth(weight) redoes all of them when the weight changes.
    """

    def __init__(self, x_rows: int, value_rows: int, capacity: int = 1024, x_dtype=np.float64):
        self.count = 0
        self.x = np.empty((x_rows, capacity), dtype=x_dtype)
        self.values = np.empty((value_rows, capacity))
        self.smoothed = np.empty((value_rows, capacity))
        self._ema_last = np.zeros(value_rows)
        self._ema_count = np.zeros(value_rows, dtype=np.int64)

    @property
    def capacity(self) -> int:
        return self.values.shape[1]

    def append(self, x, values, smoothing: float) -> None:
        """x: (X, n), values: (V, n) new points; smoothed at `smoothing` (0: raw values shown)."""
        start, end = self.count, self.count + np.shape(values)[1]
        if end > self.capacity:
            capacity = max(2 * self.capacity, end)
            self.x, self.values, self.smoothed = (
                np.concatenate((a, np.empty((a.shape[0], capacity - a.shape[1]), a.dtype)), axis=1)
                for a in (self.x, self.values, self.smoothed))
        self.x[:, start:end] = x
        self.values[:, start:end] = values
        self.count = end
        self.smooth(smoothing, start)

    def smooth(self, weight: float, start: int = 0) -> None:
        """Smooth points start:count, continuing the EMA state (restarted at 0)."""
        if start == 0:
            self._ema_last[:], self._ema_count[:] = 0.0, 0
        if weight <= 0:
            return                                  # the raw values are shown
        for i in range(len(self.values)):
            self.smoothed[i, start:self.count], self._ema_last[i], self._ema_count[i] = debiased_ema(
                self.values[i, start:self.count], weight, self._ema_last[i], int(self._ema_count[i]))

    def shown(self, smoothing: float) -> np.ndarray:
        """(V, count): the smoothed values, or the raw ones at smoothing 0."""
        return (self.smoothed if smoothing > 0 else self.values)[:, :self.count]
