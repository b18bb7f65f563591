"""The basics page's operations against torch's own operators and hand computations."""

import itertools
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.basics import (
    KERNELS,
    PRESETS,
    LayerSettingsError,
    channel_breakdown,
    conv_as_dense,
    conv_params,
    conv_problem,
    convolve,
    dense_params,
    formula,
    global_average_pool,
    output_size,
    parse_grid,
    pool,
    pool_formula,
    pool_output_size,
    pool_problem,
    resolve_padding,
    same_padding,
    sigmoid_binary_cross_entropy,
    sliding_steps,
    softmax_cross_entropy,
    to_grey,
)


def _torch_conv_side(n: int, f: int, p: int, s: int, d: int = 1) -> int | None:
    try:
        return F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), None, s, p, d).shape[-1]
    except RuntimeError:
        return None


@pytest.mark.parametrize(
    ("n", "f", "p", "s"), list(itertools.product([5, 7, 28, 32], [1, 3, 5], [0, 1, 2], [1, 2, 3]))
)
def test_output_size_matches_torch(n: int, f: int, p: int, s: int) -> None:
    conv = nn.Conv2d(1, 1, f, s, p)
    assert conv(torch.zeros(1, 1, n, n)).shape[-1] == output_size(n, f, p, s)


def test_random_grid_refused_exactly_where_torch_refuses() -> None:
    rng = random.Random(0)
    cases = [
        (
            rng.randint(1, 40),
            rng.randint(1, 11),
            rng.randint(0, 5),
            rng.randint(1, 5),
            rng.randint(1, 3),
        )
        for _ in range(400)
    ]
    cases += [(n, f, p, 1, 1) for n in range(1, 6) for f in range(1, 12) for p in range(0, 6)]
    refused = 0
    for n, f, p, s, d in cases:
        expected = _torch_conv_side(n, f, p, s, d)
        if expected is None:
            refused += 1
            assert conv_problem(n, f, p, s, d) is not None, (n, f, p, s, d)
            with pytest.raises(LayerSettingsError):
                output_size(n, f, p, s, d)
        else:
            assert conv_problem(n, f, p, s, d) is None
            assert output_size(n, f, p, s, d) == expected > 0
            assert formula(n, f, p, s, d).endswith(f"= {expected}")
    assert refused > 20  # the grid really exercises the refusals


def test_presets_formula_equals_torch() -> None:
    expected = {
        "LeNet-5 C1": 28,
        "AlexNet conv1": 55,
        "VGG 3x3 'same'": 224,
        "Keras Conv2D(32, (3,3)) on 64x64": 62,
    }
    for name, preset in PRESETS.items():
        side = _torch_conv_side(preset.n, preset.f, preset.p, preset.s)
        assert side == expected[name] == output_size(preset.n, preset.f, preset.p, preset.s)
        assert formula(preset.n, preset.f, preset.p, preset.s).endswith(f"= {side}")


def test_formula_shows_the_floor_and_the_exact_fraction() -> None:
    assert formula(32, 3, 0, 2) == (
        r"\text{output} = \left\lfloor \frac{N - F + 2P}{S} \right\rfloor + 1"
        r" = \left\lfloor \frac{32 - 3 + 2 \cdot 0}{2} \right\rfloor + 1 = \lfloor 14.5 \rfloor + 1 = 15"
    )
    assert r"\lfloor 54 \rfloor + 1 = 55" in formula(227, 11, 0, 4)


def test_pooling_formula_shows_the_floor() -> None:
    # The old page said "(46 - 3) / 2 + 1 = 22", hiding 21.5 rounded down.
    text = pool_formula(46, 3, 2)
    assert r"\lfloor 21.5 \rfloor + 1 = 22" in text
    assert F.max_pool2d(torch.zeros(1, 1, 46, 46), 3, 2).shape[-1] == 22


