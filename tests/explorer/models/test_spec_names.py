"""Node names of a model spec against nn.Module's own attributes: the spec module is read by the
import's torch-free child process, so it lists them itself; this holds the list to torch."""

from __future__ import annotations

import json

import pytest
from torch import nn

from explorer.models.spec import NAME_RE, RESERVED, ModelSpec
from explorer.models.spec_args import SpecError
from explorer.models.spec_modules import build_model


def _spec(name: object) -> str:
    return json.dumps(
        {
            "format": 1,
            "input_shape": [1, 4, 4],
            "output": name,
            "nodes": [{"name": name, "op": "flatten", "inputs": ["input"], "args": {}}],
        }
    )


def test_reserved_covers_every_public_attribute_of_nn_module() -> None:
    public = {n for n in dir(nn.Module) if NAME_RE.match(n)}
    assert public - RESERVED == set()
    assert {"input", "spec"} <= RESERVED


def test_a_plain_name_builds() -> None:
    model = build_model(ModelSpec.from_json(_spec("flat")))
    assert [n for n, _ in model.named_children()] == ["flat"]


@pytest.mark.parametrize("name", ["double", "register_module", "to_empty", "spec", "input"])
def test_a_node_named_like_a_module_attribute_is_refused_by_the_spec(name: str) -> None:
    with pytest.raises(SpecError) as err:
        ModelSpec.from_json(_spec(name))
    assert str(err.value) == (
        f"The node name {name!r} is taken: every PyTorch model has an attribute of that name."
    )


def test_an_unhashable_name_gets_the_name_message() -> None:
    with pytest.raises(SpecError, match="is not usable"):
        ModelSpec.from_json(_spec(["a"]))
