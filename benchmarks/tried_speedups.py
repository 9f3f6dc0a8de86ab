"""Speed-ups for the CPU training step that were measured and not kept (README, "Speed").

    python benchmarks/tried_speedups.py speed [--threads 1] [--steps 12]
    python benchmarks/tried_speedups.py inductor [--threads 1] [--steps 18]
    python benchmarks/tried_speedups.py fidelity --data-dir ../shared/data [--steps 600]

Both change only how the two LSTMs (eq. 5, 7) are computed; core/ keeps nn.LSTMCell.

- deferred weight gradients: each glimpse adds a zero "tap" to its gate pre-activations and uses
  the weights detached; after backward, one product over all T*B rows, G^T U, gives each LSTM
  weight's gradient (the same sum as autograd's T per-glimpse products and additions).
- bf16 LSTM products: the four LSTM matrix products in bfloat16 (the CPU's avx512_bf16 runs them
  ~2x faster than float32); the cell state, the gates' element-wise work and everything else stay
  float32.

`inductor` times draw-gui's compiled step with inductor's default options against the same step
compiled with mode "max-autotune-no-cudagraphs" (inductor benchmarks its own C++ GEMMs against
oneDNN's and may fuse the bias into them) and with cpp_wrapper (a C++ caller of the kernels in
place of the Python one), alternating in one process.

`speed` times the compiled training step (paper configuration, batch 64) of draw-gui's model and
of each variant, alternating in one process, median images/s. `fidelity` trains 600 steps of
`draw-gui train`'s defaults (threshold-binarized MNIST, seed 0) in float32 and with bf16 LSTM
products, in two processes at once (one thread each), and prints both test NLL bounds.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


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
            i, f, g, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c), c

    model.encoder, model.decoder = Bf16ProductsCell(model.encoder), Bf16ProductsCell(model.decoder)
    return model


def deferred_step(model, optimizer, x):
    """One training step (loss eq. 9-12, Adam, norm clip 5) whose LSTM weight gradients are taken
    in one product per weight after backward (see the module docstring)."""
    import torch
    import torch.nn.functional as F
    cfg = model.config
    B, T = x.shape[0], cfg.glimpses
    if not hasattr(model, "_tried_glimpse"):
        def glimpse(x, canvas, h_dec, c_dec, h_enc, c_enc, eps_t, tap_e, tap_d, We, Ue, be, Wd, Ud, bd):
            x_hat = x - torch.sigmoid(canvas)
            r, _ = model.read(x, x_hat, h_dec)
            enc_in = torch.cat([r, h_dec], 1)
            i, f, g, o = (F.linear(enc_in, We) + F.linear(h_enc, Ue) + be + tap_e).chunk(4, 1)
            c_enc = torch.sigmoid(f) * c_enc + torch.sigmoid(i) * torch.tanh(g)
            h_enc = torch.sigmoid(o) * torch.tanh(c_enc)
            mu, log_sigma = model.q(h_enc).chunk(2, dim=1)
            sigma = torch.exp(log_sigma)
            z = mu + sigma * eps_t
            kl = 0.5 * (mu * mu + sigma * sigma - 2 * log_sigma - 1).sum(1)
            i, f, g, o = (F.linear(z, Wd) + F.linear(h_dec, Ud) + bd + tap_d).chunk(4, 1)
            c_dec = torch.sigmoid(f) * c_dec + torch.sigmoid(i) * torch.tanh(g)
            h_dec = torch.sigmoid(o) * torch.tanh(c_dec)
            update, _ = model.write(h_dec)
            return canvas + update, h_dec, c_dec, h_enc, c_enc, kl, enc_in.detach(), z.detach()
        model._tried_glimpse = torch.compile(glimpse, dynamic=False)
    e, d = model.encoder, model.decoder
    weights = (e.weight_ih.detach(), e.weight_hh.detach(), (e.bias_ih + e.bias_hh).detach(),
               d.weight_ih.detach(), d.weight_hh.detach(), (d.bias_ih + d.bias_hh).detach())
    eps = torch.randn(T, B, cfg.z_size)
    canvas, h_dec, c_dec = model._initial_state(B)
    h_enc = c_enc = x.new_zeros(B, cfg.enc_size)
    taps_e = [torch.zeros(B, 4 * cfg.enc_size, requires_grad=True) for _ in range(T)]
    taps_d = [torch.zeros(B, 4 * cfg.dec_size, requires_grad=True) for _ in range(T)]
    kls, U_e, H_e, U_d, H_d = [], [], [], [], []
    for t in range(T):
        H_e.append(h_enc.detach())
        H_d.append(h_dec.detach())
        canvas, h_dec, c_dec, h_enc, c_enc, kl, enc_in, z = model._tried_glimpse(
            x, canvas, h_dec, c_dec, h_enc, c_enc, eps[t], taps_e[t], taps_d[t], *weights)
        kls.append(kl)
        U_e.append(enc_in)
        U_d.append(z)
    recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(1).mean()
    loss = recon + torch.stack(kls, 1).sum(1).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for cell, taps, U, H in ((e, taps_e, U_e, H_e), (d, taps_d, U_d, H_d)):
        G = torch.cat([tap.grad for tap in taps])            # (T*B, 4H)
        cell.weight_ih.grad = G.t() @ torch.cat(U)           # (4H, in)
        cell.weight_hh.grad = G.t() @ torch.cat(H)           # (4H, H)
        cell.bias_ih.grad = G.sum(0)
        cell.bias_hh.grad = cell.bias_ih.grad.clone()
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
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step
    x = (torch.rand(64, 1, 28, 28) < 0.13).float()
    cfg = TrainConfig()
    steps = {}
    for name in ("draw-gui compiled step", "bf16 LSTM products", "deferred weight gradients"):
        torch.manual_seed(0)
        model = DRAW(DrawConfig())
        opt = make_optimizer(model, cfg)
        if name == "deferred weight gradients":
            steps[name] = (lambda m, o: lambda: deferred_step(m, o, x))(model, opt)
        else:
            if name == "bf16 LSTM products":
                bf16_cells(model)
            model.compile_glimpse()
            steps[name] = (lambda m, o: lambda: train_step(m, o, x, cfg))(model, opt)
    for step in steps.values():   # compile and warm up
        for _ in range(3):
            step()
    time_alternating(steps, args.steps, args.threads)


def inductor(args) -> None:
    import torch
    import torch._inductor.config as inductor_config
    torch.set_num_threads(args.threads)
    from core.model import DRAW, DrawConfig
    from core.train import TrainConfig, make_optimizer, train_step
    x = (torch.rand(64, 1, 28, 28) < 0.13).float()
    cfg = TrainConfig()
    runs = {}
    for name, mode, cpp_wrapper in (("default options", None, False),
                                    ("max-autotune-no-cudagraphs", "max-autotune-no-cudagraphs", False),
                                    ("cpp_wrapper", None, True)):
        torch.manual_seed(0)
        model = DRAW(DrawConfig())
        model.compile_glimpse(mode)
        opt = make_optimizer(model, cfg)
        inductor_config.cpp_wrapper = cpp_wrapper   # read when the first call compiles
        for _ in range(3):
            train_step(model, opt, x, cfg)
        inductor_config.cpp_wrapper = False
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
    f = sub.add_parser("fidelity")
    f.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    f.add_argument("--steps", type=int, default=600)
    f.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    {"speed": speed, "inductor": inductor, "fidelity": fidelity}[args.what](args)


if __name__ == "__main__":
    main()
