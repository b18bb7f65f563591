"""The as-published AlexNet and GoogLeNet against numbers computed from the papers themselves.

Every reference below is typed in from the papers (AlexNet: Section 3.5 and Figure 2;
GoogLeNet: Table 1 and Section 5), never read from the code under test.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.models import get_spec
from explorer.models.published import alexnet2012, googlenet_v1


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out


def _fc(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# --- AlexNet 2012 ----------------------------------------------------------------------------

# Section 3.5: "96 kernels of size 11x11x3 ... 256 kernels of size 5x5x48 ... 384 kernels of
# size 3x3x256 ... 384 kernels of size 3x3x192 ... 256 kernels of size 3x3x192. The
# fully-connected layers have 4096 neurons each." The 48 and 192 are the per-GPU depths.
ALEXNET_2012_LAYERS = {
    "conv1": _conv(11, 3, 96),
    "conv2": _conv(5, 48, 256),
    "conv3": _conv(3, 256, 384),
    "conv4": _conv(3, 192, 384),
    "conv5": _conv(3, 192, 256),
    "fc6": _fc(6 * 6 * 256, 4096),
    "fc7": _fc(4096, 4096),
    "fc8": _fc(4096, 1000),
}


def test_alexnet2012_parameters_follow_the_papers_kernels() -> None:
    with torch.device("meta"):
        model = alexnet2012()
    named = dict(model.named_modules())
    for layer, expected in ALEXNET_2012_LAYERS.items():
        path = f"features.{layer}" if layer.startswith("conv") else f"classifier.{layer}"
        assert _params(named[path]) == expected, layer
    assert _params(model) == sum(ALEXNET_2012_LAYERS.values()) == 60_965_224
    with torch.device("meta"):
        torchvision_variant = get_spec("alexnet").build()
    assert _params(torchvision_variant) == 61_100_840  # "one weird trick" widths: a different net


def test_alexnet2012_shapes_match_figure_2() -> None:
    model = alexnet2012().eval()
    shapes = {}
    hooks = [
        m.register_forward_hook(
            lambda _m, _i, out, n=n: shapes.__setitem__(n, tuple(out.shape[1:]))
        )
        for n, m in model.features.named_children()
    ]
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, 3, 224, 224))
    finally:
        for h in hooks:
            h.remove()
    assert out.shape == (1, 1000)
    assert shapes["conv1"] == (96, 55, 55)
    assert shapes["pool1"] == (96, 27, 27) and shapes["conv2"] == (256, 27, 27)
    assert shapes["pool2"] == (256, 13, 13) and shapes["conv5"] == (256, 13, 13)
    assert shapes["pool5"] == (256, 6, 6)
    assert [
        getattr(model.features, n).groups for n in ("conv1", "conv2", "conv3", "conv4", "conv5")
    ] == [1, 2, 1, 2, 2]


def test_alexnet2012_lrn_is_the_papers_formula() -> None:
    # Section 3.3: b = a / (k + alpha * sum over n = 5 neighbouring maps of a^2)^beta,
    # k = 2, alpha = 1e-4, beta = 0.75 (alpha not divided by n).
    norm = alexnet2012().features.norm1
    a = torch.rand(1, 9, 2, 2) * 30
    sq = torch.nn.functional.pad(a**2, (0, 0, 0, 0, 2, 2))
    window = torch.stack([sq[:, i : i + 9] for i in range(5)]).sum(0)
    expected = a / (2 + 1e-4 * window) ** 0.75
    torch.testing.assert_close(norm(a), expected)


# --- GoogLeNet / Inception v1 -----------------------------------------------------------------

# Table 1 rows: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj, and the "params" column
# (in K = 1024 weights; biases not counted).
TABLE_1 = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32, 159),
    "inception3b": (256, 128, 128, 192, 32, 96, 64, 380),
    "inception4a": (480, 192, 96, 208, 16, 48, 64, 364),
    "inception4b": (512, 160, 112, 224, 24, 64, 64, 437),
    "inception4c": (512, 128, 128, 256, 24, 64, 64, 463),
    "inception4d": (512, 112, 144, 288, 32, 64, 64, 580),
    "inception4e": (528, 256, 160, 320, 32, 128, 128, 840),
    "inception5a": (832, 256, 160, 320, 32, 128, 128, 1072),
    "inception5b": (832, 384, 192, 384, 48, 128, 128, 1388),
}  # the first number is the module's input depth (the previous row's output)
TABLE_1_OUTPUT_DEPTH = {
    "inception3a": 256,
    "inception3b": 480,
    "inception4a": 512,
    "inception4b": 512,
    "inception4c": 512,
    "inception4d": 528,
    "inception4e": 832,
    "inception5a": 832,
    "inception5b": 1024,
}


def _inception(c_in: int, c1: int, r3: int, c3: int, r5: int, c5: int, pp: int, bias: bool) -> int:
    b = int(bias)
    return (
        (c_in + b) * c1
        + (c_in + b) * r3
        + (9 * r3 + b) * c3
        + (c_in + b) * r5
        + (25 * r5 + b) * c5
        + (c_in + b) * pp
    )


def _weights_only(module: nn.Module) -> int:
    return sum(p.numel() for n, p in module.named_parameters() if n.endswith("weight"))


def test_googlenet_v1_inception_modules_match_table_1() -> None:
    with torch.device("meta"):
        model = googlenet_v1()
    for name, row in TABLE_1.items():
        module = getattr(model, name)
        assert (
            module.out_channels == TABLE_1_OUTPUT_DEPTH[name] == sum(row[i] for i in (1, 3, 5, 6))
        )
        assert _params(module) == _inception(*row[:7], bias=True), name
        # The table's "params" column (weights in units of 1024) is only approximate in the paper
        # itself: its own channel columns give 3a-4b within 1%, 4c 7% more and 5a 5% fewer.
        assert _weights_only(module) / 1024 == pytest.approx(row[7], rel=0.08), name


def test_googlenet_v1_total_parameters_from_table_1() -> None:
    stem = (
        _conv(7, 3, 64) + _conv(1, 64, 64) + _conv(3, 64, 192)
    )  # conv 7x7/2; conv 3x3 with reduce 64
    inceptions = sum(_inception(*row[:7], bias=True) for row in TABLE_1.values())
    classifier = _fc(1024, 1000)  # "linear" row: 1000K weights
    expected = stem + inceptions + classifier
    with torch.device("meta"):
        model = googlenet_v1()
        with_aux = googlenet_v1(aux_logits=True)
    assert _params(model) == expected == 6_998_552
    # Section 5: 5x5/3 average pool -> 4x4, 1x1 conv with 128 filters, fc 1024, fc to 1000 classes.
    aux = lambda c_in: _conv(1, c_in, 128) + _fc(4 * 4 * 128, 1024) + _fc(1024, 1000)  # noqa: E731
    assert _params(with_aux) == expected + aux(512) + aux(528)
    # torchvision's variant (3x3 in the "5x5" branch, batch norm) is a different network.
    with torch.device("meta"):
        assert _params(get_spec("googlenet").build()) == 6_624_904


def test_googlenet_v1_has_real_5x5_branches_and_no_batch_norm() -> None:
    model = googlenet_v1()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    for name in TABLE_1:
        five = [m for m in getattr(model, name).b3.modules() if isinstance(m, nn.Conv2d)][-1]
        assert five.kernel_size == (5, 5) and five.padding == (2, 2)
    tv = get_spec("googlenet").build()
    tv_five = [m for m in tv.inception3a.branch3.modules() if isinstance(m, nn.Conv2d)][-1]
    assert tv_five.kernel_size == (3, 3)  # the deviation the card has to state


def test_googlenet_v1_sizes_and_auxiliary_heads() -> None:
    model = googlenet_v1(aux_logits=True)
    x = torch.zeros(2, 3, 224, 224)
    model.train()
    logits, aux1, aux2 = model(x)
    assert logits.shape == aux1.shape == aux2.shape == (2, 1000)
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (2, 1000)  # heads are for training only
    sizes = {}
    hooks = [
        getattr(model, n).register_forward_hook(
            lambda _m, _i, out, n=n: sizes.__setitem__(n, out.shape[-1])
        )
        for n in ("pool1", "pool2", "inception3b", "pool3", "inception4e", "pool4", "inception5b")
    ]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for h in hooks:
            h.remove()
    assert sizes == {
        "pool1": 56,
        "pool2": 28,
        "inception3b": 28,
        "pool3": 14,
        "inception4e": 14,
        "pool4": 7,
        "inception5b": 7,
    }


@pytest.mark.parametrize(
    ("key", "twin"), [("alexnet2012", "alexnet"), ("googlenet_v1", "googlenet")]
)
def test_as_published_entries_are_registered_beside_torchvisions(key: str, twin: str) -> None:
    spec, other = get_spec(key), get_spec(twin)
    assert spec.twin == twin and other.twin == key
    assert spec.family == other.family and spec.year == other.year and spec.paper == other.paper
    assert spec.weights is None and other.weights is not None
    assert "as published" in spec.title and "torchvision" in other.variant


def test_compare_variants_lines_up_the_differences() -> None:
    from explorer.probe.variants import compare_variants

    rows = {r[""]: r for r in compare_variants("alexnet")}
    tv, paper = "AlexNet", "AlexNet (2012, as published)"
    assert rows["filters of the first five convolutions"][tv] == "64/192/384/256/256"
    assert rows["filters of the first five convolutions"][paper] == "96/256/384/384/256"
    assert (
        rows["grouped convolutions (two GPUs)"][paper] == "3"
        and rows["batch norm layers"][paper] == "0"
    )
    assert rows["local response normalisation layers"][paper] == "2"
    assert rows["parameters"][paper] == "60,965,224"
    rows = {r[""]: r for r in compare_variants("googlenet_v1")}
    tv, paper = "GoogLeNet (Inception v1, torchvision)", "GoogLeNet (Inception v1, as published)"
    assert "5x5" in rows["kernel sizes"][paper] and "5x5" not in rows["kernel sizes"][tv]
    assert rows["batch norm layers"][tv] == "57" and rows["batch norm layers"][paper] == "0"
    with pytest.raises(ValueError, match="no other definition"):
        compare_variants("vgg16")
