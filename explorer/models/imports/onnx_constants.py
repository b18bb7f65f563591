"""Constants of an ONNX graph: ``Constant`` nodes, and the small subgraphs exporters write to
compute pads and shapes, folded with numpy before the operators are converted.

``torch.onnx.export`` of ``F.pad(x, (1, 2, 0, 3))`` writes the pads as a computation
(``ConstantOfShape``, ``Concat``, ``Reshape``, ``Slice`` with step -1, ``Transpose``, ``Cast``)
and ``x.reshape(x.shape[0], -1)`` reads ``Shape`` -> ``Gather`` -> ``Unsqueeze`` -> ``Concat``.
A node of the allow-list below is evaluated when every input is a constant, or, for ``Shape``,
when its input is a traced tensor: its shape is static (the input size is fixed), with the batch
read as 1 (the Reshape converter refuses a first entry other than 0, 1 or -1, so a batch that
matters is never folded into a number). Anything that reads the values of a traced tensor stays
unfolded, and the converter refuses it as before (dynamic shapes, or an unsupported operator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from explorer.models.imports.errors import ModelImportError, bounded_elements
from explorer.models.imports.onnx_values import Onnx, attrs

# ONNX data types a Cast may produce, as the numpy types constants are kept in.
_CAST = {1: np.float32, 10: np.float32, 11: np.float32, 6: np.int64, 7: np.int64, 9: np.bool_}


def constant(c: Onnx, node: Any) -> None:
    """A ``Constant`` node: its value (a tensor, or one of the float / int attributes)."""
    a = attrs(node)
    value = a.get("value")
    if value is None:
        for key in ("value_float", "value_floats", "value_int", "value_ints"):
            if key in a:
                value = np.asarray(a[key], dtype=np.float32 if "float" in key else np.int64)
    if value is None:
        raise ModelImportError(f"Operator {node.name[:60]!r} (Constant) holds no supported value.")
    c.constants[node.output[0]] = np.asarray(value)


def _ints(v: np.ndarray | None) -> list[int]:
    return [] if v is None else [int(i) for i in np.asarray(v).reshape(-1)]


def _axes(xs: list[np.ndarray | None], a: dict[str, Any], i: int) -> list[int] | None:
    """Axes from input ``i`` (opset 13 and later) or the ``axes`` attribute; None when absent."""
    if len(xs) > i and xs[i] is not None:
        return _ints(xs[i])
    return list(a["axes"]) if "axes" in a else None


def _slice(xs: list[np.ndarray | None], a: dict[str, Any]) -> np.ndarray:
    x = xs[0]
    if len(xs) > 1:  # opset 10 and later: starts, ends, axes, steps are inputs
        starts, ends = _ints(xs[1]), _ints(xs[2])
        axes = _axes(xs, a, 3) or list(range(len(starts)))
        steps = _ints(xs[4]) if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    else:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes, steps = list(a.get("axes", range(len(starts)))), [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        if st == 0:
            raise ValueError("a slice step of 0")
        index[ax] = slice(s, e, st)  # Python's clamping is ONNX's, negative steps included
    return x[tuple(index)]


def _reshape(xs: list[np.ndarray | None], a: dict[str, Any]) -> np.ndarray:
    x, shape = xs[0], _ints(xs[1])
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return x.reshape(shape)


def _divide(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        return np.trunc(x / y).astype(np.int64)  # ONNX integer division truncates, as C does
    return x / y


def _constant_of_shape(xs: list[np.ndarray | None], a: dict[str, Any]) -> np.ndarray:
    shape = tuple(_ints(xs[0]))
    bounded_elements("A ConstantOfShape", shape)
    value = np.asarray(a.get("value", np.zeros(1, np.float32))).reshape(-1)
    return np.full(shape, value[0] if value.size else 0, dtype=value.dtype)


def _gather(xs: list[np.ndarray | None], a: dict[str, Any]) -> np.ndarray:
    x, index, axis = xs[0], xs[1], int(a.get("axis", 0))
    bounded_elements("A Gather", (index.size, x.size // max(x.shape[axis], 1)))
    return np.take(x, index.astype(np.int64), axis=axis)


FOLDS: dict[str, Callable[[list[np.ndarray | None], dict[str, Any]], np.ndarray]] = {
    "ConstantOfShape": _constant_of_shape,
    "Concat": lambda xs, a: np.concatenate(xs, axis=int(a.get("axis", 0))),
    "Slice": _slice,
    "Gather": _gather,
    "Unsqueeze": lambda xs, a: np.expand_dims(xs[0], tuple(_axes(xs, a, 1) or ())),
    "Squeeze": lambda xs, a: np.squeeze(xs[0], axis=tuple(_axes(xs, a, 1) or ()) or None),
    "Cast": lambda xs, a: xs[0].astype(_CAST[int(a["to"])]),
    "Reshape": _reshape,
    "Transpose": lambda xs, a: np.transpose(xs[0], a.get("perm")),
    "Add": lambda xs, a: xs[0] + xs[1],
    "Sub": lambda xs, a: xs[0] - xs[1],
    "Mul": lambda xs, a: xs[0] * xs[1],
    "Div": lambda xs, a: _divide(xs[0], xs[1]),
    "Identity": lambda xs, a: xs[0],
}


def _static_shape(c: Onnx, node: Any) -> np.ndarray:
    """``Shape`` of a traced tensor: its static shape, the batch read as 1 (``start`` / ``end``
    of opset 15 honoured)."""
    dims = np.asarray((1, *c.shape(c.values[node.input[0]])), dtype=np.int64)
    a = attrs(node)
    return dims[int(a.get("start", 0)) : a.get("end")]


def fold(c: Onnx, node: Any) -> bool:
    """Evaluate ``node`` into ``c.constants`` when it is a constant; False when it is a layer
    (or something the converter refuses) and must be converted as an operator."""
    op = node.op_type
    if op == "Constant":
        constant(c, node)
        return True
    inputs = list(node.input)
    if op == "Shape" and inputs and inputs[0] in c.values:
        c.constants[node.output[0]] = _static_shape(c, node)
        return True
    if op == "Shape" and inputs and inputs[0] in c.constants:
        c.constants[node.output[0]] = np.asarray(c.constants[inputs[0]].shape, dtype=np.int64)
        return True
    if op not in FOLDS or not inputs or any(n and n not in c.constants for n in inputs):
        return False
    xs = [c.constants[n] if n else None for n in inputs]
    try:
        out = np.asarray(FOLDS[op](xs, attrs(node)))
    except (ValueError, IndexError, TypeError, KeyError) as err:
        raise ModelImportError(
            f"Operator {node.name[:60]!r} ({op}) cannot be computed on its constants: "
            f"{str(err)[:100]}."
        ) from None
    bounded_elements(f"The constant computed by {node.name[:60]!r}", out.shape)
    kind = out.dtype.kind
    c.constants[node.output[0]] = out.astype(
        np.float32 if kind == "f" else np.int64 if kind in "iu" else out.dtype
    )
    return True
