"""A checkpoint whose model reads a number of input channels the pages cannot feed is refused
when it is read, naming both counts (issue 24, "Also"), not when a page first runs an image."""

from __future__ import annotations

import pytest
import torch

from explorer.models import get_spec
from explorer.models.checkpoint import CheckpointMeta, model_from_checkpoint, save_checkpoint
from explorer.models.errors import CheckpointRefusedError


def _checkpoint(arch: str, build: dict) -> bytes:
    torch.manual_seed(0)
    model = get_spec(arch).build(**build)
    return save_checkpoint(model, CheckpointMeta(arch=arch, build=build))


def test_a_full_size_model_with_one_input_channel_is_refused_naming_both_counts() -> None:
    data = _checkpoint("nin", {"in_channels": 1})  # NiN reads 3-channel ImageNet images
    with pytest.raises(CheckpointRefusedError) as err:
        model_from_checkpoint(data, arch="nin")
    title = get_spec("nin").title
    assert str(err.value) == (
        f"This checkpoint's {title} reads 1 input channel, but {title} takes 3 (colour images): "
        "the explorer has no such images for it. Save it with in_channels=3."
    )


def test_a_compact_model_with_four_input_channels_is_refused() -> None:
    data = _checkpoint("keras_cnn", {"in_channels": 4, "num_classes": 3, "image_size": 32})
    with pytest.raises(CheckpointRefusedError) as err:
        model_from_checkpoint(data, arch="keras_cnn")
    title = get_spec("keras_cnn").title
    assert str(err.value) == (
        f"This checkpoint's {title} reads 4 input channels, but {title} takes 1 (grey images) or 3 "
        "(colour images): the explorer has no such images for it. Save it with in_channels=1 or 3."
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_grey_and_colour_compact_models_are_accepted(channels: int) -> None:
    data = _checkpoint("keras_cnn", {"in_channels": channels, "num_classes": 3, "image_size": 32})
    model, meta = model_from_checkpoint(data, arch="keras_cnn")
    assert model(torch.zeros(1, channels, 32, 32)).shape == (1, 3)
    assert meta.build["in_channels"] == channels
