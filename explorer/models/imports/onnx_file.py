"""An ONNX file -> a model spec and its weights, by reading the protobuf (never running it).

The graph is read with the ``onnx`` package's protobuf classes only (no onnxruntime, no
external data: a tensor stored outside the file is refused). Operators are allow-listed; weights
must be initialisers or ``Constant`` nodes; the input must be one image of fixed channels and
size (the batch may be dynamic); subgraphs of constants that compute pads and shapes are folded
(:mod:`explorer.models.imports.onnx_constants`); control flow (Loop, If, Scan) and shapes
computed from the input's values at run time are refused with their own message. ``MatMul`` +
``Add`` of a constant become one linear node.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from explorer.models.imports.errors import GraphBuilder, ModelImportError
from explorer.models.imports.onnx_constants import fold
from explorer.models.imports.onnx_ops import OPS, SUPPORTED
from explorer.models.imports.onnx_values import Onnx, tensor_array
from explorer.models.spec import INPUT, ModelSpec

CONTROL_FLOW = ("Loop", "If", "Scan", "SequenceMap")
DYNAMIC = (
    "Shape",
    "Size",
    "ConstantOfShape",
    "Range",
    "NonZero",
    "Expand",
    "Tile",
    "Resize",
    "TopK",
    "Unique",
)
_NOT_ONNX = 'This is not a readable ONNX file ({why}). Export the model again with torch.onnx.export(model, x, "model.onnx").'


def parse_model(data: bytes) -> Any:
    """The ModelProto of ``data``; a clear message for garbage, truncation and external data."""
    import onnx
    from google.protobuf.message import DecodeError

    model = onnx.ModelProto()
    try:
        model.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RuntimeError, TypeError) as err:
        raise ModelImportError(
            _NOT_ONNX.format(why=f"{type(err).__name__}: {str(err)[:60]}")
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelImportError(
            _NOT_ONNX.format(why="it holds no graph: truncated, or not an ONNX model")
        )
    if len(model.functions):
        raise ModelImportError(
            "This ONNX file defines its own functions; only plain graphs of standard operators are supported."
        )
    for imp in model.opset_import:
        if imp.domain not in ("", "ai.onnx"):
            raise ModelImportError(
                f"This ONNX file uses the operator set {imp.domain[:40]!r}; only the standard one is supported."
            )
    return model


def node_label(node: Any, index: int) -> str:
    """A readable name: torch's '/layer1/layer1.0/conv1/Conv' -> 'layer1.0.conv1'."""
    parts = [p for p in node.name.split("/") if p]
    if len(parts) >= 2:
        path: list[str] = []
        for p in parts[:-1]:
            if path and p.startswith(path[-1] + "."):
                path[-1] = p
            else:
                path.append(p)
        return ".".join(path)
    return node.name or f"{node.op_type.lower()}_{index}"


def _input_shape(model: Any, constants: dict[str, np.ndarray]) -> tuple[str, tuple[int, int, int]]:
    inputs = [v for v in model.graph.input if v.name not in constants]
    if len(inputs) != 1:
        raise ModelImportError(
            f"The ONNX model has {len(inputs)} inputs; only one-image models are supported."
        )
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ModelImportError(
            f"The ONNX model's input has {len(dims)} dimensions; only images (N, C, H, W) are supported."
        )
    sizes = [d.dim_value if d.HasField("dim_value") else None for d in dims[1:]]
    if any(s is None or s < 1 for s in sizes):
        raise ModelImportError(
            "The ONNX model's input has dynamic shapes (a channel count or size that is not fixed): "
            "export it with a fixed input size (dynamic_axes only for the batch)."
        )
    c, h, w = sizes
    if not (1 <= c <= 4 and 1 <= h <= 1024 and 1 <= w <= 1024):
        raise ModelImportError(
            f"The ONNX model's input {c}x{h}x{w} is outside what is supported (1 to 4 channels, "
            "sides of 1 to 1024 pixels)."
        )
    return inputs[0].name, (c, h, w)


def convert_onnx(data: bytes) -> tuple[ModelSpec, dict[str, np.ndarray], list[str]]:
    """Spec, weights and class names (from the file's metadata, if any) of an ONNX file."""
    model = parse_model(data)
    graph = model.graph
    constants = {t.name: tensor_array(t, f"The weight {t.name[:60]!r}") for t in graph.initializer}
    opset = max((i.version for i in model.opset_import if i.domain in ("", "ai.onnx")), default=13)
    name, shape = _input_shape(model, constants)
    g = GraphBuilder(shape, graph.name[:200] or "ONNX model")
    consumers: dict[str, int] = {}
    for node in graph.node:
        if node.op_type in CONTROL_FLOW:
            raise ModelImportError(
                f"The ONNX model uses control flow ({node.op_type}); only feed-forward graphs are supported."
            )
        for i in node.input:
            consumers[i] = consumers.get(i, 0) + 1
    ctx = Onnx(g, constants, {name: INPUT}, consumers, opset)
    for index, node in enumerate(graph.node):
        if node.domain not in ("", "ai.onnx"):
            raise ModelImportError(
                f"Operator {node.op_type[:40]!r} of domain {node.domain[:40]!r} is not supported."
            )
        if fold(ctx, node):  # a constant, or pads / a shape computed from constants
            continue
        if node.op_type in DYNAMIC:
            raise ModelImportError(
                f"The ONNX model computes shapes at run time ({node.op_type}): dynamic shapes are not "
                "supported. Export it with a fixed input size."
            )
        if node.op_type not in OPS:
            raise ModelImportError(
                f"Operator {node.name[:60]!r} has the type {node.op_type[:40]}, which is not supported. "
                f"Supported ONNX operators: {', '.join(SUPPORTED)}."
            )
        OPS[node.op_type](ctx, node, node_label(node, index))
    if len(graph.output) != 1:
        raise ModelImportError(
            f"The ONNX model has {len(graph.output)} outputs; only one-output models are supported."
        )
    out = ctx.values.get(graph.output[0].name)
    if out is None or out == INPUT:
        raise ModelImportError("The ONNX model's output is not computed by its operators.")
    return g.spec(out), g.state, _classes(model)


def _classes(model: Any) -> list[str]:
    for prop in model.metadata_props:
        if prop.key in ("classes", "class_names", "labels"):
            names = [n.strip() for n in re.split(r"[,\n]", prop.value) if n.strip()]
            return [n[:200] for n in names[:10_000]]
    return []
