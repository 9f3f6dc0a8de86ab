"""Latent-space tools: interpolation, sweeps and directions do what their names promise."""
import math

import pytest
import torch

from core.latent import decode, interpolation, lerp, principal_directions, random_directions, slerp, sweep
from core.model import DRAW, DrawConfig


def test_interpolations_start_and_end_at_the_two_latents():
    torch.manual_seed(0)
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    for spherical in (False, True):
        path = interpolation(a, b, 5, spherical=spherical)
        assert path.shape == (5, 4, 3)
        torch.testing.assert_close(path[0], a)
        torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(lerp(a, b, 0.5), (a + b) / 2)


def test_slerp_keeps_the_norm_between_equal_norm_latents():
    a = torch.tensor([[1.0, 0.0]])
    b = torch.tensor([[0.0, 1.0]])
    mid = slerp(a, b, 0.5)
    assert mid.norm().item() == pytest.approx(1.0)
    assert lerp(a, b, 0.5).norm().item() == pytest.approx(math.sqrt(0.5))


def test_sweep_sets_one_dimension_everywhere_or_in_one_glimpse():
    z = torch.zeros(3, 4)
    everywhere = sweep(z, 2, [-1.0, 1.0])
    assert everywhere[:, :, 2].tolist() == [[-1.0] * 3, [1.0] * 3] and everywhere[:, :, [0, 1, 3]].abs().sum() == 0
    one = sweep(z, 1, [2.0], glimpse=1)
    assert one[0, 1, 1] == 2.0 and one.abs().sum() == 2.0
    with pytest.raises(ValueError, match="does not exist"):
        sweep(z, 4, [0.0])


def test_random_directions_are_orthonormal():
    d = random_directions(5, 7, 3, generator=torch.Generator().manual_seed(0)).reshape(3, -1)
    torch.testing.assert_close(d @ d.T, torch.eye(3), atol=1e-5, rtol=0)


def test_principal_directions_explain_the_most_variance():
    torch.manual_seed(1)
    model = DRAW(DrawConfig(glimpses=3, enc_size=16, dec_size=16, z_size=4)).eval()
    images = torch.rand(40, 1, 28, 28).round()
    dirs, std = principal_directions(model, images, k=2)
    assert dirs.shape == (2, 3, 4) and std[0] >= std[1] > 0
    flat = dirs.reshape(2, -1)
    torch.testing.assert_close(flat @ flat.T, torch.eye(2), atol=1e-4, rtol=0)


def test_decode_in_batches_equals_one_batch():
    torch.manual_seed(2)
    model = DRAW(DrawConfig(glimpses=3, enc_size=16, dec_size=16, z_size=4)).eval()
    z = torch.randn(5, 3, 4)
    torch.testing.assert_close(decode(model, z, batch=2), decode(model, z))
