"""The PyTorch code of a spec runs, takes the imported weights strictly and gives the same outputs."""

from __future__ import annotations

from pathlib import Path

import torch

from explorer.models.imports import import_model, import_model_file
from explorer.models.spec_code import spec_code

ASSETS = Path(__file__).resolve().parents[4] / "assets" / "models"


def _check(imported, scale: float = 1.0) -> str:
    code = spec_code(imported.spec)
    namespace: dict = {}
    exec(
        compile(code, "<spec_code>", "exec"), namespace
    )  # the code this app wrote, not a user's file
    cls = next(
        v
        for k, v in namespace.items()
        if isinstance(v, type) and issubclass(v, torch.nn.Module) and k != "Module"
    )
    model = cls().eval()
    model.load_state_dict(imported.state_dict, strict=True)
    x = torch.rand(2, *imported.input_shape) * scale
    with torch.no_grad():
        torch.testing.assert_close(model(x), imported.build()(x), atol=1e-5, rtol=1e-5)
    return code


def test_every_op_of_a_keras_model(keras, tmp_path):
    L = keras.layers
    i = keras.Input((16, 16, 3))
    x = L.Normalization(mean=[100.0, 110.0, 120.0], variance=[900.0, 1000.0, 1100.0])(i)
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    a = L.BatchNormalization()(x)
    x = L.Add()([a, L.DepthwiseConv2D(3, padding="same")(a)])
    x = L.Concatenate()(
        [
            L.SeparableConv2D(4, 3, padding="same", activation="gelu")(x),
            L.MaxPooling2D(3, strides=1, padding="same")(x),
        ]
    )
    x = L.AveragePooling2D(3, strides=2, padding="same")(x)
    x = L.ELU(0.5)(L.ZeroPadding2D(1)(x))
    x = L.Dense(5, activation="softmax")(L.Dropout(0.1)(L.Flatten()(x)))
    path = tmp_path / "m.keras"
    keras.Model(i, x).save(str(path))
    code = _check(import_model(path.read_bytes(), "m.keras", isolate=False), scale=255.0)
    assert "nn.Conv2d(3, 8, kernel_size=(3, 3)" in code and "F.pad(" in code


def test_course_cnn_code_reads_like_the_course():
    imported = import_model_file(ASSETS / "course_cnn.keras", isolate=False)
    code = _check(imported, scale=255.0)
    assert "class CourseCnn(nn.Module):" in code
    assert "        conv1 = F.relu(self.conv1(rescaling))" in code
    assert "        output = torch.sigmoid(self.output(dense))" in code


def test_resnet18_code(resnet18_onnx):
    _check(import_model(resnet18_onnx, "resnet18.onnx", isolate=False))
