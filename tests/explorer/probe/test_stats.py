"""Channel statistics and orderings against numbers computed by hand / by torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.probe.capture import hook_count
from explorer.probe.stats import (
    channel_order,
    channel_stats,
    compute_feature_maps,
    layer_overview,
)


def _act() -> torch.Tensor:
    a = torch.zeros(4, 2, 2)
    a[0] = torch.tensor([[1.0, 3.0], [0.0, 0.0]])  # mean 1, max 3, var 1.5, zeros 0.5
    a[1] = 0.0  # dead
    a[2] = torch.tensor([[2.0, 2.0], [2.0, 2.0]])  # mean 2, max 2, var 0
    a[3] = torch.tensor([[-1.0, 5.0], [0.5, -0.5]])  # mean 1, max 5, var 5.625
    return a


def test_channel_stats_by_hand() -> None:
    s = channel_stats(_act())
    assert s.mean.tolist() == [1.0, 0.0, 2.0, 1.0]
    assert s.max.tolist() == [3.0, 0.0, 2.0, 5.0]
    assert s.min.tolist() == [0.0, 0.0, 2.0, -1.0]
    assert np.allclose(s.var, [1.5, 0.0, 0.0, 5.625])
    assert s.zero_frac.tolist() == [0.5, 1.0, 0.0, 0.5]
    assert s.dead.tolist() == [False, True, False, False]
    assert channel_stats(_act().unsqueeze(0)).mean.tolist() == s.mean.tolist()  # batch of 1


def test_orders() -> None:
    s = channel_stats(_act())
    assert channel_order(s, "index").tolist() == [0, 1, 2, 3]
    assert channel_order(s, "mean").tolist() == [2, 0, 3, 1]  # ties keep index order
    assert channel_order(s, "max").tolist() == [3, 0, 2, 1]
    assert channel_order(s, "variance").tolist() == [3, 0, 1, 2]
    assert channel_order(s, "mean", descending=False).tolist() == [1, 0, 3, 2]
    with pytest.raises(ValueError, match="Unknown sort key"):
        channel_order(s, "median")


def test_layer_overview() -> None:
    ov = layer_overview(channel_stats(_act()))
    assert ov.channels == 4 and ov.dead == 1 and not ov.nonnegative
    assert ov.mean == pytest.approx(1.0) and ov.zero_share == pytest.approx(0.5)
    assert layer_overview(channel_stats(torch.relu(_act()))).nonnegative


def test_compute_feature_maps_keeps_4d_layers_and_logits() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 5),
        nn.ReLU(),
    )
    x = torch.randn(1, 3, 8, 8)
    fm = compute_feature_maps(net, x)
    assert fm.names() == ["1", "2"]  # ReLU and pool; the dense ReLU is not a map
    relu = fm.get("1")
    want = torch.relu(net[0](x))[0].detach()
    assert relu.shape == (4, 8, 8)
    assert np.allclose(relu.stats.mean, want.mean(dim=(1, 2)).numpy(), atol=1e-6)
    assert np.allclose(relu.stats.zero_frac, (want <= 0).float().mean(dim=(1, 2)).numpy())
    assert fm.get("2").shape == (4, 4, 4)
    assert np.allclose(fm.output, net(x)[0].detach().numpy(), atol=1e-6)
    assert hook_count(net) == 0 and net.training  # hooks gone, mode restored
    with pytest.raises(KeyError, match="No captured layer"):
        fm.get("0")


def test_float16_values_are_clipped_not_infinite() -> None:
    net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU())
    nn.init.constant_(net[0].weight, 1e6)
    fm = compute_feature_maps(net, torch.ones(1, 1, 2, 2))
    assert np.isfinite(fm.get("1").values.astype(np.float32)).all()
