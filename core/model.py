"""DRAW: a recurrent variational auto-encoder that draws with attention (Gregor et al. 2015).

Equation numbers are the paper's (arXiv 1502.04623) and appear in the comments below: each
glimpse computes the error image (eq. 3), reads (eq. 4; the Gaussian filterbank of core.attention,
eq. 19-27), encodes (eq. 5), samples z_t from Q(z_t | h^enc_t) (eq. 1-2, 6), decodes (eq. 7) and
adds its write to the canvas (eq. 8; eq. 28-29); the loss is L^x + L^z (eq. 9-12).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.attention import ATTENTION_KINDS, trace_columns
from core.config import ConfigError, DrawConfig  # noqa: F401  (re-exported)
from core.trace import GlimpseTrace


# Starting choices (DRAW._initialise; benchmarks/learning_ablation.py undoes them by these numbers)
FORGET_BIAS = 1.0           # added to the LSTMs' forget-gate bias
FIRST_WRITE_SCALE = 0.1     # the write patch's initial weights and bias, scaled down by this
CPU_GLIMPSES_PER_CALL = 8   # at most this many glimpses per compiled call on a CPU (compile_glimpse)


@dataclass
class DrawOutput:
    recon: torch.Tensor                 # (B,) L^x in nats (eq. 9)
    kl: torch.Tensor                    # (B, T) L^z per glimpse in nats (eq. 10-11)
    log_weight: torch.Tensor | None = None  # (B,) log p(x, z) - log q(z | x), for importance sampling
    trace: GlimpseTrace | None = None

    @property
    def loss(self) -> torch.Tensor:     # eq. 12: the bound, mean over the batch
        return (self.recon + self.kl.sum(1)).mean()


class DRAW(nn.Module):
    def __init__(self, config: DrawConfig):
        super().__init__()
        self.config = config.validate()
        C, H, W = config.image_shape
        Read, Write = ATTENTION_KINDS[config.attention]
        self.read = Read(config)
        self.write = Write(config)
        self.encoder = nn.LSTMCell(self.read.out_size + config.dec_size, config.enc_size)  # eq. 5
        self.q = nn.Linear(config.enc_size, 2 * config.z_size)   # mu and log sigma of Q(z_t | h_enc) (eq. 1-2)
        self.decoder = nn.LSTMCell(config.z_size, config.dec_size)  # eq. 7
        canvas0 = torch.zeros(C, H, W)
        state0 = torch.zeros(2, config.dec_size)                  # h^dec_0, cell^dec_0
        if config.learn_init_canvas:
            self.canvas0 = nn.Parameter(canvas0)
        else:
            self.register_buffer("canvas0", canvas0)
        if config.learn_init_state:
            self.dec_state0 = nn.Parameter(state0)
        else:
            self.register_buffer("dec_state0", state0)
        # Without attention the encoder's image product is partly the same at every glimpse:
        # computed once per batch (_hoisted_image_product). False: the literal eq. 5 at each glimpse.
        self.hoist_image_product = config.attention == "none"
        self._compiled_glimpses = None  # set by compile_glimpse()
        self.compile_mode = None
        self.glimpses_per_call = 1      # glimpses per compiled call (compile_glimpse)
        self._initialise()

    @torch.no_grad()
    def _initialise(self):
        """Choices measured to leave the mean-image plateau sooner (see README, "Learning")."""
        for cell in (self.encoder, self.decoder):  # forget-gate bias: memory survives the T steps
            H = cell.hidden_size
            cell.bias_ih[H:2 * H] += FORGET_BIAS   # gate order i, f, g, o
        # Small first writes: the canvas starts at c_0 instead of T random updates summed up.
        self.write.patch.weight.mul_(FIRST_WRITE_SCALE)
        self.write.patch.bias.mul_(FIRST_WRITE_SCALE)

    def _initial_state(self, batch: int):
        canvas = self.canvas0.expand(batch, *self.canvas0.shape)  # (B, C, H, W)
        h_dec = self.dec_state0[0].expand(batch, -1)              # (B, dec)
        c_dec = self.dec_state0[1].expand(batch, -1)
        return canvas, h_dec, c_dec

    def _glimpse(self, x, canvas, h_dec, c_dec, h_enc, c_enc, eps_t, hoisted=None):
        """One glimpse t of training, eq. 3-8. Returns the new state and what the loss and trace use.
        hoisted: _hoisted_image_product(x) without attention, else None."""
        if hoisted is None:
            x_hat = x - torch.sigmoid(canvas)                      # eq. 3
            r, read_params = self.read(x, x_hat, h_dec)            # eq. 4
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], 1), (h_enc, c_enc))  # eq. 5
        else:   # eq. 3, 17 and 5 at once, the image's constant part computed before the glimpses
            h_enc, c_enc = self._encode_whole_image(hoisted, canvas, h_dec, h_enc, c_enc)
            read_params = None
        # In the model's dtype (float32) even under bf16 autocast: the bound sums T KL terms, and
        # bf16's 8-bit mantissa would round each of them by up to 0.4 %
        mu, log_sigma = self.q(h_enc).to(canvas.dtype).chunk(2, dim=1)  # (B, Z) each, eq. 1-2
        sigma = torch.exp(log_sigma)
        z = mu + sigma * eps_t                                     # eq. 6 (reparameterised)
        kl = 0.5 * (mu * mu + sigma * sigma - 2 * log_sigma - 1).sum(1)  # eq. 11
        h_dec, c_dec = self.decoder(z, (h_dec, c_dec))             # eq. 7
        update, write_params = self.write(h_dec)
        canvas = canvas + update                                   # eq. 8
        return canvas, h_dec, c_dec, h_enc, c_enc, kl, z, log_sigma, read_params, write_params

    def _hoisted_image_product(self, x):
        """Without attention the encoder reads r_t = [x, x_hat_t] (eq. 17), x_hat_t = x - sigma(c_{t-1})
        (eq. 3), so its input product is W_x x + W_xhat x_hat_t = (W_x + W_xhat) x - W_xhat sigma(c_{t-1}).
        The first term is the same at all T glimpses: computed here once, with the input bias.
        Each glimpse is then left one image-sized product instead of two, and the backward pass
        one weight gradient for W_x instead of T (benchmarks/hoisted_image_product.py times both).

        Returns ((B, 4 enc) gates, W_xhat, W_h), the weights sliced once per batch rather than at
        every glimpse (each slice's backward writes a gradient the size of the whole weight), or
        None with attention or when hoist_image_product is off."""
        if not self.hoist_image_product:
            return None
        D = x[0].numel()                                            # C * H * W
        W = self.encoder.weight_ih                                  # (4 enc, 2 D + dec): [W_x | W_xhat | W_h]
        W_x, W_xhat, W_h = W[:, :D], W[:, D:2 * D], W[:, 2 * D:]
        return F.linear(x.flatten(1), W_x + W_xhat, self.encoder.bias_ih), W_xhat.contiguous(), W_h.contiguous()

    def _encode_whole_image(self, hoisted, canvas, h_dec, h_enc, c_enc):
        """Eq. 5 without attention: the encoder LSTM (nn.LSTMCell's weights and gate order i, f, g, o)
        on [x, x_hat_t, h^dec_{t-1}], its image product's constant part given (_hoisted_image_product)."""
        gates, W_xhat, W_h = hoisted                               # (B, 4 enc), (4 enc, D), (4 enc, dec)
        gates = (gates - F.linear(torch.sigmoid(canvas).flatten(1), W_xhat) + F.linear(h_dec, W_h)
                 + F.linear(h_enc, self.encoder.weight_hh, self.encoder.bias_hh))   # (B, 4 enc)
        i, f, g, o = gates.chunk(4, 1)
        c_enc = torch.sigmoid(f) * c_enc + torch.sigmoid(i) * torch.tanh(g)
        h_enc = torch.sigmoid(o) * torch.tanh(c_enc)
        return h_enc, c_enc

    def _glimpses(self, x, canvas, h_dec, c_dec, h_enc, c_enc, eps, hoisted=None):
        """len(eps) glimpses in a row (eps: (k, B, Z)), for the compiled training step: returns the
        state after them and their KL terms, (B, k)."""
        kls = []
        for j in range(eps.shape[0]):
            canvas, h_dec, c_dec, h_enc, c_enc, kl, *_ = self._glimpse(x, canvas, h_dec, c_dec, h_enc, c_enc, eps[j],
                                                                       hoisted)
            kls.append(kl)
        return canvas, h_dec, c_dec, h_enc, c_enc, torch.stack(kls, 1)

    def compile_glimpse(self, mode: str | None = "auto", glimpses_per_call: int | None = None,
                        small_products_as_sums: bool | None = None) -> None:
        """Use torch.compile for the glimpses while training (fuses their element-wise work).

        Compiling takes tens of seconds on a CPU the first time, so it pays on long runs only.
        Inference (evaluation, snapshots, traces) keeps the plain step: other batch sizes would
        each cost another compilation.

        glimpses_per_call: how many glimpses one compiled call runs. On a CPU each call costs
        ~0.9 ms of torch.compile's own bookkeeping (its forward and backward wrappers) and each
        weight's gradient one addition per call, so the default is the largest divisor of T up
        to CPU_GLIMPSES_PER_CALL: 8 calls instead of 64 trained the paper's model 1.18x faster
        on 1 and on 2 threads, for 56 s of compiling instead of 24 the first time
        (benchmarks/glimpses_per_call.py; 16 gained nothing more). On CUDA 1: CUDA graphs
        already remove that cost.

        small_products_as_sums: the Gaussian filterbank's small batched products (eq. 27, 29) as
        multiply and sum inside the compiled glimpses (core.attention.batched_product), which
        inductor fuses into its own kernels: 1.04x on one thread, 1.09-1.16x on two. The default
        is yes on a CPU, and no on CUDA, where it has not been measured.

        mode "auto": on CUDA "reduce-overhead", i.e. CUDA graphs: a glimpse is ~30 small kernels,
        so at small batches a GPU waits on kernel launches rather than arithmetic. The T calls of
        one forward become T nodes of a CUDA graph tree (train_step marks where a step begins).
        Elsewhere the default mode. None: the default mode everywhere.
        """
        import logging
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "no CUDA runtime" on CPUs
        T = self.config.glimpses
        if glimpses_per_call is None:
            most = 1 if self.canvas0.is_cuda else CPU_GLIMPSES_PER_CALL
            glimpses_per_call = max(k for k in range(1, min(most, T) + 1) if T % k == 0)
        if T % glimpses_per_call:
            raise ValueError(f"glimpses_per_call {glimpses_per_call} does not divide the {T} glimpses")
        if mode == "auto":
            mode = "reduce-overhead" if self.canvas0.is_cuda else None
        if small_products_as_sums is None:
            small_products_as_sums = not self.canvas0.is_cuda
        for module in (self.read, self.write):
            if hasattr(module, "products_as_sums"):
                module.products_as_sums = small_products_as_sums
        self.compile_mode = mode or "default"
        self.glimpses_per_call = glimpses_per_call
        self._compiled_glimpses = torch.compile(self._glimpses, dynamic=False, mode=mode)

    @property
    def compiled(self) -> bool:
        """Whether training steps run the torch.compile'd glimpses (compile_glimpse)."""
        return self._compiled_glimpses is not None

    def drop_compiled(self) -> None:
        """Back to the plain glimpse step (a compilation that failed)."""
        self._compiled_glimpses, self.compile_mode = None, None

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None, trace: bool = False,
                log_weight: bool = False) -> DrawOutput:
        """x: (B, C, H, W) in [0, 1]; eps: (T, B, Z) noise of the reparameterisation (drawn if None)."""
        cfg = self.config
        B, T = x.shape[0], cfg.glimpses
        if eps is None:
            eps = torch.randn(T, B, cfg.z_size, device=x.device, dtype=x.dtype)
        canvas, h_dec, c_dec = self._initial_state(B)
        h_enc = c_enc = x.new_zeros(B, cfg.enc_size)
        kl_steps, log_pq = [], 0.0
        canvases, reads, writes = [], [], []
        hoisted = self._hoisted_image_product(x)                     # without attention, else None
        compiled = self._compiled_glimpses
        if compiled is not None and torch.is_grad_enabled() and not (trace or log_weight):  # training
            # The first call gets the state as every later one does (contiguous, requiring grad),
            # so the glimpses are compiled once, not once more for the first call.
            canvas, h_dec, c_dec, h_enc, c_enc = (
                s.contiguous() if s.requires_grad else s.detach().contiguous().requires_grad_()
                for s in (canvas, h_dec, c_dec, h_enc, c_enc))
            k = self.glimpses_per_call
            for t in range(0, T, k):
                canvas, h_dec, c_dec, h_enc, c_enc, kl = compiled(x, canvas, h_dec, c_dec, h_enc, c_enc, eps[t:t + k],
                                                               hoisted)
                kl_steps.append(kl)                                    # (B, k)
        else:
            for t in range(T):
                canvas, h_dec, c_dec, h_enc, c_enc, kl, z, log_sigma, read_params, write_params = \
                    self._glimpse(x, canvas, h_dec, c_dec, h_enc, c_enc, eps[t], hoisted)
                kl_steps.append(kl.unsqueeze(1))
                if log_weight:  # log N(z; 0, 1) - log N(z; mu, sigma); (z - mu) / sigma = eps
                    log_pq = log_pq + (0.5 * (eps[t] * eps[t] - z * z) + log_sigma).sum(1)
                if trace:
                    canvases.append(torch.sigmoid(canvas))
                    reads.append(trace_columns(read_params, cfg.attention))
                    writes.append(trace_columns(write_params, cfg.attention))
        # eq. 9: Bernoulli decoder D(x | c_T), from logits so that sigma(c_T) cannot saturate
        recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(1)
        out = DrawOutput(recon=recon, kl=torch.cat(kl_steps, 1))
        if log_weight:
            out.log_weight = -recon + log_pq
        if trace:
            out.trace = self._make_trace(canvases, reads, writes, images=x, kl=out.kl.mean(0))
        return out

    def generate(self, n: int | None = None, z: torch.Tensor | None = None, trace: bool = False,
                 generator: torch.Generator | None = None, write_glimpse: dict | None = None):
        """Eq. 13-15: draw from the prior. z: (T, Z) for one image or (B, T, Z); drawn if None.

        write_glimpse {t: (g_x, g_y, delta)} (0-based t, paper pixel units) puts the write patch of
        glimpse t elsewhere: centre and stride (side N * delta). Gaussian: sigma scales with delta
        so the filters keep their shape; spatial: the patch keeps its angle and intensity.
        Returns (images sigma(c_T) of shape (B, C, H, W), trace or None).
        """
        cfg = self.config
        device = self.canvas0.device
        if z is None:
            z = torch.randn(n or 1, cfg.glimpses, cfg.z_size, device=device, generator=generator)
        if z.dim() == 2:
            z = z.unsqueeze(0)
        if z.shape[1:] != (cfg.glimpses, cfg.z_size):
            raise ValueError(f"latent must be (T={cfg.glimpses}, Z={cfg.z_size}) per image, got {tuple(z.shape)}")
        z = z.to(device=device, dtype=self.canvas0.dtype).transpose(0, 1)  # (T, B, Z)
        T, B = z.shape[:2]
        canvas0, h_dec, c_dec = self._initial_state(B)
        # While generating, the decoder never sees the canvas (eq. 14 depends on z alone), so all
        # T decoder states come from one LSTM call over the sequence and all writes from one batch.
        weights = [self.decoder.weight_ih, self.decoder.weight_hh, self.decoder.bias_ih, self.decoder.bias_hh]
        hs, _, _ = torch._VF.lstm(z, (h_dec.unsqueeze(0).contiguous(), c_dec.unsqueeze(0).contiguous()),
                                  weights, True, 1, 0.0, False, False, False)   # (T, B, dec)  eq. 14
        flat = hs.reshape(T * B, -1)
        glimpse = None
        if write_glimpse and cfg.attention != "none":
            # (g_x, g_y, delta, sigma^2 or angle, gamma), each (T, B, 1): the decoder's own write boxes
            x_at, y_at, delta_at, fourth, gamma = (p.view(T, B, 1).clone() for p in self.write.glimpse(flat))
            for t, (g_x, g_y, delta) in write_glimpse.items():
                if cfg.attention == "gaussian":   # sigma^2 follows delta^2: the same blur per stride
                    fourth[t] = fourth[t] * (delta / delta_at[t]) ** 2
                x_at[t], y_at[t], delta_at[t] = g_x, g_y, delta
            glimpse = [p.view(T * B, 1) for p in (x_at, y_at, delta_at, fourth, gamma)]
        updates, write_params = self.write(flat, glimpse)                   # (T*B, C, H, W)
        updates = updates.view(T, B, *canvas0.shape[1:])
        if not trace:
            return torch.sigmoid(canvas0 + updates.sum(0)), None           # eq. 15
        canvases = torch.sigmoid(canvas0 + updates.cumsum(0))              # (T, B, C, H, W)
        writes = trace_columns(write_params, cfg.attention)
        writes = [None] * T if writes is None else list(writes.view(T, B, -1))
        trace = self._make_trace(list(canvases), [None] * T, writes, images=None, kl=None)
        return canvases[-1], trace

    def encode(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """The posterior means mu_t of Q(z_t | h_enc) for images x: (B, T, Z) (eq. 1)."""
        mus = []
        hook = self.q.register_forward_hook(lambda mod, inp, out: mus.append(out.chunk(2, dim=1)[0]))
        try:
            self(x, eps=eps)
        finally:
            hook.remove()
        return torch.stack(mus, 1)

    def _make_trace(self, canvases, reads, writes, images, kl) -> GlimpseTrace:
        def stack(xs):
            return None if xs[0] is None else torch.stack(xs).detach().float().cpu().numpy()
        return GlimpseTrace(
            canvases=stack(canvases), read=stack(reads), write=stack(writes),
            read_size=self.config.read_size, write_size=self.config.write_size,
            images=None if images is None else images.detach().float().cpu().numpy(),
            kl_steps=None if kl is None else kl.detach().float().cpu().numpy(),
            attention=self.config.attention)

    @torch.no_grad()
    def init_canvas_from_mean(self, mean_image: torch.Tensor) -> None:
        """Start c_0 at the logit of the data's mean image, so step 0 already draws the average."""
        if self.config.learn_init_canvas:
            p = mean_image.to(self.canvas0).clamp(1e-3, 1 - 1e-3)
            self.canvas0.copy_(torch.log(p) - torch.log1p(-p))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
