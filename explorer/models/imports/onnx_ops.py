"""The allow-listed ONNX operators, each -> one spec node (or an alias of a value).

Constants (``Constant`` nodes and subgraphs computing shapes and pads) are folded first, by
:mod:`explorer.models.imports.onnx_constants`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.models.imports.errors import ModelImportError
from explorer.models.imports.onnx_values import Onnx, attrs


def _pads_quad(pads: list[int]) -> list[int]:
    """ONNX [top, left, bottom, right] -> [left, right, top, bottom]."""
    top, left, bottom, right = pads
    return [left, right, top, bottom]


def _auto_pads(
    node: Any, a: dict[str, Any], shape: tuple[int, ...], k: list[int], s: list[int], d: list[int]
) -> list[int]:
    mode = a.get("auto_pad", "NOTSET")
    if mode in ("NOTSET", "VALID"):
        pads = a.get("pads", [0, 0, 0, 0]) if mode == "NOTSET" else [0, 0, 0, 0]
        if len(pads) != 4 or min(pads) < 0:
            raise ModelImportError(
                f"Operator {node.name[:60]!r} has pads {pads[:8]} that are not supported."
            )
        return _pads_quad(pads)
    out = []
    for i in (1, 0):
        size = shape[1 + i]
        total = max((-(-size // s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size, 0)
        small, big = total // 2, total - total // 2
        out += [small, big] if mode == "SAME_UPPER" else [big, small]
    return out


def conv(c: Onnx, node: Any, label: str) -> None:
    a, x = attrs(node), c.tensor(node)
    w, b = c.const(node, 1), c.const(node, 2, required=False)
    if w.ndim != 4:
        raise ModelImportError(
            f"Operator {node.name[:60]!r} is a {w.ndim - 2}D convolution; only 2D ones are supported."
        )
    out, _, kh, kw = w.shape
    s, d = a.get("strides", [1, 1]), a.get("dilations", [1, 1])
    pad = _auto_pads(node, a, c.shape(x), [kh, kw], s, d)
    if pad[0] == pad[1] and pad[2] == pad[3]:
        padding = [pad[2], pad[0]]
    else:
        x, padding = (
            c.g.add(
                c.g.name(label.replace(".", "_") + "_pad"),
                "pad",
                [x],
                {"pad": pad},
                label + " (pad)",
            ),
            [0, 0],
        )
    args = {
        "in_channels": c.shape(x)[0],
        "out_channels": int(out),
        "kernel": [int(kh), int(kw)],
        "stride": list(s),
        "padding": padding,
        "dilation": list(d),
        "groups": int(a.get("group", 1)),
        "bias": b is not None,
    }
    c.emit(
        node, label, "conv2d", args, [x], {"weight": w, **({"bias": b} if b is not None else {})}
    )


def gemm(c: Onnx, node: Any, label: str) -> None:
    a, x = attrs(node), c.tensor(node)
    if a.get("transA", 0):
        raise ModelImportError(
            f"Operator {node.name[:60]!r} (Gemm) transposes its input; not supported."
        )
    w, b = c.const(node, 1), c.const(node, 2, required=False)
    w = (w if a.get("transB", 0) else w.T) * float(a.get("alpha", 1.0))
    bias = (
        None
        if b is None
        else np.broadcast_to(b.reshape(-1) * float(a.get("beta", 1.0)), (w.shape[0],)).copy()
    )
    _linear(c, node, label, x, w, bias)


def _linear(c: Onnx, node: Any, label: str, x: str, w: np.ndarray, bias: np.ndarray | None) -> None:
    if w.ndim != 2:
        raise ModelImportError(
            f"Operator {node.name[:60]!r} multiplies by a {w.ndim}D weight; only matrices are supported."
        )
    args = {
        "in_features": int(w.shape[1]),
        "out_features": int(w.shape[0]),
        "bias": bias is not None,
    }
    c.emit(
        node,
        label,
        "linear",
        args,
        [x],
        {"weight": w, **({"bias": bias} if bias is not None else {})},
    )


def matmul(c: Onnx, node: Any, label: str) -> None:
    x, w = c.tensor(node), c.const(node, 1)
    _linear(c, node, label, x, np.ascontiguousarray(w.T), None)


def add(c: Onnx, node: Any, label: str) -> None:
    names = list(node.input)
    if len(names) == 2 and all(n in c.values for n in names):
        c.emit(node, label, "add", {}, [c.tensor(node, 0), c.tensor(node, 1)])
        return
    i = 0 if names[0] in c.values else 1
    x, b = c.tensor(node, i), c.const(node, 1 - i)
    target = c.values[names[i]]
    node_ = next((n for n in c.g.nodes if n.name == target), None)
    if (
        node_ is not None
        and node_.op == "linear"
        and not node_.args["bias"]
        and c.consumers.get(names[i]) == 1
        and b.size == node_.args["out_features"]
    ):
        _fuse_bias(c, node_, b.reshape(-1))
        c.values[node.output[0]] = target
        return
    shape, dims = c.shape(x), list(b.shape)
    while dims and dims[0] == 1 and len(dims) > len(shape):
        dims = dims[1:]
    if b.size != 1 and dims != [shape[0]] + [1] * (len(shape) - 1):
        raise ModelImportError(
            f"Operator {node.name[:60]!r} adds a constant of shape {tuple(b.shape)}; only one "
            "number or one per channel is supported."
        )
    c.emit(node, label, "scale", {"scale": [1.0], "offset": [float(v) for v in b.reshape(-1)]}, [x])


def _fuse_bias(c: Onnx, node: Any, bias: np.ndarray) -> None:
    from explorer.models.spec import Node

    index = c.g.nodes.index(node)
    c.g.nodes[index] = Node(
        node.name, node.op, node.inputs, {**node.args, "bias": True}, node.label
    )
    c.g.state[f"{node.name}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)


def activation(c: Onnx, node: Any, label: str) -> None:
    a, x = attrs(node), c.tensor(node)
    fn = {
        "Relu": "relu",
        "LeakyRelu": "leaky_relu",
        "Sigmoid": "sigmoid",
        "Tanh": "tanh",
        "Softmax": "softmax",
        "Elu": "elu",
        "Clip": "clip",
    }[node.op_type]
    args: dict[str, Any] = {"fn": fn}
    if fn == "leaky_relu":
        args["alpha"] = float(a.get("alpha", 0.01))
    elif fn == "elu":
        args["alpha"] = float(a.get("alpha", 1.0))
    elif fn == "softmax":
        rank = len(c.shape(x)) + 1
        axis = int(a.get("axis", -1 if c.opset >= 13 else 1)) % rank
        if axis == 0 or (c.opset < 13 and axis != rank - 1):
            raise ModelImportError(
                f"Operator {node.name[:60]!r} (Softmax) works along axis {axis}; not supported."
            )
        args["dim"] = axis
    elif fn == "clip":
        lo = c.const(node, 1, required=False) if c.opset >= 11 else a.get("min")
        hi = c.const(node, 2, required=False) if c.opset >= 11 else a.get("max")
        args.update(
            {
                k: float(np.asarray(v).reshape(-1)[0])
                for k, v in (("min", lo), ("max", hi))
                if v is not None
            }
        )
    c.emit(node, label, "act", args, [x])


def pool(c: Onnx, node: Any, label: str) -> None:
    a, x = attrs(node), c.tensor(node)
    k = a.get("kernel_shape", [])
    if len(k) != 2 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise ModelImportError(
            f"Operator {node.name[:60]!r} ({node.op_type}) is not a 2D pooling without dilation."
        )
    s = a.get("strides", [1, 1])
    args: dict[str, Any] = {
        "kernel": k,
        "stride": s,
        "pad": _auto_pads(node, a, c.shape(x), k, s, [1, 1]),
        "ceil_mode": bool(a.get("ceil_mode", 0)),
    }
    if node.op_type == "AveragePool":
        args["count_include_pad"] = bool(a.get("count_include_pad", 0))
    c.emit(node, label, "max_pool2d" if node.op_type == "MaxPool" else "avg_pool2d", args, [x])


def batch_norm(c: Onnx, node: Any, label: str) -> None:
    a, x = attrs(node), c.tensor(node)
    if a.get("training_mode", 0):
        raise ModelImportError(
            f"Operator {node.name[:60]!r} (BatchNormalization) is in training mode; export in eval mode."
        )
    scale, bias, mean, var = (c.const(node, i) for i in range(1, 5))
    args = {
        "num_features": int(scale.size),
        "eps": float(a.get("epsilon", 1e-5)),
        "momentum": 1 - float(a.get("momentum", 0.9)),
    }
    weights = {"weight": scale, "bias": bias, "running_mean": mean, "running_var": var}
    c.emit(node, label, "batch_norm", args, [x], weights)


def reshape(c: Onnx, node: Any, label: str) -> None:
    x = c.tensor(node)
    target = (
        [int(v) for v in c.const(node, 1).reshape(-1)]
        if len(node.input) > 1
        else list(attrs(node).get("shape", []))
    )
    shape = c.shape(x)
    if not target or target[0] not in (0, 1, -1) or (target[0] == -1 and -1 in target[1:]):
        raise ModelImportError(
            f"Operator {node.name[:60]!r} (Reshape) changes the batch dimension ({target[:6]}); not supported."
        )
    rest = [shape[i] if v == 0 and i < len(shape) else v for i, v in enumerate(target[1:])]
    if -1 not in rest and int(np.prod(rest)) != int(np.prod(shape)):
        raise ModelImportError(
            f"Operator {node.name[:60]!r} (Reshape) changes the batch dimension ({target[:6]}); not supported."
        )
    if len(rest) == 1:
        c.emit(node, label, "flatten", {}, [x])
    else:
        c.emit(node, label, "reshape", {"shape": rest}, [x])


def concat(c: Onnx, node: Any, label: str) -> None:
    xs = [c.tensor(node, i) for i in range(len(node.input))]
    rank = len(c.shape(xs[0])) + 1
    axis = int(attrs(node).get("axis", 1)) % rank
    c.emit(node, label, "concat", {"dim": axis}, xs) if len(xs) > 1 else c.values.__setitem__(
        node.output[0], xs[0]
    )


def pad(c: Onnx, node: Any, label: str) -> None:
    a, x = attrs(node), c.tensor(node)
    if a.get("mode", "constant") != "constant" or len(node.input) > 3:
        raise ModelImportError(
            f"Operator {node.name[:60]!r} (Pad) is not a constant padding of height and width."
        )
    pads = [
        int(v) for v in (c.const(node, 1).reshape(-1) if len(node.input) > 1 else a.get("pads", []))
    ]
    value = c.const(node, 2, required=False) if len(node.input) > 2 else a.get("value", 0.0)
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
        raise ModelImportError(
            f"Operator {node.name[:60]!r} (Pad) pads other than height and width ({pads[:8]})."
        )
    v = (
        float(np.asarray(value).reshape(-1)[0])
        if value is not None and np.asarray(value).size
        else 0.0
    )
    c.emit(node, label, "pad", {"pad": [pads[3], pads[7], pads[2], pads[6]], "value": v}, [x])


def flatten(c: Onnx, node: Any, label: str) -> None:
    if int(attrs(node).get("axis", 1)) != 1:
        raise ModelImportError(
            f"Operator {node.name[:60]!r} (Flatten) flattens from an axis other than 1; not supported."
        )
    c.emit(node, label, "flatten", {}, [c.tensor(node)])


def dropout(c: Onnx, node: Any, label: str) -> None:
    ratio = (
        c.const(node, 1, required=False) if len(node.input) > 1 else attrs(node).get("ratio", 0.5)
    )
    p = float(np.asarray(ratio).reshape(-1)[0]) if ratio is not None else 0.5
    c.emit(node, label, "dropout", {"p": min(max(p, 0.0), 1.0)}, [c.tensor(node)])


def identity(c: Onnx, node: Any, label: str) -> None:
    c.values[node.output[0]] = c.tensor(node)  # an Identity of a constant is folded before


OPS = {
    "Conv": conv,
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": add,
    "Relu": activation,
    "LeakyRelu": activation,
    "Sigmoid": activation,
    "Tanh": activation,
    "Softmax": activation,
    "Clip": activation,
    "Elu": activation,
    "MaxPool": pool,
    "AveragePool": pool,
    "GlobalAveragePool": lambda c, n, lab: c.emit(
        n, lab, "global_avg_pool2d", {"keepdims": True}, [c.tensor(n)]
    ),
    "GlobalMaxPool": lambda c, n, lab: c.emit(
        n, lab, "global_max_pool2d", {"keepdims": True}, [c.tensor(n)]
    ),
    "BatchNormalization": batch_norm,
    "Flatten": flatten,
    "Reshape": reshape,
    "Concat": concat,
    "Pad": pad,
    "Dropout": dropout,
    "Identity": identity,
}
SUPPORTED = (*OPS, "Constant")  # Constant nodes are folded (onnx_constants)
