"""The one error of model imports, the caps on uploads, and the graph being assembled.

Every refusal while reading a user's model file is a :class:`ModelImportError` whose message is
one sentence for the user (the UI shows it as text). :class:`GraphBuilder` collects the nodes
of a :class:`~explorer.models.spec.ModelSpec` and their weights (numpy) as a reader converts a
file, checking each node's shape as it is added.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from explorer.models.errors import WeightsError
from explorer.models.spec import (
    INPUT,
    NAME_RE,
    RESERVED,
    ModelSpec,
    Node,
    node_shape,
    spec_from_obj,
)
from explorer.models.spec_args import OPS, SpecError, check_args

MAX_FILE_BYTES = 128 * 2**20  # as checkpoints (MAX_CHECKPOINT_BYTES)
MAX_UNPACKED_BYTES = 256 * 2**20  # everything a .keras zip may unpack to
MAX_CONFIG_BYTES = 8 * 2**20
MAX_TENSOR_ELEMENTS = 64 * 2**20  # one weight array
MAX_WEIGHT_ELEMENTS = 150_000_000  # all weights (MAX_PARAMETERS)
CODE_NEVER_RUN = "code in a model file is never run"


class ModelImportError(WeightsError, ValueError):
    """A model file that cannot be imported; ``str(err)`` is the message for the user."""


def safe_name(raw: Any, taken: set[str], fallback: str = "layer") -> str:
    """A module name made of the file's layer name: letters, digits and _, unique."""
    text = re.sub(r"[^A-Za-z0-9_]+", "_", str(raw)).strip("_")[:48] or fallback
    if not text[0].isalpha():
        text = f"{fallback}_{text}"
    name, i = text, 1
    while name in taken or name in RESERVED or not NAME_RE.match(name):
        name, i = f"{text}_{i}", i + 1
    taken.add(name)
    return name


def check_array(where: str, array: np.ndarray) -> np.ndarray:
    """A weight array as float32, refused when NaN or infinite."""
    out = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(out).all():
        raise ModelImportError(
            f"{where} contains NaN or infinite values; a diverged model cannot be inspected."
        )
    return out


class GraphBuilder:
    """Nodes and weights of the spec being made; every node's shape is checked as it comes."""

    def __init__(self, input_shape: tuple[int, int, int], title: str) -> None:
        self.input_shape, self.title = input_shape, title
        self.nodes: list[Node] = []
        self.shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(input_shape)}
        self.state: dict[str, np.ndarray] = {}
        self.taken: set[str] = set()
        self.elements = 0
        self.flattened: dict[
            str, tuple[int, ...]
        ] = {}  # flatten nodes whose Dense rows were permuted

    def name(self, raw: Any, fallback: str = "layer") -> str:
        return safe_name(raw, self.taken, fallback)

    def add(
        self,
        name: str,
        op: str,
        inputs: list[str],
        args: dict[str, Any],
        label: str = "",
        weights: dict[str, np.ndarray] | None = None,
    ) -> str:
        """Append a node (validated as the spec will be) with its weights; returns its name."""
        if op not in OPS:
            raise ModelImportError(
                f"Layer {label or name!r}: the operation {op!r} is not supported."
            )
        try:
            clean = check_args(name, op, args)
        except SpecError as err:
            raise ModelImportError(f"Layer {label or name!r}: {err}") from None
        node = Node(name, op, tuple(inputs), clean, label if label != name else "")
        try:
            self.shapes[name] = node_shape(node, [self.shapes[i] for i in inputs])
        except SpecError as err:
            raise ModelImportError(str(err)) from None
        for key, array in (weights or {}).items():
            self.elements += array.size
            if self.elements > MAX_WEIGHT_ELEMENTS:
                raise ModelImportError(
                    f"The model has more than {MAX_WEIGHT_ELEMENTS:,} weights; that is over the limit."
                )
            self.state[f"{name}.{key}"] = check_array(
                f"The weight {key!r} of layer {label or name!r}", array
            )
        if op == "batch_norm":
            self.state[f"{name}.num_batches_tracked"] = np.zeros((), dtype=np.int64)
        self.nodes.append(node)
        return name

    def spec(self, output: str) -> ModelSpec:
        """The finished spec, validated as a whole."""
        try:
            return spec_from_obj(
                {
                    "input_shape": list(self.input_shape),
                    "title": self.title[:200],
                    "output": output,
                    "nodes": [
                        {
                            "name": n.name,
                            "op": n.op,
                            "inputs": list(n.inputs),
                            "args": n.args,
                            **({"label": n.label[:200]} if n.label else {}),
                        }
                        for n in self.nodes
                    ],
                }
            )
        except SpecError as err:
            raise ModelImportError(str(err)) from None


def bounded_elements(where: str, shape: tuple[int, ...]) -> int:
    """The element count of a declared array shape, refused above the cap before reading it."""
    count = math.prod(int(d) for d in shape)
    if count > MAX_TENSOR_ELEMENTS or any(int(d) < 0 for d in shape):
        raise ModelImportError(
            f"{where} declares {count:,} values; the limit for one weight is {MAX_TENSOR_ELEMENTS:,}."
        )
    return count
