"""Shared helpers: Keras 3 on its torch backend and onnxruntime are the references (test-only)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported anywhere

import io

import numpy as np
import pytest
import torch

from explorer.models.imports import ImportedModel, import_model

TOL = 1e-4


@pytest.fixture(scope="session")
def keras():
    keras = pytest.importorskip("keras")
    assert keras.backend.backend() == "torch"
    return keras


def keras_out(model, x_nhwc: np.ndarray) -> np.ndarray:
    out = model(x_nhwc, training=False)
    return np.asarray(out.detach().cpu() if hasattr(out, "detach") else out)


def ours_out(imported: ImportedModel, x_nhwc: np.ndarray) -> np.ndarray:
    net = imported.build()
    with torch.no_grad():
        out = net(torch.from_numpy(x_nhwc).permute(0, 3, 1, 2).contiguous())
    out = out.numpy()
    return out.transpose(0, 2, 3, 1) if out.ndim == 4 else out


def randomise_stats(model) -> None:
    """Non-trivial BatchNormalization statistics (fresh ones are 0 and 1)."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            g, b, m, v = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, g.shape),
                    rng.normal(0, 0.2, b.shape),
                    rng.normal(0, 0.2, m.shape),
                    rng.uniform(0.5, 2, v.shape),
                ]
            )


def check_keras(
    model, tmp_path, fmt: str = "keras", isolate: bool = False, scale: float = 1.0
) -> ImportedModel:
    """Save ``model`` as .keras or .h5, import it, and assert equal outputs (1e-4)."""
    randomise_stats(model)
    path = tmp_path / f"model.{fmt}"
    model.save(str(path))
    imported = import_model(path.read_bytes(), path.name, isolate=isolate)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    x = (np.random.default_rng(1).random((2, *shape)) * scale).astype(np.float32)
    np.testing.assert_allclose(ours_out(imported, x), keras_out(model, x), atol=TOL, rtol=TOL)
    assert imported.input_shape == (shape[2], shape[0], shape[1])
    return imported


def keras_weight_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.fixture(scope="session")
def resnet18_onnx() -> bytes:
    """torchvision's ResNet-18 (random weights, nothing downloaded) exported once per session."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        torch.randn(1, 3, 64, 64),
        buf,
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
    )
    return buf.getvalue()
