"""Every bad model file gets one clear ModelImportError (exact text), and nothing runs from it."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import h5py
import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from explorer.models.imports import ModelImportError, import_model, keras_files
from explorer.sandbox.worker import IsolatedError, run_isolated

from .test_onnx_import import hand_made


def refused(data: bytes, filename: str, isolate: bool = False) -> str:
    with pytest.raises(ModelImportError) as info:
        import_model(data, filename, isolate=isolate)
    return str(info.value)


def keras_zip(config, weights: bytes | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    if weights is None:
        buf = io.BytesIO()
        with h5py.File(buf, "w"):
            pass
        weights = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


def sequential(*layers):
    entries = [
        {
            "class_name": "InputLayer",
            "config": {"batch_shape": [None, 8, 8, 3], "name": "input_layer"},
        }
    ]
    return {"class_name": "Sequential", "config": {"name": "s", "layers": entries + list(layers)}}


def test_lambda_layer_is_code(keras, tmp_path):
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Lambda(lambda x: x * 2, name="double")]
    )
    path = tmp_path / "m.keras"
    model.save(str(path))
    assert refused(path.read_bytes(), "m.keras") == (
        "Layer 'double' is a Lambda layer, which holds Python code: code in a model file is never run. "
        "Rebuild the model from built-in Keras layers."
    )


def test_custom_object_is_code():
    layer = {
        "module": "my_project.layers",
        "class_name": "Conv2D",
        "registered_name": "Custom>Conv2D",
        "config": {"name": "mine", "filters": 2, "kernel_size": 3},
    }
    assert refused(keras_zip(sequential(layer)), "m.keras") == (
        "Layer 'mine' is a Conv2D layer, which holds Python code: code in a model file is never run. "
        "Rebuild the model from built-in Keras layers."
    )
    act = {
        "class_name": "Dense",
        "config": {
            "name": "d",
            "units": 2,
            "activation": {
                "module": "__main__",
                "class_name": "function",
                "config": "my_act",
                "registered_name": "function",
            },
        },
    }
    flat = {"class_name": "Flatten", "config": {"name": "f"}}
    assert refused(keras_zip(sequential(flat, act)), "m.keras") == (
        "Layer 'd' uses a custom activation, which is Python code: code in a model file is never run."
    )


def test_unsupported_layer_is_named_with_the_supported_list(keras, tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.UpSampling2D(name="up")])
    path = tmp_path / "m.keras"
    model.save(str(path))
    message = refused(path.read_bytes(), "m.keras")
    assert message.startswith(
        "Layer 'up' has the type UpSampling2D, which is not supported. Supported Keras "
        "layers: Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, Flatten, "
    )
    assert message.endswith("Add, Concatenate, InputLayer.")


def test_unsupported_onnx_operator():
    nodes = [helper.make_node("Resize", ["x"], ["y"], name="up")]
    assert refused(hand_made(nodes, {}), "m.onnx").startswith(
        "The ONNX model computes shapes at run time (Resize): dynamic shapes are not supported."
    )
    nodes = [helper.make_node("Erf", ["x"], ["y"], name="erf")]
    assert refused(hand_made(nodes, {}), "m.onnx").startswith(
        "Operator 'erf' has the type Erf, which is not supported. Supported ONNX operators: Conv, Gemm, MatMul, Add,"
    )


def test_zip_bomb_refused_from_the_listing(monkeypatch):
    monkeypatch.setattr(keras_files, "MAX_UNPACKED_BYTES", 4096)
    data = keras_zip(sequential(), extra={"padding.bin": b"\0" * 100_000})  # deflates to ~100 bytes
    assert (
        refused(data, "m.keras")
        == "The .keras zip unpacks to more than 0 MB: refused (a zip bomb?)."
    )


def test_zip_entry_climbing_out():
    data = keras_zip(sequential(), extra={"../../etc/evil.json": b"{}"})
    assert refused(data, "m.keras") == (
        "The .keras zip holds an entry '../../etc/evil.json' that climbs out of its folder: refused."
    )


def test_truncated_and_garbage_hdf5(keras, tmp_path):
    path = tmp_path / "m.h5"
    keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)]).save(str(path))
    data = path.read_bytes()
    assert refused(data[: len(data) // 2], "m.h5", isolate=True).startswith(
        "This is not a readable Keras .h5 file ("
    )
    garbage = b"\x89HDF\r\n\x1a\n" + np.random.default_rng(0).bytes(5000)
    assert refused(garbage, "m.h5", isolate=True).startswith(
        "This is not a readable Keras .h5 file ("
    )
    assert refused(b"not an hdf5 file at all", "m.h5") == (
        "This file is named like a Keras model but is not an HDF5 file (.h5): it is damaged or not a Keras model."
    )


def test_truncated_and_garbage_protobuf():
    w = np.ones((4, 3, 3, 3))
    data = hand_made([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], {"w": w})
    assert refused(data[: len(data) // 2], "m.onnx", isolate=True).startswith(
        "This is not a readable ONNX file ("
    )
    assert refused(np.random.default_rng(1).bytes(3000), "m.onnx", isolate=True).startswith(
        "This is not a readable ONNX file ("
    )


def test_onnx_external_data():
    tensor = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="weights.bin")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [tensor],
    )
    data = helper.make_model(graph).SerializeToString()
    assert refused(data, "m.onnx") == (
        "The weight 'w' is stored in a separate file (ONNX external data): save the model as one file "
        "(torch.onnx.export writes one file below 2 GB)."
    )


def test_onnx_control_flow_and_dynamic_shapes():
    branch = helper.make_graph(
        [], "b", [], [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)]
    )
    nodes = [helper.make_node("If", ["x"], ["y"], then_branch=branch, else_branch=branch)]
    assert refused(hand_made(nodes, {}), "m.onnx") == (
        "The ONNX model uses control flow (If); only feed-forward graphs are supported."
    )
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    assert refused(helper.make_model(graph).SerializeToString(), "m.onnx") == (
        "The ONNX model's input has dynamic shapes (a channel count or size that is not fixed): export it with a "
        "fixed input size (dynamic_axes only for the batch)."
    )
    assert refused(json.dumps(sequential() | {}).encode(), "m.keras").startswith(
        "This file is named like a Keras"
    )


def test_keras_dynamic_input_size():
    config = sequential({"class_name": "Flatten", "config": {"name": "f"}})
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, None, None, 3]
    assert refused(keras_zip(config), "m.keras") == (
        "The model's input size is not fixed ([None, None, 3]): dynamic shapes are not supported. Give the model a "
        "fixed input size, e.g. keras.Input((64, 64, 3))."
    )


def _rewrite_h5(path, key: str, value: np.ndarray) -> bytes:
    with h5py.File(path, "r+") as h5:
        name = next(n for n in _datasets(h5) if n.endswith(key))
        del h5[name]
        h5[name] = value
    return path.read_bytes()


def _datasets(h5) -> list[str]:
    found: list[str] = []
    h5.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
    return found


def test_mismatched_weight_shape(keras, tmp_path):
    path = tmp_path / "m.h5"
    keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="conv")]).save(
        str(path)
    )
    data = _rewrite_h5(path, "conv/kernel", np.zeros((3, 3, 3, 5), np.float32))
    assert refused(data, "m.h5") == (
        "Layer 'conv' has a weight of shape (3, 3, 3, 5) in the file, but its configuration needs (3, 3, 3, 2)."
    )


def test_nan_weights(keras, tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="conv")])
    kernel, bias = model.layers[0].get_weights()
    model.layers[0].set_weights([kernel, np.array([np.nan, 1.0], np.float32)])
    path = tmp_path / "m.keras"
    model.save(str(path))
    assert refused(path.read_bytes(), "m.keras") == (
        "The weight 'bias' of layer 'conv' contains NaN or infinite values; a diverged model cannot be inspected."
    )


def test_sizes_over_the_caps():
    tensor = TensorProto(
        name="w", data_type=TensorProto.FLOAT, dims=[4096, 4096, 8]
    )  # declares 134 M values, holds none
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [tensor],
    )
    assert refused(helper.make_model(graph).SerializeToString(), "m.onnx") == (
        "The weight 'w' declares 134,217,728 values; the limit for one weight is 67,108,864."
    )
    assert (
        refused(b"\0" * (128 * 2**20 + 1), "m.onnx")
        == "The model file is 128 MB; the limit is 128 MB."
    )
    config = sequential({"class_name": "Flatten", "config": {"name": "f"}})
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 4096, 4096, 3]
    assert refused(keras_zip(config), "m.keras") == (
        "The model's input 4096x4096x3 is outside what is supported (1 to 4 channels, sides of 1 to 1024 pixels)."
    )


PICKLE_MESSAGE = (
    "This file is a Python pickle (what torch.save and pickle write): a pickle can run code, so it is never opened. "
    'Export the model with torch.onnx.export(model, x, "model.onnx"), or from Keras with '
    'model.save("my_cnn.keras").'
)


@pytest.mark.parametrize("filename", ["model.keras", "model.onnx", "model.h5", "model"])
def test_renamed_pickle(filename):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)  # a zip holding data.pkl
    assert refused(buf.getvalue(), filename) == PICKLE_MESSAGE
    assert refused(pickle.dumps({"w": [1.0]}, protocol=4), filename) == PICKLE_MESSAGE


def _sleeps() -> bytes:
    import time

    time.sleep(30)
    return b""


def _allocates() -> bytes:
    return bytes(3 * 2**30)


def _dies() -> bytes:
    import os

    os._exit(3)


def test_child_limits_give_messages():
    with pytest.raises(IsolatedError) as info:
        run_isolated(_allocates, timeout_s=60, raw=True, memory_bytes=256 * 2**20)
    assert info.value.kind == "MemoryError"
    with pytest.raises(Exception, match="took longer than 1 s and was stopped"):
        run_isolated(_sleeps, timeout_s=1, raw=True, what="reading the model file")
    with pytest.raises(Exception, match="stopped unexpectedly"):
        run_isolated(_dies, timeout_s=60, raw=True)
    with pytest.raises(
        ModelImportError, match="^Reading the model file took longer than 0 s and was stopped.$"
    ):
        import_model(b"\x08\x01", "m.onnx", timeout_s=0.01)
