"""Layer choices of the views: every Conv2d in definition order (nested ones too, never a
Conv1d or a transposed convolution), and Grad-CAM's deepest spatial map."""

from __future__ import annotations

import torch
from torch import nn

from explorer.probe.layers import conv_layers, grad_cam_layer
from explorer.probe.overview import compute_overview


def _toy() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),  # 0: N x 4 x 8 x 8
        nn.ReLU(),  # 1
        nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU()),  # 2: N x 6 x 4 x 4
        nn.AdaptiveAvgPool2d(1),  # 3: N x 6 x 1 x 1, no longer a map
        nn.Flatten(),
        nn.Linear(6, 2),
    )


def test_conv_layers_lists_every_conv2d_in_order() -> None:
    model = nn.Sequential(_toy(), nn.Conv1d(2, 2, 1), nn.ConvTranspose2d(2, 2, 1))
    found = conv_layers(model)
    assert [n for n, _ in found] == ["0.0", "0.2.0"]
    assert [tuple(m.weight.shape) for _, m in found] == [(4, 3, 3, 3), (6, 4, 3, 3)]
    assert conv_layers(nn.Linear(3, 2)) == []


def test_grad_cam_layer_is_the_deepest_spatial_map() -> None:
    model = _toy()
    maps = compute_overview(model, torch.rand(1, 3, 8, 8))
    shapes = {n: maps.get(n).shape for n in maps.names()}
    assert shapes["3"] == (6, 1, 1)  # the global pool is captured, but is no map
    assert shapes["2.1"] == (6, 4, 4)
    assert grad_cam_layer(maps) == "2.1"  # the last ReLU: 6 x 4 x 4, after it only 1 x 1
    assert grad_cam_layer(maps.full()) == "2.1"  # the same on the full maps


def test_grad_cam_layer_none_without_a_spatial_map() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 2, 4), nn.ReLU(), nn.Flatten(), nn.Linear(2, 2)
    )  # 4x4 -> 1x1
    assert grad_cam_layer(compute_overview(model, torch.rand(1, 1, 4, 4))) is None
