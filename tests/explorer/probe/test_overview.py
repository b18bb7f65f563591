"""The one-pass overview: statistics and strip tiles reduced inside the hooks, equal to the
full capture's, safe against in-place ReLUs, full maps only when asked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.models import get_spec
from explorer.probe.capture import LayerInfo, hook_count, hooked, layer_infos
from explorer.probe.overview import STRIP_CHANNELS, FeatureOverview, compute_overview
from explorer.probe.stats import channel_order, compute_feature_maps


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 12, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(12, 10, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(10, 4),
    ).eval()


def _all_layers(net: nn.Module) -> list[LayerInfo]:
    return [i for i in layer_infos(net) if i.role in ("conv", "act", "pool")]


def test_summaries_equal_the_full_capture_including_the_conv_before_an_inplace_relu():
    net = _net()
    x = torch.randn(1, 3, 16, 16)
    infos = _all_layers(net)
    overview = compute_overview(net, x, infos)
    full = compute_feature_maps(net, x, infos)
    assert overview.names() == full.names() == ["0", "1", "2", "3", "4", "5"]
    np.testing.assert_allclose(overview.output, full.output, atol=1e-6)
    for name in full.names():
        s, f = overview.get(name).summary, full.get(name)
        assert s.shape == f.shape
        for field in ("mean", "max", "min", "var", "zero_frac"):
            np.testing.assert_array_equal(
                getattr(s.stats, field), getattr(f.stats, field), err_msg=field
            )
        top = channel_order(f.stats, "mean")[:STRIP_CHANNELS]
        np.testing.assert_array_equal(s.top, top)
        np.testing.assert_array_equal(s.top_tiles, f.tiles[top])  # the strip's exact pixels
    # The conv output was summarised before ReLU(inplace=True) overwrote it: negatives remain.
    conv = overview.get("0").summary.stats
    want = net[0](x)[0].detach()
    assert (conv.min < 0).all()
    np.testing.assert_allclose(conv.min, want.amin(dim=(1, 2)).numpy(), atol=1e-6)
    assert hook_count(net) == 0 and not net.training


def test_full_maps_are_captured_once_and_only_when_asked():
    net = _net()
    x = torch.randn(1, 3, 16, 16)
    loads: list[int] = []

    def load():
        loads.append(1)
        return compute_feature_maps(net, x)

    overview = compute_overview(net, x, load=load)
    assert isinstance(overview, FeatureOverview) and not overview.loaded and loads == []
    layer = overview.get("1")
    assert layer.channels == 12 and layer.label == "1 (ReLU) - 12 x 16 x 16"
    before = overview.nbytes
    values = layer.values
    assert loads == [1] and overview.loaded and overview.nbytes > before
    want = torch.relu(net[0](x))[0].detach().to(torch.float16).numpy()
    np.testing.assert_array_equal(values, want)
    assert overview.get("4").tiles.shape[0] == 10 and loads == [1]  # every layer from one capture
    with pytest.raises(KeyError, match="No captured layer"):
        overview.get("7")


def test_resnet_overview_keeps_a_strip_per_block():
    model = get_spec("resnet_small").build().eval()
    overview = compute_overview(model, torch.rand(1, 3, 32, 32))
    full = compute_feature_maps(model, torch.rand(1, 3, 32, 32))
    assert overview.names() == full.names()
    assert all(
        m.summary.top_tiles.dtype == np.uint8 and len(m.summary.top) == min(8, m.channels)
        for m in overview.layers
    )


def test_hooks_are_removed_when_the_summary_raises():
    net = _net()

    def broken(name, out):
        raise RuntimeError("summary failed")

    with (
        pytest.raises(RuntimeError, match="summary failed"),
        hooked(net, ["1"], summarise=broken),
        torch.no_grad(),
    ):
        net(torch.randn(1, 3, 8, 8))
    assert hook_count(net) == 0


def test_hooked_with_a_summary_keeps_the_summary_not_the_tensor():
    net = _net()
    x = torch.randn(1, 3, 8, 8)
    with (
        hooked(net, ["0", "1"], summarise=lambda name, out: float(out.sum())) as store,
        torch.no_grad(),
    ):
        net(x)
    conv = net[0](x).detach()
    assert store["0"] == pytest.approx(float(conv.sum()), rel=1e-5)  # before the in-place ReLU
    assert store["1"] == pytest.approx(float(conv.clamp(min=0).sum()), rel=1e-5)
