"""The summary's receptive-field arithmetic against brute force (gradients).

For chains of convolutions and poolings with strides, padding and dilation, every input
pixel with a non-zero gradient for a unit lies inside the field that
``explorer.probe.summarize`` computes (containment), and with positive weights and average
pooling (no path cancels, no max picks) the gradients reach exactly the field (tightness)
for every unit whose field lies inside the image. A unit whose field runs past the border
reads some zero padding at a deeper layer; the box arithmetic counts the input pixels
"behind" that padding too, so there only containment holds (the page says so).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.probe import summarize
from explorer.probe.erf import effective_receptive_field, support_box
from explorer.viz.maps import clip_box

# (kind, kernel, stride, padding, dilation)
CHAINS: dict[str, list[tuple[str, int, int, int, int]]] = {
    "resnet-stem": [
        ("conv", 7, 2, 3, 1),
        ("max", 3, 2, 1, 1),
        ("conv", 3, 1, 1, 1),
        ("conv", 3, 2, 1, 1),
    ],
    "dilated": [
        ("conv", 3, 1, 2, 2),
        ("conv", 3, 1, 4, 4),
        ("avg", 2, 2, 0, 1),
        ("conv", 3, 1, 0, 3),
    ],
    "strided-valid": [("conv", 5, 2, 0, 1), ("conv", 3, 3, 0, 1), ("max", 2, 1, 0, 1)],
    "even-kernels": [("conv", 4, 2, 1, 1), ("avg", 2, 2, 0, 1), ("conv", 2, 1, 1, 2)],
    "vgg-like": [
        ("conv", 3, 1, 1, 1),
        ("conv", 3, 1, 1, 1),
        ("max", 2, 2, 0, 1),
        ("conv", 3, 1, 1, 1),
        ("max", 2, 2, 0, 1),
    ],
    "dilated-pool": [("conv", 3, 2, 1, 1), ("max", 3, 1, 1, 2), ("conv", 3, 2, 0, 2)],
}
SIZE = 45  # odd, so that strides do not divide it evenly; big enough for interior units


def _net(chain: list[tuple[str, int, int, int, int]], *, linear: bool) -> nn.Sequential:
    """The chain; ``linear``: ones as weights and average instead of max pooling."""
    layers: list[nn.Module] = []
    c = 2
    for kind, k, s, p, d in chain:
        if kind == "conv":
            conv = nn.Conv2d(c, 3, k, stride=s, padding=p, dilation=d, bias=not linear)
            if linear:
                nn.init.constant_(conv.weight, 1.0)
            layers.append(conv)
            c = 3
            if not linear:
                layers.append(nn.Tanh())  # non-linear, but never exactly flat
        elif kind == "max" and not linear:
            layers.append(nn.MaxPool2d(k, s, p, dilation=d))
        else:  # average pooling has no dilation: use it only where d == 1 or in the linear twin
            if d != 1:
                layers.append(
                    nn.MaxPool2d(k, s, p, dilation=d)
                    if not linear
                    else nn.Conv2d(c, c, k, stride=s, padding=p, dilation=d, bias=False)
                )
                if linear:
                    nn.init.constant_(layers[-1].weight, 1.0)
            else:
                layers.append(nn.AvgPool2d(k, s, p))
    return nn.Sequential(*layers)


@pytest.mark.parametrize("name", list(CHAINS))
@pytest.mark.parametrize("linear", [False, True], ids=["containment", "tight"])
def test_field_matches_gradients(name: str, linear: bool) -> None:
    torch.manual_seed(0)
    net = _net(CHAINS[name], linear=linear).eval()
    last = str(len(net) - 1)
    summary = summarize(net, (2, SIZE, SIZE))
    field = summary.fields[last]
    x = torch.rand(1, 2, SIZE, SIZE) + 0.5
    _, _, h, w = net(x).shape
    assert (h, w) == summary.row(last).out_shape[1:]
    # border units (where padding cuts the field), the centre, and a diagonal of interior units
    picks = {0, 1, h // 2, h - 2, h - 1}
    units = {(r, c) for r in picks for c in {0, 1, w // 2, w - 2, w - 1}} | {
        (i, i) for i in range(0, min(h, w), max(1, min(h, w) // 6))
    }
    inside = 0
    for row, col in sorted(u for u in units if u[0] < h and u[1] < w):
        grad = effective_receptive_field(net, x, last, row, col)
        got = support_box(grad)
        box = field.box(row, col)
        want = clip_box(box, SIZE, SIZE)
        assert got is not None
        # containment: every pixel with a gradient lies in the computed field
        assert (
            want[0] <= got[0] and want[1] <= got[1] and got[2] <= want[2] and got[3] <= want[3]
        ), (name, row, col, got, want)
        if linear and box[0] >= 0 and box[1] >= 0 and box[2] <= SIZE - 1 and box[3] <= SIZE - 1:
            inside += 1
            assert got == want, (name, row, col, got, want)  # tightness: gradients reach every edge
    assert not linear or inside > 0, f"{name}: no unit with its whole field inside the image"


def test_field_size_and_jump_of_a_known_chain() -> None:
    # ResNet stem: 7x7/2 conv then 3x3/2 max pool: size 7 + 2*2 = 11, jump 4 (d2l / Araujo et al.)
    net = nn.Sequential(nn.Conv2d(3, 4, 7, 2, 3), nn.MaxPool2d(3, 2, 1))
    f = summarize(net, (3, 64, 64)).fields["1"]
    assert f.size == (11.0, 11.0) and f.jump == (4.0, 4.0) and f.start == (0.0, 0.0)
