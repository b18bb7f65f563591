"""The input recipe of a catalog model: torchvision's ImageNet recipe for full-size models,
the compact models' own size and channels without normalisation (as their datasets were)."""

from __future__ import annotations

import pytest

from explorer.models import get_spec
from explorer.probe.inputs import class_names_for, preprocessing_for


def test_imagenet_models_get_torchvisions_recipe() -> None:
    prep = preprocessing_for("resnet18")
    assert (prep.size, prep.channels, prep.resize) == (224, 3, 256)  # 256 / 224 * 224
    assert prep.mean == pytest.approx((0.485, 0.456, 0.406)) and prep.std == pytest.approx(
        (0.229, 0.224, 0.225)
    )
    assert preprocessing_for(get_spec("resnet18")) == prep  # a spec or its key


def test_compact_models_follow_their_build_arguments() -> None:
    prep = preprocessing_for("lenet5")  # the catalog's 1 x 32 x 32
    assert (prep.size, prep.channels, prep.resize, prep.mean, prep.std) == (32, 1, None, None, None)
    prep = preprocessing_for("lenet5", {"image_size": 28, "in_channels": 3})  # e.g. a user's model
    assert (prep.size, prep.channels, prep.name) == (28, 3, "compact")


def test_class_names_only_for_imagenet_models() -> None:
    names = class_names_for("resnet18")
    assert names is not None and len(names) == 1000 and names[0] == "tench"
    assert class_names_for("lenet5") is None
