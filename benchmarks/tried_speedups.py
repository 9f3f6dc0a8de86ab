"""Speed-ups for the CPU training step that were measured and not kept (README, "Speed").

    python benchmarks/tried_speedups.py speed [--threads 1] [--steps 12]
    python benchmarks/tried_speedups.py inductor [--threads 1] [--steps 18]
    python benchmarks/tried_speedups.py fused [--threads 1] [--steps 18] [--shapes]
    python benchmarks/tried_speedups.py fidelity --data-dir ../shared/data [--steps 600]

Each changes only how the two LSTMs (eq. 5, 7) are computed; core/ keeps nn.LSTMCell.

- deferred weight gradients: each glimpse adds a zero "tap" to its gate pre-activations and uses
  the weights detached; after backward, products over many glimpses' rows at once, G^T U, give
  each LSTM weight's gradient (the same sum as autograd's T per-glimpse products and additions).
- weight gradients in a side thread: the same products, each started in a second thread (one
  torch thread, no OpenMP spinning) as soon as backward has handed over 16 glimpses' gate
  gradients, so that they overlap the rest of backward on the other core.
- bf16 LSTM products: the four LSTM matrix products in bfloat16 (the CPU's avx512_bf16 runs them
  ~2x faster than float32); the cell state, the gates' element-wise work and everything else stay
  float32.

`inductor` times draw-gui's compiled step with inductor's default options against the same step
compiled with mode "max-autotune-no-cudagraphs" (inductor benchmarks its own C++ GEMMs against
oneDNN's and may fuse the bias into them) and with cpp_wrapper (a C++ caller of the kernels in
place of the Python one), alternating in one process, each compiled from an empty inductor cache
and from its own copy of the code (own_compiled_code: otherwise every variant runs the first
one's graph).

`fused` times the compiled step against one whose products sharing an input are one product
(fused_products_model: h^dec_{t-1} feeds the read head, the encoder and the decoder's recurrent
weights), after checking that both give the same bound and gradients; --shapes then prints the
compiled step's matrix products by shape, with their GFLOP/s.

`speed` times the compiled training step (paper configuration, batch 64) of draw-gui's model (on
--threads and on 2 torch threads) and of each variant, alternating in one process, median
images/s; first it prints how close the variants' gradients are to autograd's. `fidelity`
trains 600 steps of `draw-gui train`'s defaults (threshold-binarized MNIST, seed 0) in float32 and with bf16 LSTM
products, in two processes at once (one thread each), and prints both test NLL bounds.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def lstm_cell(gates, c):
    """nn.LSTMCell's update from its gate pre-activations (order i, f, g, o): returns (h, c)."""
    import torch
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def bf16_cells(model):
    """Replace the model's LSTMCells by ones whose matrix products run in bfloat16."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    bf = torch.bfloat16

    class Bf16ProductsCell(nn.Module):
        def __init__(self, cell):
            super().__init__()
            self.cell = cell

        def forward(self, inp, state):
            c_, (h, c) = self.cell, state
            gates = (F.linear(inp.to(bf), c_.weight_ih.to(bf)) + F.linear(h.to(bf), c_.weight_hh.to(bf))).float() \
                + (c_.bias_ih + c_.bias_hh)
            return lstm_cell(gates, c)

    model.encoder, model.decoder = Bf16ProductsCell(model.encoder), Bf16ProductsCell(model.decoder)
    return model


def deferred_step(model, optimizer, x, side_thread=None, eps=None, step=True):
    """One training step (loss eq. 9-12, Adam, norm clip 5) whose LSTM weight gradients are taken
    outside autograd (see the module docstring): as backward hands over each glimpse's gate
    gradients G_t (a hook on its zero "tap"), every CHUNK glimpses one product G^T U per LSTM adds
    their share, in this thread after backward, or at once in `side_thread` (an executor).
    eps: the noise (drawn if None); step False: only the gradients are set, no clip, no step."""
    import torch
    import torch.nn.functional as F
    CHUNK = 16
    cfg = model.config
    B, T = x.shape[0], cfg.glimpses
    if not hasattr(model, "_tried_glimpse"):
        def glimpse(x, canvas, h_dec, c_dec, h_enc, c_enc, eps_t, tap_e, tap_d, W_e, b_e, W_d, b_d):
            x_hat = x - torch.sigmoid(canvas)
            r, _ = model.read(x, x_hat, h_dec)
            u_e = torch.cat([r, h_dec, h_enc], 1)                    # the encoder's inputs (eq. 5)
            h_enc, c_enc = lstm_cell(F.linear(u_e, W_e) + b_e + tap_e, c_enc)
            mu, log_sigma = model.q(h_enc).chunk(2, dim=1)
            sigma = torch.exp(log_sigma)
            z = mu + sigma * eps_t
            kl = 0.5 * (mu * mu + sigma * sigma - 2 * log_sigma - 1).sum(1)
            u_d = torch.cat([z, h_dec], 1)                            # the decoder's inputs (eq. 7)
            h_dec, c_dec = lstm_cell(F.linear(u_d, W_d) + b_d + tap_d, c_dec)
            update, _ = model.write(h_dec)
            return canvas + update, h_dec, c_dec, h_enc, c_enc, kl, u_e.detach(), u_d.detach()
        model._tried_glimpse = torch.compile(glimpse, dynamic=False)
    cells = (model.encoder, model.decoder)
    weights = [t for c in cells for t in (torch.cat([c.weight_ih, c.weight_hh], 1).detach(),
                                          (c.bias_ih + c.bias_hh).detach())]
    G = [torch.empty(T, B, 4 * c.hidden_size) for c in cells]          # gate gradients, per glimpse
    U = [[None] * T, [None] * T]                                         # the cells' inputs
    grad_W = [torch.zeros_like(weights[0]), torch.zeros_like(weights[2])]
    pending = []

    def add_chunk(lo, hi):   # dW += G^T U and db += sum G over glimpses lo..hi-1, both cells
        sums = []
        for k in range(2):
            g = G[k][lo:hi].flatten(0, 1)
            grad_W[k].addmm_(g.t(), torch.cat(U[k][lo:hi]))
            sums.append(g.sum(0))
        return sums

    def hook(k, t):
        def store(grad):
            G[k][t].copy_(grad)
            if k == 0 and t % CHUNK == 0:     # backward reaches glimpse t's encoder after its decoder
                lo, hi = t, min(t + CHUNK, T)
                pending.append(side_thread.submit(add_chunk, lo, hi) if side_thread else (lo, hi))
        return store

    eps = torch.randn(T, B, cfg.z_size) if eps is None else eps
    canvas, h_dec, c_dec = model._initial_state(B)
    h_enc = c_enc = x.new_zeros(B, cfg.enc_size)
    kls = []
    for t in range(T):
        taps = [torch.zeros(B, 4 * c.hidden_size, requires_grad=True) for c in cells]
        for k, tap in enumerate(taps):
            tap.register_hook(hook(k, t))
        canvas, h_dec, c_dec, h_enc, c_enc, kl, U[0][t], U[1][t] = model._tried_glimpse(
            x, canvas, h_dec, c_dec, h_enc, c_enc, eps[t], *taps, *weights)
        kls.append(kl)
    recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(1).mean()
    loss = recon + torch.stack(kls, 1).sum(1).mean()
    model.zero_grad(set_to_none=True)
    loss.backward()
    sums = [p.result() if side_thread else add_chunk(*p) for p in pending]
    for k, cell in enumerate(cells):
        n_in = cell.weight_ih.shape[1]
        cell.weight_ih.grad, cell.weight_hh.grad = grad_W[k][:, :n_in], grad_W[k][:, n_in:]
        cell.bias_ih.grad = sum(s[k] for s in sums)
        cell.bias_hh.grad = cell.bias_ih.grad.clone()
    if step:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()


def time_alternating(steps: dict, total: int, threads: int) -> None:
    """Time each step function `total` times, 3 at a time in turn (so that a change of machine
    speed hits all alike), and print their median images/s against the first one's."""
    times = {name: [] for name in steps}
    for _ in range(total // 3):
        for name, step in steps.items():
            for _ in range(3):
                t = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t)
    base = 64 / statistics.median(next(iter(times.values())))
    print(f"paper configuration, batch 64, {threads} thread(s), compiled, median of {total} steps each:")
    for name, ts in times.items():
        rate = 64 / statistics.median(ts)
        print(f"  {name:28s} {rate:6.1f} img/s   {rate / base:.2f}x")


