"""Layer summaries: shapes, parameters, MACs, receptive fields, all without real weights."""

import pytest
import torch
from torch import nn

from explorer.models import get_spec
from explorer.probe import summarize
from explorer.probe.receptive_field import Field, apply_window


def test_summary_builds_on_the_meta_device() -> None:
    seen = []

    def builder() -> nn.Module:
        model = get_spec("vgg16").build()
        seen.append(next(model.parameters()).device.type)
        return model

    summary = summarize(builder, (3, 224, 224))
    assert seen == ["meta"]
    assert summary.total_params == 138_357_544
    assert summary.row("features.0").out_shape == (64, 224, 224)
    assert summary.row("features.0").params == 3 * 64 * 9 + 64
    assert summary.row("features.0").macs == 64 * 224 * 224 * 3 * 9


def test_summary_of_a_real_module_matches_torch_shapes() -> None:
    model = get_spec("lenet5").build(image_size=28)
    summary = summarize(model, (1, 28, 28))
    x = torch.zeros(1, 1, 28, 28)
    for row, layer in zip(summary.rows, model, strict=True):
        x = layer(x)
        assert row.out_shape == tuple(x.shape[1:])


# Published receptive fields (Araujo et al., Distill 2019, "Computing receptive fields of CNNs").
@pytest.mark.parametrize(
    ("key", "layer", "size"),
    [
        ("vgg16", "features.30", 212),  # pool5
        ("alexnet", "features.12", 195),  # pool5
        ("resnet18", "layer4.1", 435),
    ],
)
def test_receptive_fields_match_published_values(key: str, layer: str, size: int) -> None:
    field = summarize(get_spec(key).build, (3, 224, 224)).row(layer).field
    assert field is not None and field.size == (size, size)


def test_receptive_field_arithmetic_of_one_layer() -> None:
    field = apply_window(Field((3.0, 3.0), (2.0, 2.0), (0.5, 0.5)), (3, 3), (2, 2), (1, 1), (2, 2))
    assert field.size == (3 + 2 * 2 * 2, 11)
    assert field.jump == (4.0, 4.0)
    assert field.start == (0.5 + (2 - 1) * 2, 2.5)


def test_residual_add_keeps_the_larger_field() -> None:
    summary = summarize(get_spec("resnet18").build, (3, 224, 224))
    block, conv2 = summary.row("layer2.0"), summary.row("layer2.0.conv2")
    downsample = summary.row("layer2.0.downsample.0")
    assert block.field == conv2.field
    assert downsample.field.size[0] < block.field.size[0]


def test_global_pool_sees_the_whole_image() -> None:
    summary = summarize(get_spec("resnet18").build, (3, 224, 224))
    assert summary.row("avgpool").rf_size == "whole image"
    assert summary.row("fc").field is None


class _OwnConv(nn.Module):
    """A leaf that convolves with its own functional call (as an imported model's layer may)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(4, 2, 5, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(x, self.weight, None, 2, (1, 0), 1, 2)


def test_the_window_columns_come_from_the_one_window_parser() -> None:
    # The table reads each layer's window from the torch call it made (explorer.probe.windows),
    # so "same" padding shows the padding torch applies, a layer of one's own gets its window,
    # and an in-place ReLU (which returns the convolution's own tensor) gets none.
    model = nn.Sequential(
        nn.Conv2d(2, 4, (3, 5), padding="same", dilation=2),
        nn.ReLU(inplace=True),
        _OwnConv(),
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        nn.AvgPool2d(2),
    )
    rows = {r["module"]: r for r in summarize(model, (2, 16, 16)).as_records()}
    assert [rows["0"][k] for k in ("kernel", "stride", "padding", "dilation", "groups")] == [
        "3x5",
        "1",
        "2x4",
        "2",
        "1",
    ]
    assert (rows["1"]["kernel"], rows["1"]["groups"], rows["1"]["ceil_mode"]) == ("", "", "")
    assert [rows["2"][k] for k in ("kernel", "stride", "padding", "groups")] == [
        "5x3",
        "2",
        "1x0",
        "2",
    ]
    assert [rows["3"][k] for k in ("kernel", "stride", "padding", "ceil_mode", "groups")] == [
        "3",
        "2",
        "1",
        "yes",
        "",
    ]
    assert (rows["4"]["kernel"], rows["4"]["stride"], rows["4"]["ceil_mode"]) == ("2", "2", "no")