@pytest.mark.parametrize(
    ("n", "k", "s", "p"),
    list(itertools.product([1, 2, 3, 4, 7, 9], [1, 2, 3, 4], [1, 2, 3], [0, 1, 2])),
)
def test_pool_refusals_are_torchs(n: int, k: int, s: int, p: int) -> None:
    for op in (F.max_pool2d, F.avg_pool2d):
        try:
            side = op(torch.zeros(1, 1, n, n), k, s, p).shape[-1]
        except RuntimeError:
            side = None
        if side is None:
            assert pool_problem(n, k, s, p) is not None
        else:
            assert pool_problem(n, k, s, p) is None and pool_output_size(n, k, s, p) == side


def test_the_course_example() -> None:
    assert output_size(32, 5, 0, 1) == 28  # LeNet's first layer
    assert output_size(227, 11, 0, 4) == 55  # AlexNet's first layer
    assert output_size(224, 3, 1, 1) == 224  # VGG's "same" 3x3


def test_same_and_valid_padding() -> None:
    assert resolve_padding("valid", 3, 2, 1) == 0
    assert resolve_padding("same", 5, 0, 1) == 2
    assert resolve_padding("same", 3, 0, 1, d=2) == 2
    assert same_padding(4) == (1, 2)
    with pytest.raises(LayerSettingsError, match="torch refuses it for strided"):
        resolve_padding("same", 3, 0, 2)
    with pytest.raises(LayerSettingsError, match="even filter"):
        resolve_padding("same", 4, 0, 1)
    # 'same' really keeps the size, as torch's padding='same' does
    for f, d in [(1, 1), (3, 1), (5, 1), (3, 2), (7, 3)]:
        p = resolve_padding("same", f, 0, 1, d)
        ref = F.conv2d(
            torch.zeros(1, 1, 13, 13), torch.zeros(1, 1, f, f), padding="same", dilation=d
        )
        assert output_size(13, f, p, 1, d) == ref.shape[-1] == 13


def test_convolution_is_cross_correlation() -> None:
    image = torch.arange(16.0).reshape(4, 4)
    kernel = KERNELS["vertical edges (Sobel x)"].tensor()
    out = convolve(image, kernel)
    patch = image[0:3, 0:3]
    assert out.shape == (2, 2)
    assert out[0, 0] == (patch * kernel).sum()  # no kernel flip
    assert torch.equal(
        out, torch.full((2, 2), 8.0)
    )  # brightness grows by 1 per column: 1*(1+2+1)*2


@pytest.mark.parametrize(
    ("n", "f", "s", "p", "d"),
    [
        (7, 3, 1, 0, 1),
        (7, 3, 2, 1, 1),
        (9, 5, 3, 2, 1),
        (12, 3, 1, 2, 2),
        (8, 1, 2, 0, 1),
        (10, 4, 3, 5, 1),
    ],
)
def test_every_step_sum_equals_the_output_cell(n: int, f: int, s: int, p: int, d: int) -> None:
    g = torch.Generator().manual_seed(n * f)
    image = torch.rand(n, n, generator=g, dtype=torch.float64)
    kernel = torch.randn(f, f, generator=g, dtype=torch.float64)
    steps = sliding_steps(image, kernel, s, p, d, bias=0.25)
    ref = F.conv2d(
        image[None, None], kernel[None, None], torch.tensor([0.25], dtype=torch.float64), s, p, d
    )[0, 0]
    assert torch.allclose(steps.output, ref)
    assert len(steps) == ref.numel()
    for k in range(len(steps)):
        r, c = steps.position(k)
        assert torch.isclose(steps.sums[k], ref[r, c])
        assert torch.isclose(steps.products[k].sum() + 0.25, ref[r, c])
        # the patch holds the padded input at the drawn cells: zeros outside the image
        for (i, j), v in zip(steps.cells(k), steps.patches[k].flatten().tolist(), strict=True):
            inside = p <= i < n + p and p <= j < n + p
            assert v == (image[i - p, j - p].item() if inside else 0.0)


def test_padding_is_zeros_at_the_border() -> None:
    steps = sliding_steps(torch.ones(3, 3), torch.ones(3, 3), padding=1)
    assert steps.sums[0] == 4  # top-left window sees 4 pixels, 5 zeros
    assert steps.patches[0][0].tolist() == [0, 0, 0]


