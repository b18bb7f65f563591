"""Seeded initialisation: torch's own distributions, drawn from a local generator only.

The reference is torch itself: for a module of one type, torch's ``reset_parameters`` after
``torch.manual_seed(s)`` and ``build_seeded(..., s)`` visit the same tensors in the same order
with the same kind of generator, so they must agree bit for bit; the statistical checks say the
same thing in numbers (bounds, standard deviations) for the documented formulas.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from explorer.models.catalog import CATALOG, catalog
from explorer.models.init import UnknownInitError, build_seeded, init_plan, seeded_init
from explorer.models.recurrent import build_recurrent

TORCH_DEFAULTS = {
    "linear": lambda: nn.Linear(300, 200),
    "conv1d": lambda: nn.Conv1d(6, 40, 5),
    "conv2d": lambda: nn.Conv2d(8, 64, 3),
    "conv_transpose2d": lambda: nn.ConvTranspose2d(8, 16, 3),
    "batchnorm": lambda: nn.BatchNorm2d(32),
    "layernorm": lambda: nn.LayerNorm(32),
    "groupnorm": lambda: nn.GroupNorm(4, 32),
    "embedding": lambda: nn.Embedding(500, 64, padding_idx=3),
    "rnn": lambda: nn.RNN(10, 50, num_layers=2),
    "gru": lambda: nn.GRU(10, 50, bidirectional=True),
    "lstm": lambda: nn.LSTM(10, 50),
    "rnn_cell": lambda: nn.RNNCell(10, 50),
    "gru_cell": lambda: nn.GRUCell(10, 50),
    "lstm_cell": lambda: nn.LSTMCell(10, 50),
    "prelu": lambda: nn.PReLU(8),
}


def mixed() -> nn.Module:
    """One of each kind of layer the explorer builds."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv1d(16, 8, 3),
        nn.Flatten(),
        nn.Linear(8, 4),
        nn.LayerNorm(4),
        nn.GroupNorm(2, 4),
        nn.Embedding(10, 4),
        nn.LSTM(4, 6),
        build_recurrent("gru", 4, 6),
    )


@pytest.mark.parametrize("kind", list(TORCH_DEFAULTS))
def test_each_module_type_gets_exactly_torchs_default_initialisation(kind):
    build = TORCH_DEFAULTS[kind]
    torch.manual_seed(11)
    reference = build()
    ours = build_seeded(build, 11)
    for (name, a), (_, b) in zip(
        ours.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), (kind, name)


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = build_seeded(mixed, 5), build_seeded(mixed, 5), build_seeded(mixed, 6)
    for name, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[name]), name
    drawn = [n for n, p in a.named_parameters() if p.std() > 0]
    assert drawn and all(not torch.equal(a.state_dict()[n], c.state_dict()[n]) for n in drawn)
    # seeded_init of an already built model gives the very same weights.
    d = seeded_init(mixed(), 5)
    assert all(torch.equal(v, d.state_dict()[n]) for n, v in a.state_dict().items())


def test_the_global_random_stream_is_untouched():
    model = nn.Linear(3, 3)  # built the ordinary way: this one draws from the global stream
    before = torch.get_rng_state()
    build_seeded(mixed, 1)
    seeded_init(model, 2)
    assert torch.equal(torch.get_rng_state(), before)


