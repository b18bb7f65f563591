"""Values inside an ONNX protobuf as numpy and Python (initialisers, node attributes), and the
conversion state that maps ONNX value names to constants or spec nodes.

Every tensor is bounded by its declared size before its bytes are read; data stored outside the
file (ONNX external data) is refused. Floats come back as float32, integers as int64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.models.imports.errors import GraphBuilder, ModelImportError, bounded_elements

_DTYPES = {1: np.float32, 10: np.float16, 11: np.float64, 7: np.int64, 6: np.int32}


def tensor_array(t: Any, where: str) -> np.ndarray:
    """An initialiser as numpy, bounded by its declared size before reading."""
    if t.data_location == 1 or len(t.external_data):
        raise ModelImportError(
            f"{where} is stored in a separate file (ONNX external data): save the model as one "
            "file (torch.onnx.export writes one file below 2 GB)."
        )
    if t.data_type not in _DTYPES:
        raise ModelImportError(f"{where} has an unsupported data type ({t.data_type}).")
    count = bounded_elements(where, tuple(t.dims))
    dtype = np.dtype(_DTYPES[t.data_type])
    if t.HasField("raw_data"):
        if len(t.raw_data) != count * dtype.itemsize:
            raise ModelImportError(
                f"{where} declares {count:,} values but holds {len(t.raw_data):,} bytes: the file is damaged."
            )
        array = np.frombuffer(t.raw_data, dtype=dtype.newbyteorder("<"))
    else:
        field = {
            1: t.float_data,
            10: t.int32_data,
            11: t.double_data,
            7: t.int64_data,
            6: t.int32_data,
        }[t.data_type]
        if len(field) != count:
            raise ModelImportError(
                f"{where} declares {count:,} values but holds {len(field):,}: the file is damaged."
            )
        array = np.asarray(field, dtype=np.uint16 if t.data_type == 10 else dtype)
        array = array.view(np.float16) if t.data_type == 10 else array
    return array.reshape(tuple(t.dims)).astype(np.float32 if dtype.kind == "f" else np.int64)


def attrs(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (ints, floats, lists, tensors as numpy)."""
    return {a.name: _attr_value(node, a) for a in node.attribute}


def _attr_value(node: Any, a: Any) -> Any:
    if a.type == 1:
        return a.f
    if a.type == 2:
        return a.i
    if a.type == 3:
        return a.s.decode("utf-8", "replace")
    if a.type == 6:
        return list(a.floats)
    if a.type == 7:
        return list(a.ints)
    if a.type == 4:
        return tensor_array(a.t, f"The constant of {node.name[:60]!r}")
    raise ModelImportError(
        f"Operator {node.name[:60]!r} has an attribute {a.name[:40]!r} of an unsupported kind."
    )


class Onnx:
    """Conversion state: the graph, constants by value name, value name -> spec node name."""

    def __init__(
        self,
        g: GraphBuilder,
        constants: dict[str, np.ndarray],
        values: dict[str, str],
        consumers: dict[str, int],
        opset: int,
    ) -> None:
        self.g, self.constants, self.values, self.consumers, self.opset = (
            g,
            constants,
            values,
            consumers,
            opset,
        )
        self.fused: dict[str, str] = {}  # Add output -> the linear node that took its bias

    def tensor(self, node: Any, i: int = 0) -> str:
        name = node.input[i] if len(node.input) > i else ""
        if name not in self.values:
            raise ModelImportError(
                f"Operator {node.name[:60]!r} ({node.op_type}) reads {name[:60]!r}, which is not "
                "computed before it (or is a constant where a tensor is expected)."
            )
        return self.values[name]

    def const(self, node: Any, i: int, required: bool = True) -> np.ndarray | None:
        name = node.input[i] if len(node.input) > i else ""
        if name in self.constants:
            return self.constants[name]
        if required or name:
            raise ModelImportError(
                f"Operator {node.name[:60]!r} ({node.op_type}) needs a constant as input {i + 1}; "
                "weights computed at run time are not supported."
            )
        return None

    def emit(
        self,
        node: Any,
        label: str,
        op: str,
        args: dict[str, Any],
        inputs: list[str],
        weights: dict[str, np.ndarray] | None = None,
    ) -> str:
        out = self.g.add(
            self.g.name(label.replace(".", "_"), node.op_type.lower()),
            op,
            inputs,
            args,
            label,
            weights,
        )
        self.values[node.output[0]] = out
        return out

    def shape(self, value: str) -> tuple[int, ...]:
        return self.g.shapes[value]
