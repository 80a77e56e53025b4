import math

import pytest
import torch

from gannet.config import ModelConfig
from gannet.errors import GannetError
from gannet.models import MODELS, build_discriminator, build_generator, sample_noise
from gannet.models.dropout import FastDropout, dropout_mask, quantized_keep
from gannet.models.paper import Maxout


def test_paper_generator_architecture_and_init():
    torch.manual_seed(0)
    mean = torch.full((1, 28, 28), 0.13)
    g = build_generator(ModelConfig(), (1, 28, 28), mean)
    linears = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (100, 1200),
        (1200, 1200),
        (1200, 784),
    ]
    for m in linears:
        assert m.weight.abs().max() <= 0.05
        assert m.weight.abs().max() > 0.045  # uniform over the whole range
    # sigmoid(output bias) equals the pixel marginals
    assert torch.allclose(torch.sigmoid(linears[-1].bias), torch.full((784,), 0.13), atol=1e-6)
    x = g(sample_noise(5, 100, "uniform"))
    assert x.shape == (5, 1, 28, 28)
    assert x.min() >= 0 and x.max() <= 1


def test_paper_discriminator_maxout_and_dropout():
    torch.manual_seed(0)
    d = build_discriminator(ModelConfig(), (1, 28, 28))
    maxouts = [m for m in d.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.units, m.pieces) for m in maxouts] == [
        (784, 240, 5),
        (240, 240, 5),
    ]
    keeps = [m.keep for m in d.modules() if isinstance(m, FastDropout)]
    assert keeps == pytest.approx([0.8, 0.5, 0.5])
    for p in d.parameters():
        assert p.abs().max() <= 0.005
    x = torch.rand(6, 1, 28, 28)
    assert d(x).shape == (6,)
    d.eval()
    assert torch.equal(d(x), d(x))  # no dropout in eval mode
    d.train()
    assert not torch.equal(d(x), d(x))  # dropout in training


def test_maxout_is_max_over_pieces():
    torch.manual_seed(0)
    m = Maxout(3, 4, 2, 1.0)
    x = torch.randn(5, 3)
    full = m.linear(x).view(5, 2, 4)
    assert torch.equal(m(x), torch.maximum(full[:, 0], full[:, 1]))


def test_noise_priors():
    torch.manual_seed(0)
    u = sample_noise(20000, 10, "uniform")
    assert u.abs().max() <= math.sqrt(3)
    assert abs(u.var().item() - 1) < 0.03
    n = sample_noise(20000, 10, "normal")
    assert abs(n.std().item() - 1) < 0.03 and n.abs().max() > math.sqrt(3)


def test_role_mismatch_is_a_clear_error():
    cfg = ModelConfig(generator="paper-maxout")
    with pytest.raises(GannetError, match="is a discriminator, not a generator"):
        build_generator(cfg, (1, 28, 28))
    with pytest.raises(GannetError, match="unknown model"):
        build_generator(ModelConfig(generator="nope"), (1, 28, 28))


def test_toy_models_for_vectors():
    cfg = ModelConfig(
        generator="mlp-g", discriminator="mlp-d", z_dim=2, g_hidden=[16], d_hidden=[16]
    )
    g, d = build_generator(cfg, (2,)), build_discriminator(cfg, (2,))
    assert g(torch.randn(7, 2)).shape == (7, 2)
    assert d(torch.randn(7, 2)).shape == (7,)
    assert {"paper-mlp", "paper-maxout", "mlp-g", "mlp-d"} <= set(MODELS.names())


@pytest.mark.parametrize("keep", [0.5, 0.8, 0.25, 0.999])
def test_dropout_mask_keeps_the_quantized_fraction(keep):
    torch.manual_seed(0)
    n = 400_000
    mask = dropout_mask((n,), keep, torch.device("cpu"))
    p = quantized_keep(keep)
    assert abs(p - keep) <= 2**-17
    # binomial: 6 standard deviations
    assert abs(mask.float().mean().item() - p) < 6 * math.sqrt(p * (1 - p) / n)


def test_fast_dropout_is_unbiased_replayable_and_off_in_eval():
    layer = FastDropout(0.8)
    x = torch.ones(1000, 300, requires_grad=True)
    torch.manual_seed(1)
    y = layer(x)
    kept = y != 0
    assert torch.allclose(y[kept], torch.tensor(1 / quantized_keep(0.8)))
    assert abs(y.mean().item() - 1.0) < 0.01
    y.sum().backward()
    assert x.grad is not None and torch.equal(x.grad, y.detach())  # grad = mask * scale
    torch.manual_seed(1)
    assert torch.equal(layer(x), y)  # the global RNG alone decides the mask
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError):
        FastDropout(0.0)
