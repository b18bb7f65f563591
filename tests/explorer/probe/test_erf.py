"""Effective receptive field on toy models whose gradients are known; top-k predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.probe.capture import hook_count
from explorer.probe.erf import effective_receptive_field, imagenet_classes, support_box, top_k


def test_erf_of_a_box_filter_is_its_kernel() -> None:
    conv = nn.Conv2d(2, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.arange(18.0).view(1, 2, 3, 3) - 8)
    net = nn.Sequential(conv)
    g = effective_receptive_field(net, torch.randn(1, 2, 6, 6), "0", row=1, col=2)
    want = np.zeros((6, 6), np.float32)
    want[1:4, 2:5] = conv.weight[0].abs().sum(0).detach().numpy()  # linear: d out / d x = w
    assert np.allclose(g, want)
    assert support_box(g) == (1, 2, 3, 4)
    assert hook_count(net) == 0


def test_erf_channel_and_bounds() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([2.0, -3.0]).view(2, 1, 1, 1))
    x = torch.randn(1, 1, 4, 4)
    assert effective_receptive_field(net, x, "0", 0, 0, channel=1)[0, 0] == pytest.approx(3.0)
    assert effective_receptive_field(net, x, "0", 0, 0)[0, 0] == pytest.approx(1.0)  # |2 - 3|
    with pytest.raises(IndexError, match="outside the 4 x 4 map"):
        effective_receptive_field(net, x, "0", 4, 0)
    with pytest.raises(IndexError, match="Channel 2"):
        effective_receptive_field(net, x, "0", 0, 0, channel=2)
    assert hook_count(net) == 0


def test_erf_through_inplace_relu_and_no_param_grads() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(4, 4, 3, padding=1)
    )
    g = effective_receptive_field(net, torch.randn(1, 3, 9, 9), "1", 4, 4)
    box = support_box(g)
    assert box is not None and box[0] >= 3 and box[2] <= 5
    assert all(p.grad is None for p in net.parameters())


def test_top_k_softmax_and_names() -> None:
    logits = np.array([0.0, 3.0, 1.0, 2.0], np.float32)
    preds = top_k(logits, ["a", "b", "c", "d"], k=3)
    assert [p.label for p in preds] == ["b", "d", "c"]
    assert preds[0].probability == pytest.approx(float(torch.softmax(torch.tensor(logits), 0)[1]))
    assert [p.label for p in top_k(logits, None, k=2)] == ["class 1", "class 3"]


def test_top_k_binary() -> None:
    preds = top_k(np.array([2.0]), ["cat", "dog"], task="binary")
    assert preds[0].label == "dog" and preds[0].probability == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert preds[1].probability == pytest.approx(1 - preds[0].probability)


def test_imagenet_classes_ship_with_torchvision() -> None:
    names = imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and names[281] == "tabby"