@torch.no_grad()
def test_bounds_and_spread_match_torchs_documented_formulas():
    torch_bound = 1 / math.sqrt(
        300
    )  # Linear(300, 200): kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in))
    lin = build_seeded(TORCH_DEFAULTS["linear"], 0)
    assert (
        float(lin.weight.abs().max()) <= torch_bound and float(lin.bias.abs().max()) <= torch_bound
    )
    assert float(lin.weight.std()) == pytest.approx(
        torch_bound / math.sqrt(3), rel=0.03
    )  # U(-b, b): b/sqrt(3)
    conv = build_seeded(TORCH_DEFAULTS["conv2d"], 0)
    bound = 1 / math.sqrt(8 * 3 * 3)
    assert float(conv.weight.abs().max()) <= bound and float(conv.bias.abs().max()) <= bound
    assert float(conv.weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)
    emb = build_seeded(TORCH_DEFAULTS["embedding"], 0)
    assert (
        float(emb.weight.std()) == pytest.approx(1.0, rel=0.03)
        and float(emb.weight[3].abs().max()) == 0
    )
    for kind in ("rnn", "gru", "lstm", "lstm_cell"):
        rec = build_seeded(TORCH_DEFAULTS[kind], 0)
        values = torch.cat([p.flatten() for p in rec.parameters()])
        assert float(values.abs().max()) <= 1 / math.sqrt(50)
        assert float(values.std()) == pytest.approx(1 / math.sqrt(50) / math.sqrt(3), rel=0.03)
    bn = build_seeded(TORCH_DEFAULTS["batchnorm"], 0)
    assert torch.equal(bn.weight, torch.ones(32)) and torch.equal(bn.bias, torch.zeros(32))
    assert torch.equal(bn.running_mean, torch.zeros(32)) and torch.equal(
        bn.running_var, torch.ones(32)
    )
    assert int(bn.num_batches_tracked) == 0


def test_explicit_recurrent_nets_follow_torchs_rule_and_match_the_fused_module():
    net = build_seeded(lambda: build_recurrent("lstm", 10, 50), 4)
    torch.manual_seed(4)
    fused = nn.LSTM(10, 50)
    assert all(torch.equal(v, fused.state_dict()[n]) for n, v in net.state_dict().items())


@torch.no_grad()
def test_torchvision_families_keep_their_own_schemes():
    from torchvision.models import googlenet, resnet18, vgg11

    r = build_seeded(lambda: resnet18(num_classes=10), 0)
    fan_out = 64 * 7 * 7  # He normal over fan-out, ReLU gain: std sqrt(2 / fan_out)
    assert float(r.conv1.weight.std()) == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    v = build_seeded(lambda: vgg11(num_classes=10), 0)
    assert float(v.classifier[0].weight.std()) == pytest.approx(0.01, rel=0.02)
    assert (
        float(v.classifier[0].bias.abs().max()) == 0 and float(v.features[0].bias.abs().max()) == 0
    )
    g = build_seeded(lambda: googlenet(num_classes=10, aux_logits=False, init_weights=True), 0)
    assert float(g.inception3a.branch1.conv.weight.std()) == pytest.approx(0.01, rel=0.05)


@pytest.mark.parametrize("key", list(CATALOG))
def test_every_catalog_entry_has_a_known_initialisation(key):
    with torch.device("meta"):
        model = CATALOG[key].build()
    plan = init_plan(model)
    owners = [(m, rule) for m, rule in plan if next(m.parameters(recurse=False), None) is not None]
    missing = [type(m).__name__ for m, rule in owners if rule is None]
    assert owners and not missing, (key, missing)  # every module that holds parameters, not some
    drawn = sum(
        p.numel() for m, rule in owners if rule is not None for p in m.parameters(recurse=False)
    )
    assert drawn == sum(p.numel() for p in model.parameters()), key  # so every parameter is drawn


@pytest.mark.parametrize("key", [s.key for s in catalog(compact=True)])
def test_compact_entries_build_seeded_reproducibly(key):
    a, b = build_seeded(CATALOG[key].build, 7), build_seeded(CATALOG[key].build, 7)
    assert all(torch.equal(v, b.state_dict()[n]) for n, v in a.state_dict().items())


class _Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.full((3,), 2.0))


class _Offset(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("offset", torch.arange(3.0))


def test_an_unknown_parametrised_module_raises_before_drawing_anything():
    model = nn.Sequential(nn.Linear(3, 3), _Scale())
    before = {n: v.clone() for n, v in model.state_dict().items()}
    with pytest.raises(UnknownInitError, match=r"_Scale \(module '1'\).*add a rule"):
        seeded_init(model, 0)
    assert all(torch.equal(v, model.state_dict()[n]) for n, v in before.items())
    with pytest.raises(UnknownInitError, match="_Scale"):
        build_seeded(lambda: nn.Sequential(nn.Linear(3, 3), _Scale()), 0)
    with pytest.raises(UnknownInitError, match=r"_Offset \(module '1'\) holds buffers"):
        build_seeded(lambda: nn.Sequential(nn.Linear(3, 3), _Offset()), 0)
