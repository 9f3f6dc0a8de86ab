"""A literal, unoptimised DRAW written straight from the paper, to check core.model against.

It shares nothing with core/ except the parameter tensors it is handed: its LSTM, filterbank,
read, write, KL and likelihood are written out here from eq. 3-8, 11 and 21-29 (the KL and
likelihood through torch.distributions). The benchmarks time it as "the literal implementation".
"""
from __future__ import annotations

import math

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence


def literal_filterbank(g_x, g_y, delta, sigma2, N, A, B):
    """Eq. 19-20 and 25-26 for one glimpse, element by element, 1-based i and a (python floats in)."""
    F_X = torch.zeros(N, A, dtype=torch.float64)
    F_Y = torch.zeros(N, B, dtype=torch.float64)
    for i in range(1, N + 1):
        mu_x = g_x + (i - N / 2 - 0.5) * delta
        mu_y = g_y + (i - N / 2 - 0.5) * delta
        for a in range(1, A + 1):
            F_X[i - 1, a - 1] = math.exp(-((a - mu_x) ** 2) / (2 * sigma2))
        for b in range(1, B + 1):
            F_Y[i - 1, b - 1] = math.exp(-((b - mu_y) ** 2) / (2 * sigma2))
        F_X[i - 1] /= F_X[i - 1].sum()
        F_Y[i - 1] /= F_Y[i - 1].sum()
    return F_X, F_Y


def lstm(inp, h, c, W_ih, W_hh, b_ih, b_hh):
    gates = inp @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def glimpse_params(h_dec, W, b, N, A, B):
    p = h_dec @ W.T + b                                       # eq. 21
    g_x = (A + 1) / 2 * (p[:, 0:1] + 1)                       # eq. 22
    g_y = (B + 1) / 2 * (p[:, 1:2] + 1)                       # eq. 23
    sigma2 = torch.exp(p[:, 2:3])
    delta = (max(A, B) - 1) / (N - 1) * torch.exp(p[:, 3:4])  # eq. 24
    gamma = torch.exp(p[:, 4:5])
    return g_x, g_y, delta, sigma2, gamma


def batched_filterbank(g, delta, sigma2, N, size):
    i = torch.arange(1, N + 1, dtype=g.dtype).view(1, N, 1)
    a = torch.arange(1, size + 1, dtype=g.dtype).view(1, 1, size)
    mu = g.view(-1, 1, 1) + (i - N / 2 - 0.5) * delta.view(-1, 1, 1)   # eq. 19-20
    f = torch.exp(-((a - mu) ** 2) / (2 * sigma2.view(-1, 1, 1)))      # eq. 25-26
    return f / f.sum(2, keepdim=True).clamp_min(1e-8)


class LiteralDRAW:
    """Runs eq. 3-8 step by step with the weights of a core.model.DRAW (any attention kind)."""

    def __init__(self, model):
        self.m = model
        self.cfg = model.config

    def forward(self, x, eps):
        m, cfg = self.m, self.cfg
        Bn = x.shape[0]
        C, H, W = cfg.image_shape
        c = m.canvas0.expand(Bn, C, H, W)
        h_dec = m.dec_state0[0].expand(Bn, -1)
        cell_dec = m.dec_state0[1].expand(Bn, -1)
        h_enc = torch.zeros(Bn, cfg.enc_size, dtype=x.dtype)
        cell_enc = torch.zeros(Bn, cfg.enc_size, dtype=x.dtype)
        kls = []
        for t in range(cfg.glimpses):
            x_hat = x - torch.sigmoid(c)                                        # eq. 3
            if cfg.attention == "gaussian":                                      # eq. 27
                N = cfg.read_size
                g_x, g_y, delta, sigma2, gamma = glimpse_params(h_dec, m.read.params.weight, m.read.params.bias, N, W, H)
                F_X = batched_filterbank(g_x, delta, sigma2, N, W)              # (B, N, W)
                F_Y = batched_filterbank(g_y, delta, sigma2, N, H)              # (B, N, H)
                parts = []
                for img in (x, x_hat):
                    for ch in range(C):
                        parts.append((gamma.view(-1, 1, 1) * (F_Y @ img[:, ch] @ F_X.transpose(1, 2))).flatten(1))
                r = torch.cat(parts, 1)                                         # [x channels, x_hat channels]
            else:
                r = torch.cat([x.flatten(1), x_hat.flatten(1)], 1)              # eq. 17
            h_enc, cell_enc = lstm(torch.cat([r, h_dec], 1), h_enc, cell_enc,   # eq. 5
                                   m.encoder.weight_ih, m.encoder.weight_hh, m.encoder.bias_ih, m.encoder.bias_hh)
            q = h_enc @ m.q.weight.T + m.q.bias
            mu, log_sigma = q[:, :cfg.z_size], q[:, cfg.z_size:]
            z = mu + torch.exp(log_sigma) * eps[t]                              # eq. 6
            kls.append(kl_divergence(Normal(mu, torch.exp(log_sigma)),          # eq. 11
                                     Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1))
            h_dec, cell_dec = lstm(z, h_dec, cell_dec, m.decoder.weight_ih, m.decoder.weight_hh,  # eq. 7
                                   m.decoder.bias_ih, m.decoder.bias_hh)
            if cfg.attention == "gaussian":                                      # eq. 28-29
                N = cfg.write_size
                g_x, g_y, delta, sigma2, gamma = glimpse_params(h_dec, m.write.params.weight, m.write.params.bias, N, W, H)
                F_X = batched_filterbank(g_x, delta, sigma2, N, W)
                F_Y = batched_filterbank(g_y, delta, sigma2, N, H)
                w = (h_dec @ m.write.patch.weight.T + m.write.patch.bias).view(Bn, C, N, N)
                update = torch.stack([F_Y.transpose(1, 2) @ w[:, ch] @ F_X for ch in range(C)], 1) / gamma.view(-1, 1, 1, 1)
            else:
                update = (h_dec @ m.write.patch.weight.T + m.write.patch.bias).view(Bn, C, H, W)  # eq. 18
            c = c + update                                                      # eq. 8
        recon = -Bernoulli(logits=c, validate_args=False).log_prob(x).flatten(1).sum(1)              # eq. 9
        return recon, torch.stack(kls, 1)                                       # (B,), (B, T)