def test_channel_breakdown_sums_to_torchs_output() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 9, 9, generator=g)
    w = torch.randn(4, 3, 3, 3, generator=g)
    b = torch.randn(4, generator=g)
    parts = channel_breakdown(x, w, b, stride=2, padding=1)
    ref = nn.functional.conv2d(x[None], w, b, 2, 1)[0]
    dilated = channel_breakdown(x, w, b, 1, 2, 2)
    assert torch.allclose(
        dilated.per_channel.sum(1) + b[:, None, None],
        F.conv2d(x[None], w, b, 1, 2, 2)[0],
        atol=1e-5,
    )
    assert parts.per_channel.shape == (4, 3, 5, 5)
    assert torch.allclose(parts.output, ref)
    assert torch.allclose(parts.per_channel.sum(1) + b[:, None, None], ref, atol=1e-6)
    for o, c in itertools.product(range(4), range(3)):
        one = F.conv2d(x[c][None, None], w[o, c][None, None], None, 2, 1)[0, 0]
        assert torch.allclose(parts.per_channel[o, c], one, atol=1e-6)


def test_parameter_counts_match_torch_modules() -> None:
    assert conv_params(3, 3, 8) == sum(p.numel() for p in nn.Conv2d(3, 8, 3).parameters()) == 224
    assert dense_params(64 * 64, 62 * 62) == sum(
        p.numel() for p in nn.Linear(64 * 64, 62 * 62, device="meta").parameters()
    )


@pytest.mark.parametrize(("s", "p", "d"), [(1, 0, 1), (1, 1, 1), (2, 1, 1), (3, 2, 1), (1, 1, 2)])
def test_conv_as_dense_is_the_same_layer(s: int, p: int, d: int) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(7, 7, generator=g, dtype=torch.float64)
    k = torch.randn(3, 3, generator=g, dtype=torch.float64)
    weight, bias = conv_as_dense((7, 7), k, 0.5, s, p, d)
    y = F.linear(x.flatten(), weight, bias)
    ref = convolve(x, k, s, p, d, bias=0.5)
    assert torch.allclose(y, ref.flatten())
    # every row holds the kernel's numbers (those inside the image), the rest are zeros
    assert set(weight[weight != 0].tolist()) <= set(k.flatten().tolist())


def test_pooling_matches_torch_on_every_channel() -> None:
    x = torch.randn(4, 9, 9)
    assert torch.equal(pool(x[0], "max", 3, 2), nn.MaxPool2d(3, 2)(x[None, None, 0])[0, 0])
    assert torch.equal(pool(x, "max", 3, 2, 1), F.max_pool2d(x[None], 3, 2, 1)[0])
    assert torch.allclose(pool(x, "average", 2, 2), F.avg_pool2d(x[None], 2, 2)[0])
    assert torch.allclose(global_average_pool(x), F.adaptive_avg_pool2d(x[None], 1).flatten())
    assert torch.allclose(global_average_pool(x), x.mean(dim=(1, 2)))
    with pytest.raises(LayerSettingsError, match="at most half"):
        pool(x, "max", 2, 2, 2)


def test_cross_entropy_matches_torch() -> None:
    probs, loss = softmax_cross_entropy([2.0, 0.5, -1.0], 0)
    assert sum(probs) == pytest.approx(1.0)
    expected = nn.CrossEntropyLoss()(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0]))
    assert loss == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize(("z", "y"), [(2.0, 1), (2.0, 0), (-0.3, 1), (0.0, 0)])
def test_sigmoid_bce_matches_torch(z: float, y: int) -> None:
    p, loss = sigmoid_binary_cross_entropy(z, y)
    assert p == pytest.approx(float(torch.sigmoid(torch.tensor(z))))
    ref = F.binary_cross_entropy(torch.sigmoid(torch.tensor([z])), torch.tensor([float(y)]))
    assert loss == pytest.approx(float(ref), rel=1e-6)
    assert loss == pytest.approx(
        float(nn.BCEWithLogitsLoss()(torch.tensor([z]), torch.tensor([float(y)]))), rel=1e-6
    )


