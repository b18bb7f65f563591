"""A model's title counts its layers from its build arguments (issue 24, "Also"): a 30-block
residual twin has 62 weight layers, not the catalog default's 20."""

from __future__ import annotations

import pytest
from torch import nn

from explorer.models import get_spec
from explorer.models.plan import built_title


def _weight_layers(arch: str, build: dict) -> int:
    model = get_spec(arch).build(**build)
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


@pytest.mark.parametrize(
    ("arch", "blocks"), [("residual_deep", 30), ("plain_deep", 3), ("residual_deep", 9)]
)
def test_the_twins_title_counts_the_layers_of_their_build(arch: str, blocks: int) -> None:
    title = built_title(arch, {"blocks": blocks})
    n = _weight_layers(arch, {"blocks": blocks})
    assert n == 2 * blocks + 2  # a stem, two convolutions per block, the dense layer
    assert title == get_spec(arch).title.replace("(20 layers)", f"({n} layers)")


def test_the_default_build_and_other_models_keep_the_catalog_title() -> None:
    assert (
        built_title("residual_deep", {})
        == get_spec("residual_deep").title
        == "Its residual twin (20 layers)"
    )
    assert built_title("lenet5", {"num_classes": 3}) == get_spec("lenet5").title
    assert built_title("resnet18", {}) == get_spec("resnet18").title
