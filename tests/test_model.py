"""The DRAW maths against literal implementations of the paper's equations."""

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from core.attention import attention_params, batched_product, filterbank
from core.model import DRAW, ConfigError, DrawConfig
from tests.reference_draw import LiteralDRAW, literal_filterbank

def record(q_out, mus, sigmas):
    """Forward hook body: keep each step's mu and sigma of Q(z_t | h_enc) (eq. 1-2)."""
    mus.append(q_out[:, :2])
    sigmas.append(q_out[:, 2:].exp())


TINY = dict(glimpses=3, enc_size=6, dec_size=5, z_size=2, read_size=2, write_size=3)


@pytest.mark.parametrize("N,A,B", [(2, 28, 28), (5, 28, 28), (3, 9, 7), (12, 64, 64)])
def test_filterbank_matches_literal_loop_of_eq_25_26(N, A, B):
    torch.manual_seed(N)
    g_x = torch.tensor([[3.7], [14.5]], dtype=torch.float64)
    g_y = torch.tensor([[5.2], [1.0]], dtype=torch.float64)
    delta = torch.tensor([[1.3], [2.0]], dtype=torch.float64)
    sigma2 = torch.tensor([[0.8], [4.0]], dtype=torch.float64)
    F_x, F_y = filterbank(g_x, g_y, delta, sigma2, N, A, B)
    assert F_x.shape == (2, N, A) and F_y.shape == (2, N, B)
    for b in range(2):
        ref_x, ref_y = literal_filterbank(g_x[b].item(), g_y[b].item(), delta[b].item(), sigma2[b].item(), N, A, B)
        torch.testing.assert_close(F_x[b], ref_x, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(F_y[b], ref_y, rtol=1e-10, atol=1e-12)


def test_filter_centres_are_one_based():
    """A centred glimpse (g~ = 0) with odd N puts its middle filter on the image's middle pixel."""
    p = torch.zeros(1, 5, dtype=torch.float64)
    g_x, g_y, delta, sigma2, _ = attention_params(p, 3, 29, 29)
    assert g_x.item() == 15.0                        # (A + 1) / 2: pixel 15 of 1..29 is the middle
    F_x, _ = filterbank(g_x, g_y, delta, torch.full_like(sigma2, 0.01), 3, 29, 29)
    assert F_x[0, 1].argmax().item() == 14           # 0-based column 14 == 1-based pixel 15


@pytest.mark.parametrize("centre, edge", [(1e4, 27), (-1e4, 0), (60.0, 27)])
def test_a_filter_far_outside_the_image_reads_its_nearest_edge(centre, edge):
    """Each row of F still sums to 1 (eq. 25-26) where exp underflows to 0 on every pixel: the
    filter reads the nearest edge, with finite gradients, instead of reading nothing."""
    g = torch.tensor([[centre]], requires_grad=True)
    F_x, F_y = filterbank(g, g, torch.tensor([[1.0]]), torch.tensor([[0.01]]), 2, 28, 28)
    for F in (F_x, F_y):
        torch.testing.assert_close(F.sum(-1), torch.ones(1, 2))
        assert (F.argmax(-1) == edge).all()
    (F_x[0, :, edge].sum() + F_y[0, 0, edge]).backward()
    assert torch.isfinite(g.grad).all()


@pytest.mark.parametrize("a_shape, b_shape", [((6, 1, 2, 28), (6, 2, 28, 28)),   # F_Y by [x, x_hat]
                                              ((6, 2, 2, 28), (6, 1, 28, 2)),    # by F_X^T
                                              ((6, 1, 28, 5), (6, 3, 5, 5))])    # F^_Y^T by a colour patch
def test_batched_product_as_sums_is_the_matrix_product(a_shape, b_shape):
    """The multiply-and-sum form the compiled glimpses use gives the matrix product, with the
    leading dimensions broadcast as @ does."""
    a, b = torch.randn(a_shape), torch.randn(b_shape)
    torch.testing.assert_close(batched_product(a, b, as_sums=True), a @ b)
    assert batched_product(a, b).shape == (a @ b).shape


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    model = DRAW(DrawConfig(**TINY, image_shape=(1, 8, 8)))
    x = torch.rand(4, 1, 8, 8).round()
    eps = torch.randn(3, 4, 2)
    mus, sigmas = [], []
    model.q.register_forward_hook(lambda mod, inp, out: record(out, mus, sigmas))
    out = model(x, eps=eps)
    for t in range(3):
        ref = kl_divergence(Normal(mus[t], sigmas[t]), Normal(0.0, 1.0)).sum(1)
        torch.testing.assert_close(out.kl[:, t], ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("attention,shape", [("gaussian", (1, 28, 28)), ("none", (1, 10, 9)), ("gaussian", (3, 12, 10))])
def test_forward_matches_literal_step_by_step_implementation(attention, shape):
    torch.manual_seed(1)
    cfg = DrawConfig(image_shape=shape, glimpses=6, enc_size=32, dec_size=24, z_size=5,
                     attention=attention, read_size=2, write_size=3)
    model = DRAW(cfg)
    with torch.no_grad():  # move the learned initial state off zero so it is exercised
        model.canvas0.normal_(0, 0.5)
        model.dec_state0.normal_(0, 0.5)
    x = torch.rand(7, *shape)
    eps = torch.randn(6, 7, 5)
    out = model(x, eps=eps)
    recon, kl = LiteralDRAW(model).forward(x, eps)
    torch.testing.assert_close(out.recon, recon, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(out.kl, kl, rtol=1e-5, atol=1e-4)


def test_gradients_match_finite_differences_in_float64():
    torch.manual_seed(2)
    model = DRAW(DrawConfig(image_shape=(1, 6, 5), **TINY)).double()
    x = torch.rand(2, 1, 6, 5, dtype=torch.float64)
    eps = torch.randn(3, 2, 2, dtype=torch.float64)
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def loss(*ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x,), {"eps": eps}).loss

    assert torch.autograd.gradcheck(loss, params, eps=1e-6, atol=1e-5, rtol=1e-4)
    x_req = x.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda xx: model(xx, eps=eps).loss, (x_req,), eps=1e-6, atol=1e-5)


def test_without_attention_the_hoisted_image_product_gives_the_literal_gradients():
    # The encoder's product with the whole image is computed once per batch, not at each glimpse
    # (DRAW._hoisted_image_product): the bound and every gradient are those of eq. 5 taken literally.
    torch.manual_seed(5)
    model = DRAW(DrawConfig(image_shape=(3, 5, 4), attention="none", **TINY)).double()
    with torch.no_grad():
        model.canvas0.normal_(0, 0.5)
    assert model.hoist_image_product
    x = torch.rand(3, 3, 5, 4, dtype=torch.float64)
    eps = torch.randn(3, 3, 2, dtype=torch.float64)
    results = {}
    for hoist in (True, False):
        model.hoist_image_product = hoist
        model.zero_grad()
        out = model(x, eps=eps, log_weight=True)
        out.loss.backward()
        results[hoist] = out.loss, out.log_weight, {n: p.grad.clone() for n, p in model.named_parameters()}
    torch.testing.assert_close(results[True][0], results[False][0])
    torch.testing.assert_close(results[True][1], results[False][1])
    for name, grad in results[False][2].items():
        torch.testing.assert_close(results[True][2][name], grad, msg=name)
    assert results[True][2]["encoder.weight_ih"].abs().sum() > 0
    model.hoist_image_product = True
    x_req = x.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda xx: model(xx, eps=eps).loss, (x_req,), eps=1e-6, atol=1e-5)


