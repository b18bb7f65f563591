"""Weight sources without a network: the real loading code on files the tests write."""

import pytest
import torch

from explorer.models import get_spec
from explorer.models.weights import (
    CheckpointMismatchError,
    WeightsUnavailableError,
    load_pretrained,
    load_state_strict,
    pretrained_available,
    pretrained_cache_path,
)


def test_missing_weights_raise_a_clear_typed_error(offline_torch_home) -> None:
    spec = get_spec("resnet18")
    assert not pretrained_available(spec)
    with pytest.raises(WeightsUnavailableError, match="not in the local cache"):
        load_pretrained(spec)


def test_cached_weights_load_from_torch_home(offline_torch_home) -> None:
    spec = get_spec("resnet18")
    reference = spec.build()
    path = pretrained_cache_path(spec)
    assert str(path).startswith(str(offline_torch_home))
    assert path.name == "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model = load_pretrained(spec)
    assert not model.training
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)


def test_googlenet_cache_with_auxiliary_heads_loads(offline_torch_home) -> None:
    spec = get_spec("googlenet")
    from torchvision.models import googlenet

    full = googlenet(weights=None, aux_logits=True, init_weights=False)
    path = pretrained_cache_path(spec)
    path.parent.mkdir(parents=True)
    torch.save(full.state_dict(), path)
    model = load_pretrained(spec)
    assert model.transform_input
    assert torch.equal(model.conv1.conv.weight, full.conv1.conv.weight)


def test_corrupt_cache_file_is_reported(offline_torch_home) -> None:
    spec = get_spec("alexnet")
    path = pretrained_cache_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="could not be read"):
        load_pretrained(spec)


def test_a_pickle_in_the_cache_is_never_executed(offline_torch_home, tmp_path) -> None:
    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    spec = get_spec("resnet18")
    path = pretrained_cache_path(spec)
    path.parent.mkdir(parents=True)
    torch.save({"x": Evil()}, path)
    with pytest.raises(WeightsUnavailableError):
        load_pretrained(spec)
    assert not (tmp_path / "pwned").exists()


def test_mismatch_names_the_first_bad_key_and_both_shapes() -> None:
    model = get_spec("lenet5").build()
    state = model.state_dict()
    state["0.weight"] = torch.zeros(6, 3, 5, 5)
    with pytest.raises(CheckpointMismatchError) as err:
        load_state_strict(model, state)
    assert str(err.value) == (
        "The checkpoint does not fit this architecture: '0.weight' has shape (6, 3, 5, 5) "
        "in the checkpoint but (6, 1, 5, 5) in the model."
    )


def test_missing_and_unexpected_keys_are_named() -> None:
    model = get_spec("lenet5").build()
    state = model.state_dict()
    del state["3.bias"]
    with pytest.raises(CheckpointMismatchError, match=r"key '3.bias' \(shape \(16,\)\) is missing"):
        load_state_strict(model, state)
    state = {**model.state_dict(), "extra.weight": torch.zeros(2)}
    with pytest.raises(CheckpointMismatchError, match="unexpected key 'extra.weight'"):
        load_state_strict(model, state)
