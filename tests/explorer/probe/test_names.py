"""Paper-style layer names: the published conventions, unique, stable across input sizes."""

import pytest
import torch

from explorer.models import catalog, get_spec
from explorer.probe import UnknownLayerError
from explorer.probe.names import display_name, layer_names, resolve_layer


def _meta(key: str, **kwargs: object) -> torch.nn.Module:
    with torch.device("meta"):
        return get_spec(key).build(**kwargs)


def _names(key: str) -> dict[str, str]:
    return layer_names(_meta(key), key)


@pytest.mark.parametrize("key", [s.key for s in catalog(kind="cnn")])
def test_names_are_unique_and_never_another_modules_path(key: str) -> None:
    model = _meta(key)
    names = layer_names(model, key)
    paths = [p for p, _ in model.named_modules() if p]
    assert list(names) == paths
    assert len(set(names.values())) == len(names)
    for path, name in names.items():
        assert name == path or name not in names, (path, name)
        assert resolve_layer(model, name, key) == path
        assert resolve_layer(model, path, key) == path


def test_vgg16_uses_the_paper_names() -> None:
    names = _names("vgg16")
    convs = [n for n in names.values() if n.startswith("conv")]
    assert convs == [
        f"conv{b}_{i}" for b, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)) for i in range(1, n + 1)
    ]
    assert names["features.28"] == "conv5_3"
    assert names["features.29"] == "relu5_3"
    assert [names[f"features.{i}"] for i in (4, 9, 16, 23, 30)] == [
        "pool1",
        "pool2",
        "pool3",
        "pool4",
        "pool5",
    ]
    assert [names[f"classifier.{i}"] for i in (0, 3, 6)] == ["fc6", "fc7", "fc8"]


def test_alexnet_names_pools_after_their_convolution() -> None:
    names = _names("alexnet")
    assert [names[f"features.{i}"] for i in (0, 3, 6, 8, 10)] == [
        "conv1",
        "conv2",
        "conv3",
        "conv4",
        "conv5",
    ]
    assert [names[f"features.{i}"] for i in (2, 5, 12)] == ["pool1", "pool2", "pool5"]
    assert [names[f"classifier.{i}"] for i in (1, 4, 6)] == ["fc6", "fc7", "fc8"]


def test_lenet_letters_and_keras_names() -> None:
    lenet = _names("lenet5")
    assert [lenet[p] for p in ("0", "2", "3", "5", "7", "9", "11")] == [
        "C1",
        "S2",
        "C3",
        "S4",
        "C5",
        "F6",
        "output",
    ]
    keras = _names("keras_cnn")
    assert [keras[p] for p in ("0", "2", "3", "5", "6", "7", "9")] == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "flatten",
        "dense1",
        "out",
    ]


def test_googlenet_inception_modules_and_branches() -> None:
    names = _names("googlenet")
    modules = [n for n in names.values() if n.startswith("inception") and "/" not in n]
    assert modules == [
        "inception3a",
        "inception3b",
        "inception4a",
        "inception4b",
        "inception4c",
        "inception4d",
        "inception4e",
        "inception5a",
        "inception5b",
    ]
    assert names["inception3a.branch1"] == "inception3a/1x1"
    assert names["inception4c.branch2.0"] == "inception4c/3x3_reduce"
    assert names["inception4c.branch2.1"] == "inception4c/3x3"
    assert names["inception5b.branch3.1"] == "inception5b/5x5"
    assert names["inception3a.branch4.0"] == "inception3a/pool"
    assert names["inception3a.branch4.1"] == "inception3a/pool_proj"
    assert [names[p] for p in ("maxpool1", "maxpool2", "maxpool3", "maxpool4")] == [
        "pool1",
        "pool2",
        "pool3",
        "pool4",
    ]
    compact = _names("googlenet_small")
    assert [n for n in compact.values() if n.startswith("inception") and "/" not in n] == [
        "inception3a",
        "inception3b",
        "inception4a",
        "inception4b",
    ]
    assert compact["2.b2.2"] == "inception3a/3x3"


def test_resnet_stages_and_blocks() -> None:
    names = _names("resnet18")
    assert names["layer2.1"] == "stage2.block2"
    assert display_name(names["layer2.1"]) == "stage 2, block 2"
    assert names["layer3.0.downsample.0"] == "stage3.block1/shortcut/conv"
    assert names["conv1"] == "conv1" and names["fc"] == "fc" and names["avgpool"] == "gap"
    blocks50 = [n for n in _names("resnet50").values() if n.count(".") == 1 and "/" not in n]
    assert len(blocks50) == 16 and blocks50[-1] == "stage4.block3"
    # Compact ResNet has no stage containers: a block that changes stride or width opens a stage.
    small = _names("resnet_small")
    assert [small[str(i)] for i in range(2, 8)] == [
        "stage1.block1",
        "stage1.block2",
        "stage2.block1",
        "stage2.block2",
        "stage3.block1",
        "stage3.block2",
    ]


def test_nin_blocks_use_caffe_names() -> None:
    names = _names("nin")
    assert [names[p] for p in ("0", "0.0", "0.2", "0.4", "2.2", "7.4")] == [
        "mlpconv1",
        "conv1",
        "cccp1",
        "cccp2",
        "cccp3",
        "cccp8",
    ]


@pytest.mark.parametrize("key", [s.key for s in catalog(kind="cnn", compact=True)])
def test_names_are_stable_across_input_sizes(key: str) -> None:
    grey = layer_names(_meta(key, in_channels=1, image_size=28), key)
    colour = layer_names(_meta(key, in_channels=3, image_size=32), key)
    assert grey == colour


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(UnknownLayerError, match="Unknown layer 'conv9_9'"):
        resolve_layer(_meta("vgg16"), "conv9_9", "vgg16")


def test_names_without_a_catalog_key_are_guessed_from_structure() -> None:
    assert layer_names(_meta("vgg16"))["features.28"] == "conv5_3"
    assert layer_names(_meta("resnet18"))["layer4.1"] == "stage4.block2"
