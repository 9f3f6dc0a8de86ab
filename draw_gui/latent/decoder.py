"""Decode latents into images off the GUI thread, fast enough to follow the mouse.

The latent explorer's model calls all happen here: a LatentDecoder keeps its own copy of the
model (built from the weights the training worker sends) in a thread of its own, so a drag never
waits for a training step and training never waits for a drag. `submit` keeps only the newest
pending request of each kind: when the mouse moves faster than the model decodes, the positions
in between are skipped rather than queued.

The small latent helpers at the bottom (prior samples, mixes, sweeps) go through core.latent so
that the widgets do no model maths themselves. torch is imported lazily: the window must open
before torch has loaded.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from PySide6.QtCore import Signal, Slot

from draw_gui.workers.job_thread import JobThread
from draw_gui.workers.messages import TextEnum

if TYPE_CHECKING:
    from core.config import DrawConfig
    from core.model import DRAW
    from core.trace import GlimpseTrace
    from draw_gui.workers.training import ModelWeights


class DecodeKind(TextEnum):
    """What a DecodeRequest asks for (str-valued: DecodeKind.IMAGE == "image")."""
    IMAGE = "image"              # one latent's sample, with its drawing process
    DIRECTIONS = "directions"    # two directions for the 2-D pad
    GRID = "grid"                # samples of latents drawn from the prior
    FRAMES = "frames"            # the samples of several latents (an interpolation's GIF)


# The kinds of request, most urgent first: a drag must not wait behind a grid of samples.
KINDS = (DecodeKind.IMAGE, DecodeKind.DIRECTIONS, DecodeKind.GRID, DecodeKind.FRAMES)
DirectionMethod = Literal["random", "principal"]
BATCH = 8                      # big requests are decoded in batches, serving drags in between
LATENT_RANGE = 3.0             # sliders and the pad span -3..3 (three prior standard deviations)


@dataclass
class DecodeRequest:
    """What to decode. IMAGE: one latent (T, Z), with its trace if `trace`; FRAMES: the latents
    (N, T, Z); GRID: `count` samples from the prior drawn with `seed`; DIRECTIONS: two directions
    for the pad, `method` "random" (with `seed`) or "principal"."""
    kind: DecodeKind = DecodeKind.IMAGE   # a kind's value ("image") is taken too
    latents: np.ndarray | None = None
    trace: bool = False
    # {t: (g_x, g_y, delta)}: write boxes moved by hand, 0-based t, paper pixel units
    write_glimpse: dict[int, tuple[float, float, float]] | None = None
    seed: int = 0
    count: int = 64
    method: DirectionMethod = "random"
    purpose: str = ""                     # what the caller will do with the result
    id: int = -1                          # set by LatentDecoder.submit

    def __post_init__(self):
        self.kind = DecodeKind(self.kind)   # ValueError for an unknown kind


@dataclass
class DecodeResult:
    request: DecodeRequest
    images: np.ndarray | None = None       # (N, C, H, W) float32 sigma(c_T) in [0, 1]
    trace: GlimpseTrace | None = None      # of an IMAGE request
    directions: np.ndarray | None = None   # (2, T, Z) for DIRECTIONS
    step: int = 0                          # the training step of the weights that decoded it

    @property
    def id(self) -> int:
        return self.request.id

    @property
    def kind(self) -> DecodeKind:
        return self.request.kind

    @property
    def image(self) -> np.ndarray:
        return self.images[0]


class LatentDecoder(JobThread):
    """A copy of the model in its own QThread, decoding the newest request of each kind. A request
    that fails is reported through `failed` (a messages.Failure whose subject is the request)."""

    decoded = Signal(object)          # DecodeResult

    def __init__(self):
        super().__init__("draw-gui latent decoder")   # pending jobs: {DecodeKind: DecodeRequest}
        self._pending_weights: ModelWeights | None = None
        self._ids = itertools.count(1)
        self._model: DRAW | None = None
        self._config: DrawConfig | None = None
        self._examples: np.ndarray | None = None
        self._step = 0

    # ---- GUI thread ------------------------------------------------------------------------
    def set_weights(self, weights: ModelWeights) -> None:
        """Requests submitted afterwards use these weights."""
        with self._lock:
            self._pending_weights = weights
            self._schedule()

    def submit(self, request: DecodeRequest) -> int:
        """Queue `request` in place of any pending one of its kind; returns its id (ids grow)."""
        request.kind = DecodeKind(request.kind)   # ValueError for an unknown kind
        with self._lock:
            request.id = next(self._ids)
            self._pending[request.kind] = request
            self._schedule()
        return request.id

    # ---- decoder thread ----------------------------------------------------------------------
    def _take(self) -> ModelWeights | DecodeRequest | None:
        with self._lock:
            if self._pending_weights is not None and not self._stopping:
                weights, self._pending_weights = self._pending_weights, None
                return weights
            return self._pop_next(KINDS)

    @Slot()
    def _work(self) -> None:
        import torch
        while (job := self._take()) is not None:
            try:
                with torch.inference_mode():
                    if isinstance(job, DecodeRequest):
                        if self._model is not None:
                            result = self._decode(job)
                            if not self.stopping():
                                self.decoded.emit(result)
                    else:
                        self._load(job)
            except Exception as e:  # noqa: BLE001 - a bad request must not end the thread
                self.report_failure(e, subject=job if isinstance(job, DecodeRequest) else None)

    def _load(self, weights: ModelWeights) -> None:
        self._model = weights.load_into(self._model)
        self._config = weights.config
        self._examples = weights.examples
        self._step = weights.step

    def _decode(self, request: DecodeRequest) -> DecodeResult:
        import torch
        model, result = self._model, DecodeResult(request=request, step=self._step)
        if request.kind is DecodeKind.IMAGE:
            z = torch.from_numpy(np.asarray(request.latents, np.float32))
            images, trace = model.generate(z=z, trace=request.trace, write_glimpse=request.write_glimpse)
            result.images, result.trace = images.numpy(), trace
        elif request.kind is DecodeKind.DIRECTIONS:
            result.directions = self._directions(request)
        else:
            if request.kind is DecodeKind.GRID:
                generator = torch.Generator().manual_seed(int(request.seed))
                cfg = model.config
                latents = torch.randn(request.count, cfg.glimpses, cfg.z_size, generator=generator)
            else:
                latents = torch.from_numpy(np.asarray(request.latents, np.float32))
            parts = []
            for i in range(0, latents.shape[0], BATCH):
                if self.stopping():      # shut down: the owner is joining this thread
                    return result
                parts.append(model.generate(z=latents[i:i + BATCH])[0].numpy())
                self._serve_drags()
            result.images = np.concatenate(parts)
        return result

    def _serve_drags(self) -> None:
        """Between the batches of a long request, decode a pending drag first."""
        with self._lock:
            request = self._pending.pop(DecodeKind.IMAGE, None)
        if request is not None:
            self.decoded.emit(self._decode(request))

    def _directions(self, request: DecodeRequest) -> np.ndarray:
        import torch
        from core.latent import principal_directions, random_directions
        cfg = self._model.config
        if request.method == "principal":
            if self._examples is None or len(self._examples) < 2:
                raise ValueError("principal directions need the worker's example images")
            directions, std = principal_directions(self._model, torch.from_numpy(self._examples), k=2)
            # +-3 on the pad is then +-3 standard deviations of the examples' posterior means.
            return (directions * std.clamp_min(1e-6).view(2, 1, 1)).numpy()
        generator = torch.Generator().manual_seed(int(request.seed))
        # Unit directions scaled by sqrt(T): +-3 then moves the latent as far as +-3 on one
        # dimension shared by all T glimpses does.
        return (random_directions(cfg.glimpses, cfg.z_size, 2, generator) * cfg.glimpses ** 0.5).numpy()


# ---- latent arithmetic for the widgets (numpy in, numpy out) ------------------------------------

def prior_latent(glimpses: int, z_size: int, seed: int) -> np.ndarray:
    """A latent drawn from the prior N(0, I) (eq. 13), the same for the same seed: (T, Z)."""
    import torch
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(glimpses, z_size, generator=generator).numpy()


def mix(a: np.ndarray, b: np.ndarray, w: float, spherical: bool) -> np.ndarray:
    """The latent a fraction w of the way from a to b; exactly a at 0 and exactly b at 1."""
    if w <= 0:
        return a.copy()
    if w >= 1:
        return b.copy()
    import torch
    from core.latent import lerp, slerp
    return (slerp if spherical else lerp)(torch.from_numpy(a), torch.from_numpy(b), float(w)).numpy()


def mixes(a: np.ndarray, b: np.ndarray, steps: int, spherical: bool) -> np.ndarray:
    """(steps, T, Z) latents from a to b inclusive."""
    return np.stack([mix(a, b, i / max(1, steps - 1), spherical) for i in range(steps)])


def sweep_latents(z: np.ndarray, dim: int, steps: int, glimpse: int | None = None) -> np.ndarray:
    """(steps, T, Z): z with dimension `dim` going -3..3, in every glimpse or only in `glimpse`."""
    import torch
    from core.latent import sweep
    values = np.linspace(-LATENT_RANGE, LATENT_RANGE, steps).tolist()
    return sweep(torch.from_numpy(z), dim, values, glimpse).numpy()


def on_pad(anchor: np.ndarray, directions: np.ndarray, x: float, y: float) -> np.ndarray:
    """The latent at pad point (x, y) when the pad spans two directions around `anchor`."""
    return (anchor + x * directions[0] + y * directions[1]).astype(np.float32)
