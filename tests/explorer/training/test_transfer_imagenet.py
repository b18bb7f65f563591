"""Transfer from ImageNet weights: found in the local cache only, the head replaced for the new
classes, every other tensor the file's, and the target data turned into what the weights expect.

The "ImageNet weights" here are a randomly initialised ResNet-18 that the test writes where
torchvision caches the real file (an empty TORCH_HOME per test): the loading code is the real
one, nothing touches the network."""

from __future__ import annotations

import pytest
import torch

from explorer.data.datasets import load_dataset
from explorer.data.images import IMAGENET_MEAN, IMAGENET_STD
from explorer.models import get_spec
from explorer.models.weights import WeightsUnavailableError, pretrained_cache_path
from explorer.training.transfer import to_imagenet_input
from explorer.training.transfer_weights import (
    TransferError,
    build_transfer_model,
    cached_imagenet_archs,
    imagenet_source,
)


@pytest.fixture
def cached_resnet18(offline_torch_home) -> dict[str, torch.Tensor]:
    spec = get_spec("resnet18")
    state = spec.build().state_dict()
    path = pretrained_cache_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


def test_only_cached_imagenet_weights_are_offered(offline_torch_home) -> None:
    assert cached_imagenet_archs(("resnet18", "vgg16", "lenet5")) == []
    with pytest.raises(WeightsUnavailableError, match="not in the local cache"):
        build_transfer_model(imagenet_source("resnet18"), 2, 1)


def test_a_cached_file_is_offered(cached_resnet18) -> None:
    assert cached_imagenet_archs(("resnet18", "vgg16", "lenet5")) == ["resnet18"]


def test_an_architecture_without_imagenet_weights_is_refused() -> None:
    with pytest.raises(TransferError, match="has no ImageNet weights"):
        imagenet_source("lenet5")


@pytest.mark.parametrize("num_classes", [1, 6])
def test_the_head_is_new_and_every_other_tensor_is_the_files(
    cached_resnet18, num_classes: int
) -> None:
    model, build, report = build_transfer_model(
        imagenet_source("resnet18"), num_classes, in_channels=1
    )
    state = model.state_dict()
    assert tuple(state["fc.weight"].shape) == (num_classes, 512) and tuple(
        state["fc.bias"].shape
    ) == (num_classes,)
    assert report["new"] == ["fc.weight", "fc.bias"] and report["adapted"] == []
    assert sorted(report["copied"]) == sorted(k for k in cached_resnet18 if not k.startswith("fc."))
    for name in report["copied"]:
        assert torch.equal(state[name], cached_resnet18[name]), name
    assert state["conv1.weight"].shape[1] == 3  # ImageNet weights keep their colour input
    # The fine-tuned model is an ordinary catalog model with another head: rebuilt from `build`.
    assert build == {"num_classes": num_classes}
    again = get_spec("resnet18").build(**build)
    again.load_state_dict(state)  # strict


def test_the_new_head_is_drawn_from_its_own_generator(cached_resnet18) -> None:
    """The same head whatever state the process-wide RNG is in (it is never seeded for it)."""
    torch.manual_seed(1)
    a, _, _ = build_transfer_model(imagenet_source("resnet18"), 3, 1)
    torch.manual_seed(2)
    b, _, _ = build_transfer_model(imagenet_source("resnet18"), 3, 1)
    assert torch.equal(a.fc.weight, b.fc.weight) and torch.equal(a.fc.bias, b.fc.bias)
    assert (
        a.fc.weight.abs().max() <= 1 / 512**0.5
    )  # torch's Linear default: U(-1/sqrt(fan_in), ...)


def test_grey_targets_become_normalised_colour_images() -> None:
    data = load_dataset("digits", seed=0, sizes=(4, 2, 2))
    assert data.x_train.shape[1] == 1
    out = to_imagenet_input(data)
    assert tuple(out.x_train.shape) == (4, 3, 224, 224) and tuple(out.x_test.shape) == (
        2,
        3,
        224,
        224,
    )
    assert torch.equal(out.y_train, data.y_train)
    # every channel is the same grey picture, normalised with that channel's mean and std
    grey = out.x_train[:, 0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]
    for c in (1, 2):
        torch.testing.assert_close(out.x_train[:, c] * IMAGENET_STD[c] + IMAGENET_MEAN[c], grey)
    assert float(grey.min()) >= 0.0 and float(grey.max()) <= 1.0


def test_imagenet_settings_name_a_catalog_model_with_weights() -> None:
    from explorer.training.settings import TrainSettings

    ok = TrainSettings(
        model="resnet18", dataset="digits", source="imagenet:resnet18", freeze="head"
    )
    assert ok.errors() == []
    bad = TrainSettings(model="lenet5", dataset="digits", source="imagenet:lenet5", freeze="head")
    assert bad.errors() == [
        "Unknown ImageNet source 'imagenet:lenet5': choose a catalog model with ImageNet weights."
    ]


def test_head_only_fine_tuning_from_imagenet_weights_changes_only_the_head(cached_resnet18) -> None:
    """A short real run: one step on 16 grey digits at 224 x 224; the backbone stays the file's."""
    from explorer.training.events import drain
    from explorer.training.settings import TrainSettings
    from explorer.training.transfer import TransferInfo, run_transfer

    settings = TrainSettings(
        model="resnet18",
        dataset="digits",
        source="imagenet:resnet18",
        freeze="head",
        optimizer="adam",
        lr=1e-2,
        batch_size=16,
        epochs=1,
        train_samples=16,
        val_samples=8,
        device="cpu",
    )
    small = load_dataset("digits", seed=0, sizes=(16, 8, 8))  # a small test split too
    events, result = drain(run_transfer(settings, imagenet_source("resnet18"), data=small))
    info = next(e for e in events if isinstance(e, TransferInfo))
    assert info.trainable == 512 * 10 + 10 and info.head == "fc" and info.image_size == 224
    state = result.model.state_dict()
    for name, value in cached_resnet18.items():
        if not name.startswith("fc."):
            assert torch.equal(state[name], value), name
    assert result.build == {"num_classes": 10} and result.arch == "resnet18"


def test_imagenet_fine_tuning_is_priced_in_memory_before_it_starts(monkeypatch) -> None:
    """The per-job memory limit covers full-size transfers: frozen weights carry no gradient or
    optimiser state, and a batch that would not fit is refused with the largest that does."""
    from explorer.training.limits import imagenet_transfer_memory
    from explorer.training.settings import TrainSettings

    head = imagenet_transfer_memory("resnet18", 10, "adam", "head")
    everything = imagenet_transfer_memory("resnet18", 10, "adam", "all")
    params = 11_181_642  # ResNet-18 with a 10-way head
    assert head.parameters == everything.parameters == params
    assert head.fixed_bytes == 4 * (
        params + 3 * 5_130
    )  # every weight, then the head's gradient and Adam's two states
    assert everything.fixed_bytes == 4 * params * 4
    assert head.per_image_bytes * 2 == everything.per_image_bytes  # nothing kept below the head
    monkeypatch.setenv("EXPLORER_JOB_MEMORY_MB", "1024")
    s = TrainSettings(
        model="resnet18", dataset="digits", source="imagenet:resnet18", freeze="all", batch_size=64
    )
    (problem,) = s.errors()
    assert (
        problem.startswith("A batch of 64 needs about")
        and "the largest batch size allowed is" in problem
    )
    assert (
        TrainSettings(
            model="resnet18",
            dataset="digits",
            source="imagenet:resnet18",
            freeze="head",
            batch_size=16,
        ).errors()
        == []
    )
