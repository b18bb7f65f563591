"""ONNX files -> spec: each supported operator and ResNet-18 give onnxruntime's outputs (1e-4)."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from explorer.models.imports import import_model
from explorer.models.spec_modules import model_from_spec_checkpoint

ort = pytest.importorskip("onnxruntime")
TOL = 1e-4


def run_ort(data: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def check(data: bytes, shape=(1, 3, 8, 8), isolate: bool = False):
    imported = import_model(data, "model.onnx", isolate=isolate)
    x = np.random.default_rng(0).normal(size=(shape[0], *shape[1:])).astype(np.float32)
    with torch.no_grad():
        ours = imported.build()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, run_ort(data, x), atol=TOL, rtol=TOL)
    return imported


def export(module: nn.Module, shape=(1, 3, 8, 8), fold: bool = False, **kwargs) -> bytes:
    buf = io.BytesIO()
    torch.onnx.export(
        module.eval(),
        torch.randn(shape),
        buf,
        dynamo=False,
        do_constant_folding=fold,
        input_names=["x"],
        output_names=["y"],
        **kwargs,
    )
    return buf.getvalue()


def float_initializers(data: bytes) -> int:
    """Values of the float initialisers; one the exporter shares through Identity nodes counts per use."""
    model = onnx.load_from_string(data)
    sizes = {
        t.name: int(np.prod(t.dims))
        for t in model.graph.initializer
        if t.data_type == TensorProto.FLOAT
    }
    shared = sum(sizes.get(n.input[0], 0) for n in model.graph.node if n.op_type == "Identity")
    return sum(sizes.values()) + shared


def hand_made(nodes, inits, in_shape=(1, 3, 8, 8), out_shape=None, opset=17) -> bytes:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [
            numpy_helper.from_array(
                np.asarray(v, dtype=np.float32 if k != "shape" else np.int64), k
            )
            for k, v in inits.items()
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


rng = np.random.default_rng(3)

MODULES = {
    "conv": lambda: nn.Conv2d(3, 4, 3, padding=1),
    "conv_stride_dilation_groups": lambda: nn.Conv2d(
        3, 6, 3, stride=2, dilation=2, groups=3, padding=2
    ),
    "gemm": lambda: nn.Sequential(nn.Flatten(), nn.Linear(192, 5)),
    "relu_maxpool": lambda: nn.Sequential(nn.ReLU(), nn.MaxPool2d(3, 2, 1)),
    "maxpool_ceil": lambda: nn.MaxPool2d(3, 2, ceil_mode=True),
    "leaky_sigmoid_tanh": lambda: nn.Sequential(nn.LeakyReLU(0.1), nn.Sigmoid(), nn.Tanh()),
    "softmax": lambda: nn.Softmax(dim=1),
    "clip": lambda: nn.ReLU6(),
    "hardtanh": lambda: nn.Hardtanh(-0.5, 0.5),
    "avgpool": lambda: nn.AvgPool2d(3, 2, 1),
    "avgpool_no_pad_count": lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
    "global_avgpool": lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2)),
    "batchnorm": lambda: nn.BatchNorm2d(3),
    "concat_add": lambda: _Branches(),
    "reshape": lambda: _Lambda(lambda x: x.reshape(1, 3, 64).reshape(1, -1)),
}


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class _Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        return torch.cat([self.a(x) + x, self.b(x)], dim=1)


@pytest.mark.parametrize("name", list(MODULES))
def test_each_exported_operator(name):
    module = MODULES[name]()
    if isinstance(module, nn.BatchNorm2d):
        module.running_mean.normal_()
        module.running_var.uniform_(0.5, 2)
        module.weight.data.normal_()
    data = export(module)
    imported = check(data)
    state = imported.build().state_dict()
    ours = sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert ours == float_initializers(data)


def test_matmul_add_becomes_one_linear():
    w, b = rng.normal(size=(192, 4)), rng.normal(size=(4,))
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "w"], ["m"], name="fc/MatMul"),
        helper.make_node("Add", ["m", "b"], ["y"], name="fc/Add"),
    ]
    imported = check(hand_made(nodes, {"w": w, "b": b}))
    assert [n.op for n in imported.spec.nodes] == ["flatten", "linear"]
    assert imported.spec.nodes[1].args["bias"] is True


def test_gemm_without_transpose_and_scaled():
    w, c = rng.normal(size=(192, 3)), rng.normal(size=(3,))
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("Gemm", ["f", "w", "c"], ["y"], alpha=0.5, beta=2.0),
    ]
    check(hand_made(nodes, {"w": w, "c": c}))


def test_same_upper_conv_pad_dropout_clip_and_constant_reshape():
    w = rng.normal(size=(4, 3, 3, 3))  # 8 -> 4 with one padded row and column: bottom/right
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("Dropout", ["c"], ["d"]),
        helper.make_node("Pad", ["d", "pads"], ["p"], mode="constant"),
        helper.make_node("Clip", ["p", "lo", "hi"], ["k"]),
        helper.make_node("LeakyRelu", ["k"], ["l"], alpha=0.3),
        helper.make_node(
            "AveragePool", ["l"], ["a"], kernel_shape=[2, 2], pads=[0, 0, 1, 1], count_include_pad=1
        ),
        helper.make_node(
            "Constant",
            [],
            ["shape"],
            value=numpy_helper.from_array(np.array([-1, 4 * 36], np.int64)),
        ),
        helper.make_node("Reshape", ["a", "shape"], ["y"]),
    ]
    pads = np.array([0, 0, 1, 0, 0, 0, 1, 2], np.int64)
    data = hand_made(nodes, {"w": w, "lo": -0.5, "hi": 0.8})
    model = onnx.load_from_string(data)
    model.graph.initializer.append(numpy_helper.from_array(pads, "pads"))
    imported = check(model.SerializeToString())
    assert [n.op for n in imported.spec.nodes] == [
        "pad",
        "conv2d",
        "dropout",
        "pad",
        "act",
        "act",
        "avg_pool2d",
        "flatten",
    ]


def test_resnet18(resnet18_onnx):
    imported = check(resnet18_onnx, shape=(2, 3, 64, 64), isolate=True)
    assert imported.parameters == float_initializers(resnet18_onnx)
    names = [n.name for n in imported.spec.nodes]
    assert (
        names[:3] == ["conv1", "relu", "maxpool"]
        and "layer4_1_conv2" in names
        and names[-1] == "fc"
    )
    rebuilt, spec, _ = model_from_spec_checkpoint(imported.checkpoint())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), imported.build()(x), atol=0, rtol=0)
