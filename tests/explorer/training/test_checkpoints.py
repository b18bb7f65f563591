"""Checkpoints: safetensors + "explorer" JSON metadata; round trip; clear errors on bad files."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.training.checkpoints import (
    CheckpointError,
    CheckpointMeta,
    load_checkpoint,
    load_state_strict,
    model_from_checkpoint,
    save_checkpoint,
)
from explorer.training.settings import TrainSettings
from tests.explorer.training.conftest import tiny_cnn


def meta(**kw) -> CheckpointMeta:
    base = dict(arch="lenet5", build={"in_channels": 1, "num_classes": 10, "image_size": 28},
                classes=[str(i) for i in range(10)], dataset="digits",
                settings=TrainSettings(model="lenet5", dataset="digits").to_dict(),
                metrics={"test_accuracy": 0.97})  # fmt: skip
    return CheckpointMeta(**{**base, **kw})


def test_round_trip_gives_identical_weights_and_outputs():
    from explorer.models import get_spec

    torch.manual_seed(0)
    m = meta()
    model = get_spec("lenet5").build(**m.build).eval()
    data = save_checkpoint(model, m)
    state, back = load_checkpoint(data)
    assert back == m
    assert state.keys() == model.state_dict().keys()
    for k, v in model.state_dict().items():
        assert torch.equal(state[k], v)
    rebuilt, meta2 = model_from_checkpoint(data)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(rebuilt(x), model(x))
    assert meta2.metrics["test_accuracy"] == 0.97


def test_metadata_is_json_under_the_explorer_key():
    data = save_checkpoint(tiny_cnn(), meta(arch="tiny"))
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    stored = json.loads(header["__metadata__"]["explorer"])
    assert stored["arch"] == "tiny" and stored["format"] == 1
    assert set(stored) == {"arch", "build", "classes", "dataset", "settings", "metrics", "format"}


def test_garbage_empty_and_foreign_files_get_clear_errors():
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(b"")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(b"\x80\x04\x95 this is a pickle, not safetensors")
    from safetensors.torch import save

    foreign = save({"w": torch.zeros(2)})
    with pytest.raises(CheckpointError, match="no 'explorer' metadata"):
        load_checkpoint(foreign)


def test_unknown_architecture_and_mismatched_shapes_are_named():
    data = save_checkpoint(tiny_cnn(), meta(arch="nonexistent_net"))
    with pytest.raises(CheckpointError, match="Unknown architecture 'nonexistent_net'"):
        model_from_checkpoint(data)
    from explorer.models import get_spec

    model = get_spec("lenet5").build(in_channels=1, num_classes=10, image_size=28)
    state = dict(model.state_dict())
    state["0.weight"] = torch.zeros(6, 3, 5, 5)
    with pytest.raises(CheckpointError, match=r"'0.weight' has shape \(6, 3, 5, 5\) in the checkpoint but \(6, 1, 5, 5\) in the model"):
        load_state_strict(model, state)
    del state["0.weight"]
    with pytest.raises(CheckpointError, match=r"key '0.weight' \(shape \(6, 1, 5, 5\)\) is missing from the checkpoint"):
        load_state_strict(model, state)


def test_newer_format_is_refused():
    data = save_checkpoint(tiny_cnn(), meta(format=99))
    with pytest.raises(CheckpointError, match="format 99, newer"):
        load_checkpoint(data)