def speed(args) -> None:
    import torch
    from concurrent.futures import ThreadPoolExecutor
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step
    x = (torch.rand(64, 1, 28, 28) < 0.13).float()
    cfg = TrainConfig()
    side = ThreadPoolExecutor(1, initializer=torch.set_num_threads, initargs=(1,))
    check_gradients(x, side)

    def on_threads(n, step):   # a step run with n torch threads, the others with --threads
        def run():
            torch.set_num_threads(n)
            try:
                step()
            finally:
                torch.set_num_threads(args.threads)
        return run

    steps = {}
    for name in ("draw-gui compiled step", "draw-gui compiled, 2 threads", "bf16 LSTM products",
                 "deferred weight gradients", "weight gradients, side thread"):
        torch.manual_seed(0)
        model = DRAW(DrawConfig())
        opt = make_optimizer(model, cfg)
        if name == "deferred weight gradients":
            steps[name] = (lambda m, o: lambda: deferred_step(m, o, x))(model, opt)
        elif name == "weight gradients, side thread":
            steps[name] = (lambda m, o: lambda: deferred_step(m, o, x, side))(model, opt)
        else:
            if name == "bf16 LSTM products":
                bf16_cells(model)
            model.compile_glimpse()
            steps[name] = (lambda m, o: lambda: train_step(m, o, x, cfg))(model, opt)
            if name.endswith("2 threads"):
                steps[name] = on_threads(2, steps[name])
    for step in steps.values():   # compile and warm up
        for _ in range(3):
            step()
    time_alternating(steps, args.steps, args.threads)


