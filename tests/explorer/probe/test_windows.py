"""One window parser (explorer.probe.windows) for both tracers, held against torch itself.

For dilated, strided, padded, ceil-mode and tuple-argument convolutions and poolings, as modules
and as functional calls by position or keyword: the graph tracer's kernel, stride, padding,
dilation and ceil_mode give torch's own output size on both axes of a non-square input, and the
receptive fields of both the graph tracer and the receptive-field tracker match brute force (each
input pixel switched on alone: the output units that change). Breaking any argument of the
parser (dilation, a ceil_mode position, a tuple read as its first entry) fails here for both.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.basics.sizes import window_output_size
from explorer.probe.graph import build_graph
from explorer.probe.receptive_field import INPUT_FIELD, Field, FieldTracker
from explorer.probe.windows import Window, window_of

H, W = 14, 15  # non-square, and sizes where floor and ceil differ for the strided windows


class Call(nn.Module):
    """A functional call as a layer; ``weight`` (positive) for convolutions."""

    def __init__(
        self, fn: Callable[..., torch.Tensor], kernel: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.fn = fn
        self.weight = nn.Parameter(torch.rand(2, 1, *kernel) + 0.1) if kernel else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, self.weight) if self.weight is not None else self.fn(x)


LAYERS: dict[str, Callable[[], nn.Module]] = {
    "conv-strided-padded": lambda: nn.Conv2d(1, 2, 3, stride=2, padding=1),
    "conv-dilated": lambda: nn.Conv2d(1, 2, 3, dilation=2, padding=2),
    "conv-tuples": lambda: nn.Conv2d(1, 2, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
    "conv-same-dilated": lambda: nn.Conv2d(1, 2, 3, padding="same", dilation=3),
    "max-ceil-padded": lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    "max-dilated-tuples": lambda: nn.MaxPool2d((2, 3), stride=(2, 1), dilation=(2, 1)),
    "max-default-stride": lambda: nn.MaxPool2d(2),
    "avg-ceil": lambda: nn.AvgPool2d(3, stride=2, ceil_mode=True),
    "avg-tuples": lambda: nn.AvgPool2d((3, 2), stride=(1, 2), padding=(1, 0)),
    "f.conv-positional-dilation": lambda: Call(lambda x, w: F.conv2d(x, w, None, 2, 1, 2), (3, 3)),
    "f.conv-keywords": lambda: Call(
        lambda x, w: F.conv2d(x, w, stride=(1, 2), padding=(2, 0), dilation=(2, 1)), (3, 3)
    ),
    "f.max-keywords-ceil": lambda: Call(
        lambda x: F.max_pool2d(x, kernel_size=3, stride=2, dilation=2, ceil_mode=True)
    ),
    "f.max-positional-ceil": lambda: Call(lambda x: F.max_pool2d(x, 3, 2, 1, 1, True)),
    "f.avg-positional-ceil": lambda: Call(lambda x: F.avg_pool2d(x, 3, 2, 0, True)),
}


def _layer(name: str) -> nn.Module:
    torch.manual_seed(0)
    layer = LAYERS[name]().eval()
    for p in layer.parameters():  # positive weights, no bias: no path cancels
        p.data = p.data.abs() + 0.1 if p.dim() > 1 else torch.zeros_like(p)
    return layer


def _influence(layer: nn.Module) -> torch.Tensor:
    """Brute force: [input pixel, out row, out col] -> whether switching that pixel on alone
    changes the unit (every input pixel at once, as a batch of one-hot images)."""
    with torch.no_grad():
        ones = torch.eye(H * W).reshape(H * W, 1, H, W)
        return (layer(ones) - layer(torch.zeros(1, 1, H, W)))[:, 0].abs() > 0


def _check_field(field: Field, influence: torch.Tensor, name: str) -> None:
    """Every unit's influence lies in its field's box; where the box lies inside the image, the
    influence spans it exactly (its corner taps are inside: dilation leaves holes between)."""
    _, oh, ow = influence.shape
    exact = 0
    for i in range(oh):
        for j in range(ow):
            pix = influence[:, i, j].nonzero().flatten()
            assert len(pix), (name, i, j)
            rows, cols = pix // W, pix % W
            top, left, bottom, right = field.box(i, j)
            got = (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()))
            assert top <= got[0] and left <= got[1] and got[2] <= bottom and got[3] <= right, (
                name,
                i,
                j,
                got,
            )
            if top >= 0 and left >= 0 and bottom <= H - 1 and right <= W - 1:
                assert got == (top, left, bottom, right), (name, i, j, got, field.box(i, j))
                exact += 1
    assert exact, name  # some unit was checked exactly


@pytest.mark.parametrize("name", list(LAYERS))
def test_graph_tracer_reads_the_window_torch_uses(name: str) -> None:
    layer = _layer(name)
    real = tuple(layer(torch.zeros(1, 1, H, W)).shape[-2:])
    windows = [n for n in build_graph(layer, (1, H, W)).nodes if n.kernel is not None]
    assert len(windows) == 1, name
    n = windows[0]
    sizes = tuple(
        window_output_size(side, n.kernel[a], n.padding[a], n.stride[a], n.dilation[a], n.ceil_mode)
        for a, side in enumerate((H, W))
    )
    assert sizes == real, (name, n.kernel, n.stride, n.padding, n.dilation, n.ceil_mode)
    assert n.field is not None
    _check_field(n.field, _influence(layer), name)


@pytest.mark.parametrize("name", list(LAYERS))
def test_receptive_field_tracker_matches_brute_force(name: str) -> None:
    layer = _layer(name)
    x = torch.zeros(1, 1, H, W)
    with torch.no_grad(), FieldTracker() as tracker:
        tracker.set(x, INPUT_FIELD)
        field = tracker.get(layer(x))
    assert field is not None and not field.is_global
    _check_field(field, _influence(layer), name)


def test_the_parser_on_calls_by_position_and_keyword() -> None:
    x, w = torch.zeros(1, 1, H, W), torch.zeros(4, 1, 3, 5)
    assert window_of("conv2d", (x, w, None, 2, "same", (3, 1), 1), {}) == Window(
        (3, 5), (2, 2), (3, 2), (3, 1)
    )
    assert window_of("conv2d", (x,), {"weight": w, "padding": "valid", "groups": 1}) == Window(
        (3, 5), (1, 1), (0, 0)
    )
    assert window_of("max_pool2d", (x, (2, 3), None, (0, 1), 2, True), {}) == Window(
        (2, 3), (2, 3), (0, 1), (2, 2), ceil_mode=True
    )
    assert window_of("avg_pool2d", (x, 3, 2, 1, True), {}) == Window(
        (3, 3), (2, 2), (1, 1), ceil_mode=True
    )
    assert window_of("avg_pool2d", (x, 3), {"ceil_mode": True, "stride": []}) == Window(
        (3, 3), (3, 3), (0, 0), ceil_mode=True
    )
    assert window_of("adaptive_avg_pool2d", (x, 1), {}) is None
    assert window_of("relu", (x,), {}) is None
