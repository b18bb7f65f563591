"""Non-square inputs (H != W) and pads / shapes computed by constant subgraphs (torch's F.pad).

References: Keras 3 on its torch backend, onnxruntime, and torch itself (1e-4).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper
from torch import nn

from explorer.models.imports import ModelImportError, import_model

from .conftest import check_keras
from .test_onnx_import import check, export, hand_made

TOL = 1e-4
BATCH = {"dynamic_axes": {"x": {0: "n"}, "y": {0: "n"}}}  # checked on a batch of 2


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_keras_non_square_flatten_before_dense(keras, tmp_path, fmt):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((48, 64, 3)),
            L.Rescaling(1 / 255),
            L.Conv2D(4, 3, strides=(2, 1), padding="same", activation="relu"),
            L.MaxPooling2D((2, 3)),
            L.ZeroPadding2D(((1, 0), (0, 2))),
            L.Conv2D(5, (3, 2), padding="valid"),
            L.Flatten(),
            L.Dense(7),
        ]
    )
    imported = check_keras(model, tmp_path, fmt, scale=255.0)
    assert imported.input_shape == (3, 48, 64)
    assert [n.op for n in imported.spec.nodes][-2:] == ["flatten", "linear"]


class _NonSquare(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, (3, 5), stride=(1, 2), padding=(1, 0))
        self.pool = nn.MaxPool2d((2, 3))
        self.fc = nn.Linear(4 * 24 * 10, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv(x)))  # 48 x 64 -> 48 x 30 -> 24 x 10
        return self.fc(torch.flatten(x, 1))


@pytest.mark.parametrize("fold", [False, True])
def test_onnx_non_square_flatten_before_gemm(fold):
    torch.manual_seed(0)
    data = export(_NonSquare(), shape=(1, 3, 48, 64), fold=fold, **BATCH)
    imported = check(data, shape=(2, 3, 48, 64))
    assert imported.input_shape == (3, 48, 64)


class _Padded(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 2, 0, 3), value=0.5)  # left, right, top, bottom
        x = F.pad(torch.relu(self.conv(x)), (2, 2, 1, 1))
        return x.reshape(x.shape[0], -1)  # a reshape whose shape comes from Shape / Gather


@pytest.mark.parametrize("fold", [False, True])
def test_onnx_fpad_computed_pads_are_folded(fold):
    torch.manual_seed(0)
    module = _Padded().eval()
    data = export(module, shape=(1, 3, 10, 12), fold=fold, **BATCH)
    imported = check(data, shape=(2, 3, 10, 12))  # against onnxruntime
    x = torch.randn(2, 3, 10, 12)
    with torch.no_grad():
        torch.testing.assert_close(imported.build()(x), module(x), atol=TOL, rtol=TOL)
    pads = [n.args for n in imported.spec.nodes if n.op == "pad"]
    assert pads[0] == {"pad": [1, 2, 0, 3], "value": 0.5}


@pytest.mark.parametrize("op", ["NonZero", "Expand"])
def test_onnx_shapes_from_the_input_values_are_still_refused(op):
    # pads computed from the input's values, or a traced tensor expanded: nothing to fold
    first = (
        helper.make_node("NonZero", ["x"], ["nz"])
        if op == "NonZero"
        else helper.make_node("Expand", ["x", "shape"], ["nz"])
    )
    nodes = [
        first,
        helper.make_node("Cast", ["nz"], ["pads"], to=TensorProto.INT64),
        helper.make_node("Pad", ["x", "pads"], ["y"]),
    ]
    data = hand_made(nodes, {"shape": [1, 3, 8, 8]}, out_shape=(1, 3, 8, 8))
    with pytest.raises(ModelImportError) as err:
        import_model(data, "model.onnx", isolate=False)
    assert str(err.value).startswith(
        f"The ONNX model computes shapes at run time ({op}): dynamic shapes are not supported."
    )
