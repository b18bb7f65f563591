"""The catalog against published figures and exact shapes."""

import pytest
import torch

from explorer.models import CATALOG, catalog, get_spec
from explorer.probe import summarize

# Published parameter counts (torchvision's model docs; LeNet-5: 6-16-120-84-10 on 32x32).
PUBLISHED_PARAMS = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "googlenet": 6_624_904,  # without the auxiliary heads
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "lenet5": 61_706,
}


@pytest.mark.parametrize(("key", "expected"), PUBLISHED_PARAMS.items())
def test_published_parameter_counts(key: str, expected: int) -> None:
    spec = get_spec(key)
    with torch.device("meta"):
        model = spec.build()
    assert sum(p.numel() for p in model.parameters()) == expected


def test_nin_parameters_follow_the_layer_arithmetic() -> None:
    def block(c_in, c_out, k):
        return (c_in * k * k + 1) * c_out + 2 * (c_out * c_out + c_out)

    expected = block(3, 96, 11) + block(96, 256, 5) + block(256, 384, 3) + block(384, 1000, 3)
    with torch.device("meta"):
        model = get_spec("nin").build()
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize(
    "spec",
    [s for s in catalog(kind="cnn", compact=False) if s.key != "lenet5_1998"],
    ids=lambda s: s.key,
)
def test_full_models_map_224_to_1000_classes(spec) -> None:
    summary = summarize(spec.build, (3, 224, 224))
    assert summary.output_shape == (1000,)
    assert summary.input_shape == (3, 224, 224)


def test_resnet18_macs_match_the_published_figure() -> None:
    summary = summarize(get_spec("resnet18").build, (3, 224, 224))
    assert summary.total_macs == pytest.approx(1.814e9, rel=0.02)


@pytest.mark.parametrize(
    "spec",
    [s for s in catalog(kind="cnn", compact=True) if s.key != "keras_cnn"],
    ids=lambda s: s.key,
)
@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32)])
def test_compact_models_train_on_grey_28_and_colour_32(spec, channels: int, size: int) -> None:
    model = spec.build(in_channels=channels, image_size=size, num_classes=7).eval()
    with torch.no_grad():
        out = model(torch.randn(2, channels, size, size))
    assert out.shape == (2, 7)


def test_keras_cnn_is_the_course_example() -> None:
    model = get_spec("keras_cnn").build()
    layers = [type(m).__name__ for m in model]
    assert layers == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert [m.out_channels for m in model if isinstance(m, torch.nn.Conv2d)] == [32, 64]
    assert model[7].out_features == 128 and model[9].out_features == 1
    assert model(torch.zeros(3, 3, 64, 64)).shape == (3, 1)
    assert get_spec("keras_cnn").task == "binary"


def test_plain_and_residual_twins_have_the_same_depth() -> None:
    def convs(key):
        model = get_spec(key).build()
        return [
            m
            for name, m in model.named_modules()
            if isinstance(m, torch.nn.Conv2d) and "shortcut" not in name
        ]

    assert len(convs("plain_deep")) == len(convs("residual_deep")) == 19


def test_every_entry_has_its_card() -> None:
    for spec in CATALOG.values():
        assert spec.title and spec.family and spec.paper and spec.idea.endswith(".")
        assert spec.year is None if spec.key == "keras_cnn" else 1980 < spec.year < 2030
    ideas = {s.family: s.idea for s in catalog(kind="cnn", compact=False)}
    assert "ReLU" in ideas["AlexNet"] and "3x3" in ideas["VGG"] and "1x1" in ideas["NiN"]
    assert "branches" in ideas["GoogLeNet"] and "Residual" in ideas["ResNet"]


def test_recurrent_family_is_registered() -> None:
    assert {s.key for s in catalog(kind="rnn")} == {"rnn", "stacked_rnn", "birnn", "gru", "lstm"}


def test_unknown_key_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="Unknown architecture 'resnet9'.*lenet5"):
        get_spec("resnet9")