def check_gradients(x, side) -> None:
    """Print how far the weight gradients taken outside autograd are from autograd's own."""
    import torch
    from core.model import DRAW, DrawConfig
    torch.manual_seed(0)
    model = DRAW(DrawConfig())
    eps = torch.randn(model.config.glimpses, x.shape[0], model.config.z_size)
    model(x, eps=eps).loss.backward()
    reference = {n: p.grad.clone() for n, p in model.named_parameters()}
    for name, executor in (("deferred weight gradients", None), ("weight gradients, side thread", side)):
        model.zero_grad(set_to_none=True)
        deferred_step(model, None, x, executor, eps=eps, step=False)
        worst = max(((p.grad - reference[n]).norm() / reference[n].norm()).item()
                    for n, p in model.named_parameters())
        print(f"{name}: gradients within {worst:.1e} (relative) of autograd's")


def fused_products_model(config):
    """A DRAW whose compiled training step runs one matrix product per shared input: h^dec_{t-1}
    times [read head; encoder's h^dec columns; decoder's recurrent weights] (5 + 1024 + 1024
    outputs), and [r_t, h^enc_{t-1}] times the encoder's other columns; the LSTM gates written out
    (order i, f, g, o, as nn.LSTMCell). The weights are concatenated once per step, so the
    parameters (and checkpoints) stay DRAW's."""
    import torch
    import torch.nn.functional as F
    from core.model import DRAW, DrawOutput

    class FusedProductsDRAW(DRAW):
        def fused_weights(self):
            R, e, d = self.read.out_size, self.encoder, self.decoder
            W_hdec = torch.cat([self.read.params.weight, e.weight_ih[:, R:], d.weight_hh])   # (2053, dec)
            b_hdec = torch.cat([self.read.params.bias, e.bias_ih + e.bias_hh, d.bias_ih + d.bias_hh])
            W_enc = torch.cat([e.weight_ih[:, :R], e.weight_hh], 1)                           # (1024, R + enc)
            return W_hdec, b_hdec, W_enc

        def _fused_glimpses(self, x, canvas, h_dec, c_dec, h_enc, c_enc, eps, W_hdec, b_hdec, W_enc):
            cfg, kls = self.config, []
            for eps_t in eps:
                read_head, enc_from_dec, dec_gates = F.linear(h_dec, W_hdec, b_hdec).split(
                    [5, 4 * cfg.enc_size, 4 * cfg.dec_size], 1)
                x_hat = x - torch.sigmoid(canvas)                                       # eq. 3
                r, _ = self.read.read_at(x, x_hat, read_head)                           # eq. 27
                h_enc, c_enc = lstm_cell(F.linear(torch.cat([r, h_enc], 1), W_enc) + enc_from_dec, c_enc)  # eq. 5
                mu, log_sigma = self.q(h_enc).chunk(2, dim=1)
                sigma = torch.exp(log_sigma)
                z = mu + sigma * eps_t
                kls.append(0.5 * (mu * mu + sigma * sigma - 2 * log_sigma - 1).sum(1))
                h_dec, c_dec = lstm_cell(F.linear(z, self.decoder.weight_ih) + dec_gates, c_dec)  # eq. 7
                canvas = canvas + self.write(h_dec)[0]                                          # eq. 8
            return canvas, h_dec, c_dec, h_enc, c_enc, torch.stack(kls, 1)

        def forward(self, x, eps=None, trace=False, log_weight=False):
            cfg = self.config
            B, T = x.shape[0], cfg.glimpses
            if eps is None:
                eps = torch.randn(T, B, cfg.z_size)
            canvas, h_dec, c_dec = self._initial_state(B)
            h_enc = c_enc = x.new_zeros(B, cfg.enc_size)
            state = [s.contiguous() if s.requires_grad else s.detach().contiguous().requires_grad_()
                     for s in (canvas, h_dec, c_dec, h_enc, c_enc)]    # as DRAW.forward's compiled path
            weights, k, kls = self.fused_weights(), self.glimpses_per_call, []
            for t in range(0, T, k):
                *state, kl = self.fused_call(x, *state, eps[t:t + k], *weights)
                kls.append(kl)
            recon = F.binary_cross_entropy_with_logits(state[0], x, reduction="none").flatten(1).sum(1)
            return DrawOutput(recon=recon, kl=torch.cat(kls, 1))

    model = FusedProductsDRAW(config)
    model.read.products_as_sums = model.write.products_as_sums = True   # as compile_glimpse does on a CPU
    model.glimpses_per_call = 8
    model.fused_call = torch.compile(model._fused_glimpses, dynamic=False)
    return model


