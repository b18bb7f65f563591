"""Generated PyTorch code runs as printed and builds the catalog's model."""

import pytest
import torch
from torch import nn

from explorer.models.catalog import catalog, get_spec
from explorer.probe.codegen import CodegenError, pytorch_code
from explorer.probe.keras_twin import KERAS_PAIRS, keras_code, keras_twin_code, keras_twin_model

TRAINABLE = [s.key for s in catalog(kind="cnn", compact=True)]
LARGE = [s.key for s in catalog(kind="cnn", compact=False)]


def _run(code: str) -> nn.Module:
    namespace: dict[str, object] = {"__name__": "generated"}
    exec(compile(code, "<generated>", "exec"), namespace)  # a fresh namespace: torch only
    model = namespace["model"]
    assert isinstance(model, nn.Module)
    return model


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("key", TRAINABLE)
def test_generated_code_builds_the_trainable_model(key: str) -> None:
    spec = get_spec(key)
    generated = pytorch_code(key)
    assert "explorer" not in generated.code.split('"""', 2)[2]  # standalone: imports torch only
    model = _run(generated.code)
    reference = spec.build()
    assert _params(model) == _params(reference) == generated.params
    # same layers in the same order: the catalog's weights load into the printed model
    model.load_state_dict(reference.state_dict())
    model.eval()
    reference.eval()
    x = torch.randn(2, *spec.input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out, ref = model(x), reference(x)
    assert tuple(out.shape[1:]) == generated.out_shape[1:] == tuple(ref.shape[1:])
    assert torch.allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize("key", LARGE)
def test_generated_code_of_large_models_matches_on_the_meta_device(key: str) -> None:
    spec = get_spec(key)
    generated = pytorch_code(key)
    with torch.device("meta"):
        model = _run(generated.code)
        reference = spec.build()
    assert _params(model) == _params(reference) == generated.params
    model.eval()
    out = model(torch.empty(1, *spec.input_shape, device="meta"))
    out = out[0] if isinstance(out, tuple) else out
    assert tuple(out.shape) == generated.out_shape == (1, spec.num_classes)


def test_lenet_code_reads_like_the_paper() -> None:
    code = pytorch_code("lenet5").code
    assert "nn.Conv2d(1, 6, 5),  # -> 6 x 28 x 28" in code
    assert "nn.MaxPool2d(2),  # -> 16 x 5 x 5" in code
    assert "# 61,706" in code


@pytest.mark.parametrize("key", [s.key for s in catalog(kind="rnn")])
def test_recurrent_code_is_the_same_network(key: str) -> None:
    generated = pytorch_code(key)
    model = _run(generated.code)
    reference = get_spec(key).build()
    assert _params(model) == _params(reference) == generated.params
    model.load_state_dict(reference.state_dict())  # the explicit cells' weights, as they are
    x = torch.randn(*generated.in_shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out, ref = model(x)[0], reference(x)[0]
    assert tuple(out.shape) == generated.out_shape
    assert torch.allclose(out, ref, atol=1e-5)


def test_unknown_models_get_a_sentence() -> None:
    with pytest.raises(KeyError, match="Unknown architecture"):
        pytorch_code("no_such_model")
    assert issubclass(CodegenError, RuntimeError)


def test_keras_code_is_the_course_model() -> None:
    code = keras_code()
    for line in (
        "model.add(Conv2D(32, (3,3), activation='relu', input_shape=(64,64,3)))",
        "model.add(Dense(1, activation='sigmoid'))",
        "model.compile(",
        "model.fit(",
    ):
        assert line in code  # the course's exact text is held in tests/explorer/test_fidelity.py
    assert "model.append(nn.Conv2d(3, 32, 3)).append(nn.ReLU())" in keras_twin_code()
    assert "nn.BCEWithLogitsLoss()" in keras_twin_code()


def test_keras_twin_is_the_catalog_model() -> None:
    twin = keras_twin_model()
    reference = get_spec("keras_cnn").build()
    assert _params(twin) == _params(reference) == 1_625_281
    twin.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(twin(x), reference(x))
    # every Keras layer line has its PyTorch counterpart on the same row
    for keras_line, torch_line in KERAS_PAIRS:
        if keras_line.startswith("model.add("):
            assert torch_line.startswith("model.append(nn.")