def test_log_weight_is_log_p_minus_log_q():
    torch.manual_seed(3)
    model = DRAW(DrawConfig(image_shape=(1, 8, 8), **TINY)).double()
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64).round()
    eps = torch.randn(3, 3, 2, dtype=torch.float64)
    mus, sigmas = [], []
    model.q.register_forward_hook(lambda mod, inp, out: record(out, mus, sigmas))
    out = model(x, eps=eps, log_weight=True)
    log_pq = 0
    for t in range(3):
        z = mus[t] + sigmas[t] * eps[t]
        log_pq = log_pq + (Normal(0.0, 1.0).log_prob(z) - Normal(mus[t], sigmas[t]).log_prob(z)).sum(1)
    torch.testing.assert_close(out.log_weight, -out.recon + log_pq)


def test_trace_records_every_glimpse_in_pixel_units():
    torch.manual_seed(4)
    model = DRAW(DrawConfig(glimpses=5, enc_size=16, dec_size=16, z_size=3))
    x = torch.rand(2, 1, 28, 28).round()
    eps = torch.randn(5, 2, 3)
    plain = model(x, eps=eps)
    out = model(x, eps=eps, trace=True)
    tr = out.trace
    assert plain.trace is None
    assert tr.canvases.shape == (5, 2, 1, 28, 28) and tr.read.shape == (5, 2, 5) and tr.write.shape == (5, 2, 5)
    assert 0 <= tr.canvases.min() and tr.canvases.max() <= 1
    # the first glimpses start centred on the image and cover it (initialisation of eq. 21)
    assert abs(tr.read[0, :, 0].mean() - 14.5) < 2 and abs(tr.write[0, :, 2] * 5 - 28).max() < 6
    torch.testing.assert_close(out.recon, plain.recon)
    assert tr.kl_steps.shape == (5,)