def test_impossible_settings_get_one_sentence() -> None:
    with pytest.raises(LayerSettingsError) as err:
        output_size(2, 5, 0, 1)
    assert str(err.value) == (
        "The filter must fit inside the padded input: N + 2P = 2 + 0 = 2 is smaller than the filter's span 5, "
        "so the output side floor((N + 2P - F) / S) + 1 would be <= 0. Use a smaller filter or more padding."
    )
    with pytest.raises(LayerSettingsError, match="stride must be at least 1"):
        output_size(8, 3, 0, 0)


def test_parse_grid() -> None:
    assert parse_grid([[1, "2"], [3.5, 0]]).tolist() == [[1, 2], [3.5, 0]]
    with pytest.raises(LayerSettingsError, match="must be a number"):
        parse_grid([[1, "x"], [1, 1]])
    with pytest.raises(LayerSettingsError, match="square"):
        parse_grid([[1, 2]])
    with pytest.raises(LayerSettingsError, match="finite"):
        parse_grid([[float("nan")]])


def test_to_grey_uses_luma_weights() -> None:
    red = torch.zeros(3, 4, 4)
    red[0] = 1
    assert torch.allclose(to_grey(red, 4), torch.full((4, 4), 0.299))


def test_first_layer_unit_is_torchs_conv_output() -> None:
    from explorer.basics import first_layer_unit
    from explorer.models.catalog import get_spec

    torch.manual_seed(0)
    for key, shape in [
        ("lenet5", (1, 1, 32, 32)),
        ("alexnet_small", (1, 3, 32, 32)),
        ("resnet_small", (1, 3, 32, 32)),
    ]:
        model = get_spec(key).build().eval()
        x = torch.randn(shape)
        conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
        ref = conv(x)
        for channel, row, col in [(0, 0, 0), (1, 5, 7), (2, ref.shape[-2] - 1, ref.shape[-1] - 1)]:
            unit = first_layer_unit(model, x, channel, row, col)
            assert unit is not None
            assert unit.total == pytest.approx(float(ref[0, channel, row, col]), abs=1e-4)
            assert unit.torch_value == pytest.approx(float(ref[0, channel, row, col]), abs=1e-5)
            assert "torch's conv2d" in unit.text()
        assert first_layer_unit(model, x, 999, 0, 0) is None


def test_overlay_pair_has_two_equal_panels_and_an_escaped_title() -> None:
    import numpy as np

    from explorer.viz.maps import field_pair

    view = np.zeros((32, 32, 3), dtype=np.uint8)
    heat = np.random.default_rng(0).random((32, 32))
    fig = field_pair(view, heat, ("What the model sees", "Saliency: <b>cat</b>"), alpha=0.3)
    images = [t for t in fig.data if t.type == "image"]
    assert len(images) == 2 and {images[0].xaxis, images[1].xaxis} == {"x", "x2"}
    assert (
        fig.layout.xaxis.range == fig.layout.xaxis2.range
        and fig.layout.yaxis.range == fig.layout.yaxis2.range
    )
    bars = [t for t in fig.data if t.type == "scatter" and t.marker.showscale]
    assert len(bars) == 1  # the colour bar, with its stated normalisation
    assert "square-root" in bars[0].marker.colorbar.title.text
    assert "&lt;b&gt;cat&lt;/b&gt;" in [a.text for a in fig.layout.annotations][1]


def test_resize_kernel_keeps_the_centre() -> None:
    from explorer.basics import resize_kernel

    sobel = tuple(float(v) for row in KERNELS["vertical edges (Sobel x)"].weights for v in row)
    big = resize_kernel(sobel, 5)
    assert len(big) == 25 and big[6:9] == (-1.0, 0.0, 1.0) and sum(abs(v) for v in big) == 8
    assert resize_kernel(big, 3) == sobel
    assert resize_kernel(sobel, 1) == (0.0,)
    x = torch.rand(9, 9, dtype=torch.float64)
    same = convolve(x, torch.tensor(big).reshape(5, 5), padding=2)
    assert torch.allclose(same, convolve(x, torch.tensor(sobel).reshape(3, 3), padding=1))
    with pytest.raises(LayerSettingsError):
        resize_kernel(sobel, 4)
