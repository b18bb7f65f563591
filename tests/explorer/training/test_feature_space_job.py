"""Feature spaces side by side (explorer.training.feature_space_job): a run's features before and
after training, pretrained against scratch, and the one message for a dataset too small."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from explorer.probe.feature_vis import FeatureVisError
from explorer.training import feature_space_job as fsj
from explorer.training.fit import build_model, run_training
from explorer.training.settings import default_settings


def _drive(gen):
    """Run a job generator to its end; (events, return value)."""
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return events, stop.value


@pytest.mark.parametrize("arch,shape", [("lenet5", (1, 10, 28)), ("keras_cnn", (3, 1, 64))])
def test_the_before_recipe_is_the_runs_own_initialisation(arch: str, shape: tuple) -> None:
    run_model, build = build_model(arch, *shape, seed=7)  # what run_training starts from
    twin = fsj.build({"arch": arch, "build": build, "seed": 7})
    a, b = run_model.state_dict(), twin.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def trained():
    """A few training steps of LeNet-5 on the printed digits (40 steps of 32 images)."""
    s = dataclasses.replace(
        default_settings("lenet5", "digits"),
        train_samples=640,
        val_samples=20,
        epochs=2,
        batch_size=32,
        device="cpu",
        bf16=False,
    )
    _, result = _drive(run_training(s))
    return result


def test_a_few_training_steps_separate_the_classes_better_than_the_random_init(trained) -> None:
    request = fsj.before_after(5, trained, n=200)
    assert [t for t, _ in request.models] == [
        "Before training (random initialisation, seed 0)",
        "After training",
    ]
    assert request.default_layer in request.layers and request.data["dataset"] == "digits"
    events, result = _drive(
        fsj.run_feature_spaces(list(request.models), request.data, layer=request.default_layer)
    )
    assert [(e.done, e.total) for e in events] == [(0, 2), (0, 2), (1, 2), (2, 2)]
    (_, before), (_, after) = result.spaces
    assert before.layer == after.layer == request.default_layer
    assert before.points.shape == after.points.shape == (200, 2)
    assert result.images.shape == (200, 28, 28, 1) and result.images.dtype == np.uint8
    # measured: 73% at the random initialisation, 92% after 40 steps
    assert after.probe_accuracy >= before.probe_accuracy + 0.1, (
        before.probe_accuracy,
        after.probe_accuracy,
    )


def test_a_transfer_run_is_sent_to_the_transfer_panel(trained) -> None:
    run = dataclasses.replace(
        trained, settings=dataclasses.replace(trained.settings, source="bundled:lenet5")
    )
    with pytest.raises(FeatureVisError, match="against features learnt from scratch"):
        fsj.before_after(1, run)


def test_bundled_features_separate_the_new_classes_better_than_scratch() -> None:
    from explorer.training.transfer_weights import bundled_source

    request = fsj.pretrained_vs_scratch(bundled_source("resnet_small"), "circles_squares", n=120)
    assert request.data["size"] == 32 and not request.data["imagenet"]
    _, result = _drive(fsj.run_feature_spaces(list(request.models), request.data))
    (t1, pretrained), (t2, scratch) = result.spaces
    assert t1.startswith("Pretrained: ") and t2 == "From scratch: random initialisation"
    assert pretrained.probe_accuracy >= 0.9 and pretrained.probe_accuracy > scratch.probe_accuracy
    assert result.images.shape == (120, 64, 64, 3)  # shown as the dataset has them, not resized


def test_a_dataset_too_small_for_a_projection_gets_one_message() -> None:
    data = {"dataset": "digits", "n": 2, "seed": 0, "difficulty": 0.3}
    models = [("Random", {"arch": "lenet5", "build": {}, "seed": 0})]
    with pytest.raises(FeatureVisError) as err:
        _drive(fsj.run_feature_spaces(models, data))
    assert str(err.value) == "A 2-D projection needs at least 3 images; the dataset has 2."


def test_an_imagenet_source_sees_224_px_rgb_normalised_and_the_thumbnails_stay_as_they_are() -> (
    None
):
    import torch.nn.functional as F

    from explorer.data.datasets import load_dataset

    spec = {"dataset": "digits", "n": 8, "seed": 0, "difficulty": 0.3, "imagenet": True}
    x, y, _, mean, std, shown = fsj.load_test_images(spec)
    raw = load_dataset("digits", seed=0, difficulty=0.3, sizes=(1, 1, 8)).x_test
    big = F.interpolate(raw, size=(224, 224), mode="bilinear", antialias=True).clamp(0, 1)
    m = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    s = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert x.shape == (8, 3, 224, 224) and torch.allclose(x, (big.expand(-1, 3, -1, -1) - m) / s)
    assert mean is None and std is None  # normalised already
    assert shown.shape == (8, 28, 28, 1)
    assert np.array_equal(shown[..., 0], (raw[:, 0] * 255).round().to(torch.uint8).numpy())
