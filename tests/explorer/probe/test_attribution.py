"""captum attributions on toy models whose gradients are known."""

import numpy as np
import pytest
import torch
from torch import nn

from explorer.models import get_spec
from explorer.probe.attribution import METHODS, AttributionError, attribute
from explorer.probe.capture import hook_count


def linear_model() -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(1 * 4 * 4, 3))
    return model, model[1].weight.detach().reshape(3, 4, 4)


def test_saliency_of_a_linear_model_is_its_weights() -> None:
    model, weights = linear_model()
    heat = attribute(model, torch.randn(1, 1, 4, 4), target=2, method="saliency")
    expected = weights[2].abs() / weights[2].abs().max()
    assert np.allclose(heat, expected.numpy(), atol=1e-6)


def test_integrated_gradients_of_a_linear_model_is_input_times_weight() -> None:
    model, weights = linear_model()
    x = torch.randn(1, 1, 4, 4)
    heat = attribute(model, x, target=1, method="integrated_gradients", steps=8)
    expected = (x[0, 0] * weights[1]).abs()
    assert np.allclose(heat, (expected / expected.max()).numpy(), atol=1e-5)


def test_grad_cam_lies_on_the_image_and_is_non_negative() -> None:
    model = get_spec("resnet_small").build()
    heat = attribute(model, torch.rand(1, 3, 32, 32), target=3, method="grad_cam", layer="7")
    assert heat.shape == (32, 32)
    assert heat.min() >= 0 and heat.max() <= 1


@pytest.mark.parametrize("method", list(METHODS))
def test_no_hook_survives_and_the_mode_is_restored(method: str) -> None:
    model = get_spec("lenet5").build().train()
    before = hook_count(model)
    attribute(model, torch.rand(1, 1, 32, 32), target=0, method=method, layer="3", steps=4)
    assert hook_count(model) == before
    assert model.training
    assert all(p.grad is None for p in model.parameters())  # only the input got gradients


def test_binary_model_has_one_target() -> None:
    model = get_spec("keras_cnn").build()
    attribute(model, torch.rand(1, 3, 64, 64), target=0, method="saliency")
    with pytest.raises(AttributionError, match="Class 1 does not exist: the model has 1 output"):
        attribute(model, torch.rand(1, 3, 64, 64), target=1, method="saliency")


def test_bad_method_and_layer_are_named() -> None:
    model, _ = linear_model()
    with pytest.raises(AttributionError, match="Unknown attribution method 'lime'"):
        attribute(model, torch.rand(1, 1, 4, 4), target=0, method="lime")
    with pytest.raises(AttributionError, match="Grad-CAM needs a feature-map layer; 'fc9'"):
        attribute(model, torch.rand(1, 1, 4, 4), target=0, method="grad_cam", layer="fc9")