def test_generate_from_noise_and_from_a_given_latent():
    torch.manual_seed(5)
    model = DRAW(DrawConfig(glimpses=4, enc_size=16, dec_size=16, z_size=3)).eval()
    imgs, tr = model.generate(6)
    assert imgs.shape == (6, 1, 28, 28) and tr is None
    z = torch.randn(4, 3)
    a, _ = model.generate(z=z)
    b, trace = model.generate(z=z.unsqueeze(0), trace=True)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(torch.from_numpy(trace.canvases[-1]), b)
    assert trace.read is None and trace.write.shape == (4, 1, 5)
    with pytest.raises(ValueError, match="latent must be"):
        model.generate(z=torch.randn(5, 3))


@pytest.mark.parametrize("changes,message", [
    (dict(read_size=1), "N >= 2"),
    (dict(write_size=40), "larger than"),
    (dict(glimpses=0), "glimpses must be at least 1"),
    (dict(attention="spline"), "unknown attention"),
])
def test_impossible_configurations_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        DrawConfig(**changes).validate()


def test_no_attention_allows_any_read_size():
    DrawConfig(attention="none", read_size=1).validate()


def test_overfits_a_fixed_batch(mnist_batch):
    """Loss at least halves on one batch within a few hundred steps: the model can learn at all."""
    from core.train import TrainConfig, make_optimizer, train_step
    torch.manual_seed(0)
    x = mnist_batch[:16]
    model = DRAW(DrawConfig(glimpses=8, enc_size=64, dec_size=64, z_size=8))
    cfg = TrainConfig(lr=1e-2)
    opt = make_optimizer(model, cfg)
    first = train_step(model, opt, x, cfg).loss.item()
    for _ in range(300):
        last = train_step(model, opt, x, cfg).loss.item()
    assert last < first / 2, (first, last)


def test_config_errors_name_the_field_and_attention_kinds_agree():
    from core.attention import ATTENTION_KINDS
    from core.config import ATTENTIONS
    assert tuple(ATTENTION_KINDS) == ATTENTIONS
    with pytest.raises(ConfigError) as err:
        DrawConfig(write_size=30).validate()
    assert err.value.field == "write_size"


def decode_step_by_step(model, z):
    """Eq. 13-15 literally: one decoder step, one write, one canvas update per glimpse."""
    canvas, h, c = model._initial_state(z.shape[0])
    for t in range(z.shape[1]):
        h, c = model.decoder(z[:, t], (h, c))
        update, _ = model.write(h)
        canvas = canvas + update
    return torch.sigmoid(canvas)


@pytest.mark.parametrize("attention", ["gaussian", "none"])
def test_fast_generation_matches_step_by_step_decoding(attention):
    torch.manual_seed(6)
    model = DRAW(DrawConfig(glimpses=7, enc_size=16, dec_size=24, z_size=5, attention=attention)).eval()
    with torch.no_grad():
        model.dec_state0.normal_(0, 0.5)
    z = torch.randn(3, 7, 5)
    with torch.no_grad():
        fast, trace = model.generate(z=z, trace=True)
        torch.testing.assert_close(fast, decode_step_by_step(model, z), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(torch.from_numpy(trace.canvases[-1]), fast)
        plain, _ = model.generate(z=z)
    torch.testing.assert_close(plain, fast)


def test_moving_a_write_box_moves_that_glimpse_only():
    torch.manual_seed(7)
    model = DRAW(DrawConfig(glimpses=5, enc_size=16, dec_size=16, z_size=3)).eval()
    z = torch.randn(1, 5, 3)
    with torch.no_grad():
        _, before = model.generate(z=z, trace=True)
        _, after = model.generate(z=z, trace=True, write_glimpse={2: (6.0, 20.0, 2.0)})
    assert after.write[2, 0, :3].tolist() == pytest.approx([6.0, 20.0, 2.0])
    ratio = after.write[2, 0, 3] / before.write[2, 0, 3]
    assert ratio == pytest.approx(2.0 / before.write[2, 0, 2], rel=1e-4)   # sigma follows delta
    np_ = __import__("numpy")
    np_.testing.assert_allclose(after.canvases[:2], before.canvases[:2])  # glimpses before t unchanged
    assert np_.abs(after.canvases[2] - before.canvases[2]).max() > 1e-3
    np_.testing.assert_allclose(after.write[3:], before.write[3:], rtol=1e-5)  # later writes go where they went


def test_encode_gives_the_posterior_means():
    torch.manual_seed(8)
    model = DRAW(DrawConfig(glimpses=3, enc_size=16, dec_size=16, z_size=4))
    x = torch.rand(2, 1, 28, 28).round()
    eps = torch.randn(3, 2, 4)
    mu = model.encode(x, eps=eps)
    assert mu.shape == (2, 3, 4)
    outputs = []
    model.q.register_forward_hook(lambda mod, inp, out: outputs.append(out))
    model(x, eps=eps)
    torch.testing.assert_close(mu, torch.stack([o[:, :4] for o in outputs], 1))
