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


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 6 * 6, 4),
    ).eval()


@pytest.mark.parametrize("batch_size", [3, 7, None])
def test_integrated_gradients_batched_equals_one_input_at_a_time(batch_size) -> None:
    model = small_cnn()
    x = torch.randn(1, 3, 16, 16)
    one = attribute(model, x, target=2, method="integrated_gradients", steps=20, batch_size=1)
    batched = attribute(
        model, x, target=2, method="integrated_gradients", steps=20, batch_size=batch_size
    )
    assert np.abs(batched - one).max() <= 1e-5


def test_integrated_gradients_baseline_is_the_zero_input() -> None:
    """Completeness (Sundararajan et al.): attributions sum to F(x) - F(0) where 0 is the
    normalised zero input; checked through captum directly with the same baseline."""
    from captum.attr import IntegratedGradients

    model, weights = linear_model()
    x = torch.randn(1, 1, 4, 4)
    attr = IntegratedGradients(model).attribute(
        x, baselines=torch.zeros_like(x), target=0, n_steps=8
    )
    diff = model(x)[0, 0] - model(torch.zeros_like(x))[0, 0]
    assert torch.allclose(attr.sum(), diff, atol=1e-5)
    assert "mean-colour" in METHODS["integrated_gradients"].explanation


def test_progress_reports_every_batch_and_the_end() -> None:
    model = small_cnn()
    seen: list[tuple[int, int]] = []
    attribute(
        model,
        torch.randn(1, 3, 16, 16),
        target=0,
        method="integrated_gradients",
        steps=10,
        batch_size=4,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(0, 10), (4, 10), (8, 10), (10, 10)]


def test_a_stopped_attribution_raises_and_leaves_the_model_as_it_was() -> None:
    from explorer.probe.attribution import AttributionCancelled

    model = small_cnn().train()
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2  # let two batches run, stop before the third

    with pytest.raises(AttributionCancelled, match="stopped"):
        attribute(
            model,
            torch.randn(1, 3, 16, 16),
            target=0,
            method="integrated_gradients",
            steps=12,
            batch_size=4,
            should_stop=stop,
        )
    assert model.training and hook_count(model) == 0
    assert all(p.grad is None for p in model.parameters())


def test_steps_out_of_range_are_refused() -> None:
    model, _ = linear_model()
    with pytest.raises(AttributionError, match="Steps must be between 4 and 200, got 500"):
        attribute(model, torch.rand(1, 1, 4, 4), target=0, method="integrated_gradients", steps=500)


def test_estimate_counts_batched_passes() -> None:
    from explorer.probe.attribution import batches, estimate_seconds, measure_pass, passes

    assert passes("integrated_gradients", 50) == 50 and passes("saliency", 50) == 1
    assert batches("integrated_gradients", 50, 8) == 7 and batches("grad_cam", 50, 8) == 1
    assert estimate_seconds("integrated_gradients", 50, 10, 0.5) == pytest.approx(2.5)
    model = small_cnn().train()
    seconds = measure_pass(model, torch.randn(1, 3, 16, 16), target=1, batch_size=3)
    assert seconds > 0 and model.training
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients"])
def test_the_fast_gradient_mode_gives_captums_own_answer(method: str) -> None:
    """Parameters frozen and channels-last order while it runs: the same map as captum on the
    model as it is (float32, to 1e-5). A smooth model (tanh, average pooling): at a ReLU's or a
    max-pool's kink two memory orders may round to different sides, and the gradient jumps."""
    from captum.attr import IntegratedGradients, Saliency

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2),
        nn.Tanh(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 4),
    ).eval()
    x = torch.rand(1, 3, 32, 32)
    if method == "saliency":
        ref = (
            Saliency(model).attribute(x.clone().requires_grad_(True), target=2, abs=True)[0].sum(0)
        )
    else:
        ref = (
            IntegratedGradients(model)
            .attribute(x, baselines=torch.zeros_like(x), target=2, n_steps=8)[0]
            .abs()
            .sum(0)
        )
    ref = (ref / ref.max()).numpy()
    heat = attribute(model, x, target=2, method=method, steps=8, batch_size=4)
    np.testing.assert_allclose(heat, ref, atol=1e-5)


def test_parameters_and_memory_order_are_restored_also_after_an_error() -> None:
    model = small_cnn()
    model[0].weight.requires_grad_(False)  # one frozen tensor stays frozen, the rest train again
    with pytest.raises(AttributionError, match="Class 9 does not exist"):
        attribute(
            model, torch.randn(1, 3, 16, 16), target=9, method="integrated_gradients", steps=4
        )
    attribute(model, torch.randn(1, 3, 16, 16), target=0, method="integrated_gradients", steps=4)
    assert [p.requires_grad for p in model.parameters()] == [False] + [True] * (
        len(list(model.parameters())) - 1
    )
    assert all(p.is_contiguous() for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())


def test_bfloat16_maps_agree_with_float32_to_a_few_digits() -> None:
    torch.manual_seed(0)
    model = get_spec("resnet_small").build().eval()
    x = torch.rand(1, 3, 32, 32)
    exact = attribute(model, x, target=1, method="integrated_gradients", steps=8)
    fast = attribute(
        model, x, target=1, method="integrated_gradients", steps=8, precision="bfloat16"
    )
    assert fast.shape == exact.shape and fast.dtype == exact.dtype
    assert np.corrcoef(fast.ravel(), exact.ravel())[0, 1] > 0.95
    assert np.abs(fast - exact).max() < 0.2  # both in [0, 1]; bfloat16 keeps ~3 significant digits
    with pytest.raises(AttributionError, match="Unknown precision 'float8'"):
        attribute(model, x, target=1, method="saliency", precision="float8")


@pytest.mark.parametrize(
    ("method", "holds"), [("integrated_gradients", 3), ("saliency", 1), ("grad_cam", 1)]
)
def test_a_shared_model_is_held_one_pass_at_a_time(method: str, holds: int) -> None:
    """Integrated gradients holds the model (a shared model's lock) for one batch at a time, so
    other users wait one batch, not the whole run; nothing runs on the model outside a hold."""
    import contextlib

    model = small_cnn()
    held = {"now": False, "count": 0}
    outside = []

    @contextlib.contextmanager
    def hold():
        held["now"], held["count"] = True, held["count"] + 1
        try:
            yield
        finally:
            held["now"] = False

    model.register_forward_pre_hook(lambda *_: outside.append(not held["now"]))
    attribute(
        model,
        torch.randn(1, 3, 16, 16),
        target=1,
        method=method,
        steps=12,
        batch_size=4,
        outputs=4,
        layer="4",
        hold=hold,
    )
    assert held["count"] == holds and outside and not any(outside)