def fused(args) -> None:
    import torch
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step
    x = (torch.rand(64, 1, 28, 28) < 0.13).float()
    cfg = TrainConfig()
    torch.manual_seed(0)
    plain, fused_model = DRAW(DrawConfig()), fused_products_model(DrawConfig())
    fused_model.load_state_dict(plain.state_dict())
    eps = torch.randn(64, 64, 100)
    a, b = plain(x, eps), fused_model(x, eps)
    (a.loss + b.loss).backward()
    worst = max(((p.grad - q.grad).norm() / p.grad.norm()).item()
                for p, q in zip(plain.parameters(), fused_model.parameters()))
    print(f"fused products: bound {b.loss.item():.4f} against {a.loss.item():.4f}, "
          f"gradients within {worst:.1e} (relative)", flush=True)
    plain.compile_glimpse()
    runs = {}
    for name, model in (("draw-gui compiled step", plain), ("fused products", fused_model)):
        opt = make_optimizer(model, cfg)
        for _ in range(3):
            train_step(model, opt, x, cfg)
        runs[name] = (lambda m, o: lambda: train_step(m, o, x, cfg))(model, opt)
    time_alternating(runs, args.steps, args.threads)
    if args.shapes:
        product_rates(runs["draw-gui compiled step"])


def product_rates(step, steps: int = 3) -> None:
    """Print the matrix products of a training step by shape: ms per step and GFLOP/s."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    rows = []
    for e in prof.key_averages(group_by_input_shape=True):
        if e.key not in ("aten::mm", "aten::addmm") or not e.input_shapes:
            continue
        (m, k), (_, n) = e.input_shapes[1:3] if e.key == "aten::addmm" else e.input_shapes[:2]
        ms = e.self_cpu_time_total / 1000 / steps
        rows.append((ms, e.count / steps, e.key, f"({m} x {k}) by ({k} x {n})", 2 * m * k * n * e.count / steps / ms / 1e6))
    print("the step's matrix products by shape (ms per step, calls per step, GFLOP/s):")
    for ms, calls, key, shape, rate in sorted(rows, reverse=True)[:12]:
        print(f"  {key:12s} {shape:26s} {ms:7.1f} ms {calls:5.0f} {rate:6.1f} GFLOP/s")


def own_compiled_code(model) -> None:
    """Give `model` its own copy of DRAW._glimpses' code object before compile_glimpse.

    torch.compile keeps its compiled graphs on the code object, and the parameters are inputs of
    the graph: a second DRAW in the same process reuses the first one's graph, whatever the
    inductor options are when it is first called (it compiles in ~1 s instead of ~50). A copy of
    the code object starts with an empty cache, so the options are really applied."""
    import types
    from core.model import DRAW
    f = DRAW._glimpses
    copy = types.FunctionType(f.__code__.replace(), f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    model._glimpses = types.MethodType(copy, model)


def inductor(args) -> None:
    import os
    import tempfile
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")  # compile times from scratch
    import torch
    import torch._inductor.config as inductor_config
    from torch._dynamo.utils import counters
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step
    x = (torch.rand(64, 1, 28, 28) < 0.13).float()
    cfg = TrainConfig()

    @contextlib.contextmanager
    def cpp_wrapper():
        inductor_config.cpp_wrapper = True     # read when the first call compiles
        try:
            yield
        finally:
            inductor_config.cpp_wrapper = False

    runs = {}
    for name, mode, options in (("default options", None, contextlib.nullcontext),
                                ("max-autotune-no-cudagraphs", "max-autotune-no-cudagraphs", contextlib.nullcontext),
                                ("cpp_wrapper", None, cpp_wrapper)):
        torch.manual_seed(0)
        model = DRAW(DrawConfig())
        own_compiled_code(model)
        model.compile_glimpse(mode)
        opt = make_optimizer(model, cfg)
        graphs, t = counters["stats"]["unique_graphs"], time.perf_counter()
        with options():
            for _ in range(3):
                train_step(model, opt, x, cfg)
        print(f"{name}: compiled {counters['stats']['unique_graphs'] - graphs} graph(s) in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
        runs[name] = (lambda m, o: lambda: train_step(m, o, x, cfg))(model, opt)
    time_alternating(runs, args.steps, args.threads)


def fidelity(args) -> None:
    if args.variant:
        return fidelity_run(args)
    procs = [subprocess.Popen([sys.executable, __file__, "fidelity", "--data-dir", args.data_dir, "--steps",
                               str(args.steps), "--variant", v], stdout=subprocess.PIPE, text=True)
             for v in ("fp32", "bf16-lstm-products")]
    print(f"{args.steps} steps of draw-gui train's defaults (threshold-binarized MNIST, seed 0, batch 64, 1 thread):")
    for proc in procs:
        out, _ = proc.communicate()
        r = json.loads(out.strip().splitlines()[-1])
        print(f"  {r['variant']:20s} test NLL bound {r['bound']:7.2f} nats   KL {r['kl']:5.2f}   ({r['train_s']} s)")


def fidelity_run(args) -> None:
    import torch
    torch.set_num_threads(1)
    from core.config import DrawConfig, TrainConfig
    from core.run import RunSettings, build_run
    run = build_run(RunSettings(model=DrawConfig(), train=TrainConfig(max_steps=args.steps, seed=0), dataset="mnist",
                                data_dir=args.data_dir, download=False, threads=1, tune_threads=False))
    model = run.trainer.model
    if args.variant == "bf16-lstm-products":
        bf16_cells(model)
    started = time.time()
    run.trainer.run()
    seconds = time.time() - started
    if args.variant == "bf16-lstm-products":   # evaluated in float32, as every run is
        model.encoder, model.decoder = model.encoder.cell, model.decoder.cell
    r = run.trainer.evaluate()
    print(json.dumps({"variant": args.variant, "bound": round(r.nll_bound, 2), "kl": round(r.kl, 2),
                      "train_s": round(seconds)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--steps", type=int, default=12)
    i = sub.add_parser("inductor")
    i.add_argument("--threads", type=int, default=1)
    i.add_argument("--steps", type=int, default=18)
    u = sub.add_parser("fused")
    u.add_argument("--threads", type=int, default=1)
    u.add_argument("--steps", type=int, default=18)
    u.add_argument("--shapes", action="store_true", help="also print the compiled step's products by shape")
    f = sub.add_parser("fidelity")
    f.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    f.add_argument("--steps", type=int, default=600)
    f.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    {"speed": speed, "inductor": inductor, "fused": fused, "fidelity": fidelity}[args.what](args)


if __name__ == "__main__":
    main()
