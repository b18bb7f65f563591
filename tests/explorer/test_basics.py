"""The basics page's operations against torch's modules and hand computations."""

import itertools

import pytest
import torch
from torch import nn

from explorer.basics import (
    KERNELS,
    LayerSettingsError,
    convolve,
    formula,
    output_size,
    pool,
    softmax_cross_entropy,
    to_grey,
)


@pytest.mark.parametrize(("n", "f", "p", "s"), list(itertools.product([5, 7, 28, 32], [1, 3, 5], [0, 1, 2], [1, 2, 3])))
def test_output_size_matches_torch(n: int, f: int, p: int, s: int) -> None:
    conv = nn.Conv2d(1, 1, f, s, p)
    assert conv(torch.zeros(1, 1, n, n)).shape[-1] == output_size(n, f, p, s)


def test_the_course_example() -> None:
    assert output_size(32, 5, 0, 1) == 28  # LeNet's first layer
    assert output_size(227, 11, 0, 4) == 55  # AlexNet's first layer
    assert output_size(224, 3, 1, 1) == 224  # VGG's "same" 3x3


def test_convolution_is_cross_correlation() -> None:
    image = torch.arange(16.0).reshape(4, 4)
    kernel = KERNELS["vertical edges (Sobel x)"].tensor()
    out = convolve(image, kernel)
    patch = image[0:3, 0:3]
    assert out.shape == (2, 2)
    assert out[0, 0] == (patch * kernel).sum()  # no kernel flip
    assert torch.equal(out, torch.full((2, 2), 8.0))  # brightness grows by 1 per column: 1*(1+2+1)*2


def test_impossible_settings_get_a_sentence() -> None:
    with pytest.raises(LayerSettingsError) as err:
        output_size(2, 5, 0, 1)
    assert str(err.value) == (
        "A 5x5 filter does not fit a 2x2 input with padding 0: (N - F + 2P) / S + 1 = (2 - 5 + 0) / 1 + 1 < 1. "
        "Use a smaller filter or more padding."
    )
    with pytest.raises(LayerSettingsError, match="stride must be at least 1"):
        output_size(8, 3, 0, 0)


def test_pooling_matches_torch() -> None:
    x = torch.randn(9, 9)
    assert torch.equal(pool(x, "max", 3, 2), nn.MaxPool2d(3, 2)(x[None, None])[0, 0])
    assert torch.allclose(pool(x, "average", 2, 2), nn.AvgPool2d(2, 2)(x[None, None])[0, 0])


def test_cross_entropy_matches_torch() -> None:
    probs, loss = softmax_cross_entropy([2.0, 0.5, -1.0], 0)
    assert sum(probs) == pytest.approx(1.0)
    expected = nn.CrossEntropyLoss()(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0]))
    assert loss == pytest.approx(float(expected), rel=1e-6)


def test_formula_shows_the_floor_when_the_stride_does_not_divide() -> None:
    assert formula(32, 3, 1, 1).endswith("= 32")
    assert r"\lfloor" in formula(32, 3, 0, 2) and formula(32, 3, 0, 2).endswith("= 15")


def test_to_grey_uses_luma_weights() -> None:
    red = torch.zeros(3, 4, 4)
    red[0] = 1
    assert torch.allclose(to_grey(red, 4), torch.full((4, 4), 0.299))
