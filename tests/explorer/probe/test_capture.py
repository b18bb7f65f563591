"""The one capture mechanism: exact layers, untouched tensors, no hook left behind."""

import pytest
import torch
from torch import nn

from explorer.models import get_spec
from explorer.probe import UnknownLayerError, capture, feature_layers, hooked
from explorer.probe.capture import hook_count


def test_capture_returns_exactly_the_requested_layers_in_order() -> None:
    model = get_spec("lenet5").build()
    x = torch.randn(2, 1, 32, 32)
    out = capture(model, x, ["3", "0", "11"])
    assert list(out) == ["3", "0", "11"]
    assert out["0"].shape == (2, 6, 28, 28)
    assert out["3"].shape == (2, 16, 10, 10)
    assert torch.allclose(out["11"], model(x))


def test_inplace_relu_does_not_overwrite_the_captured_conv_output() -> None:
    model = get_spec("alexnet").build().eval()  # torchvision: Conv2d then ReLU(inplace=True)
    assert model.features[1].inplace
    x = torch.randn(1, 3, 224, 224)
    out = capture(model, x, ["features.0", "features.1"])
    expected = model.features[0](x)
    assert torch.equal(out["features.0"], expected)
    assert (out["features.0"] < 0).any()  # still holds the negatives the ReLU removed
    assert torch.equal(out["features.1"], expected.clamp(min=0))


def test_googlenet_blocks_give_post_activation_maps() -> None:
    model = get_spec("googlenet").build().eval()
    names = [info.name for info in feature_layers(model)]
    assert names[:2] == ["conv1", "maxpool1"] and "inception3a" in names
    x = torch.randn(1, 3, 224, 224)
    out = capture(model, x, ["conv1", "conv1.bn"])
    assert torch.equal(out["conv1"], out["conv1.bn"].clamp(min=0))
    note = next(i.note for i in feature_layers(model) if i.name == "conv1")
    assert "ReLU" in note


def test_no_hook_survives_a_normal_pass_or_an_exception() -> None:
    model = get_spec("resnet18").build()
    before = hook_count(model)
    capture(model, torch.randn(1, 3, 64, 64), ["layer1.0", "layer4.1", "avgpool"])
    assert hook_count(model) == before
    with pytest.raises(RuntimeError), hooked(model, ["layer1.0", "fc"]):
        assert hook_count(model) == before + 2
        model(torch.randn(1, 5, 64, 64))  # wrong channel count: fails inside the forward pass
    assert hook_count(model) == before


class Boom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("boom")


def test_hooks_are_removed_when_a_layer_raises() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), Boom())
    with pytest.raises(ValueError, match="boom"):
        capture(model, torch.randn(1, 1, 8, 8), ["0", "1"])
    assert hook_count(model) == 0


def test_unknown_layer_is_a_clear_error() -> None:
    model = get_spec("lenet5").build()
    with pytest.raises(UnknownLayerError, match="Unknown layer 'conv9'"):
        capture(model, torch.randn(1, 1, 32, 32), ["conv9"])
    assert hook_count(model) == 0


def test_capture_restores_training_mode() -> None:
    model = get_spec("resnet_small").build().train()
    capture(model, torch.randn(2, 3, 32, 32), ["1"])
    assert model.training


def test_resnet_feature_layers_are_blocks_not_shared_relus() -> None:
    names = [i.name for i in feature_layers(get_spec("resnet18").build())]
    assert names == [
        "relu",
        "maxpool",
        "layer1.0",
        "layer1.1",
        "layer2.0",
        "layer2.1",
        "layer3.0",
        "layer3.1",
        "layer4.0",
        "layer4.1",
        "avgpool",
    ]
