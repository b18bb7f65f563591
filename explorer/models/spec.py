"""A declarative model spec: a JSON graph of allow-listed layers with bounded arguments.

Models read from users' files (Keras, ONNX; :mod:`explorer.models.imports`) become a
:class:`ModelSpec`: an input shape (C, H, W), named nodes in topological order, each an
allow-listed ``op`` with checked ``args`` (the rules: :mod:`explorer.models.spec_args`) and the names of the nodes it reads (``"input"`` is
the image), and the node whose output is the model's. :func:`spec_from_obj` validates decoded
JSON of any shape into a spec, or raises :class:`SpecError` with one sentence for the user;
:func:`infer_shapes` computes every node's output shape in plain Python (no tensor at all),
so a spec is refused before anything is built. :mod:`explorer.models.spec_modules` builds it
into an ``nn.Module`` (one child module per node, named as the node) and saves/loads it with
its weights in the app's checkpoint format. This module imports neither torch nor streamlit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from explorer.models.errors import is_int, json_type, quote
from explorer.models.spec_args import (
    MULTI_INPUT,
    OPS,
    SpecError,
    check_args,
)

SPEC_FORMAT = 1
INPUT = "input"  # the name nodes use for the model's input image
MAX_NODES = 1000
MAX_NAME = 64
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# Names a child module of the spec's model cannot take: every public attribute of nn.Module
# (add_module refuses them), SpecModel's own "spec", and "input", the graph's input. Written out
# so that this module (read by the import's torch-free child process) needs no torch; a test
# checks it covers dir(nn.Module) of the torch installed.
RESERVED = frozenset(
    {
        "T_destination",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "input",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "spec",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    }
)


@dataclass(frozen=True)
class Node:
    """One layer: a unique name (the module's), an allow-listed op, its inputs and arguments."""

    name: str
    op: str
    inputs: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # the name in the user's file, when it had to be changed to fit NAME_RE


@dataclass(frozen=True)
class ModelSpec:
    """A validated model graph; ``nodes`` in topological order, ``output`` one of their names."""

    input_shape: tuple[int, int, int]
    nodes: tuple[Node, ...]
    output: str
    title: str = ""

    def to_obj(self) -> dict[str, Any]:
        nodes = [
            {
                "name": n.name,
                "op": n.op,
                "inputs": list(n.inputs),
                "args": n.args,
                **({"label": n.label} if n.label else {}),
            }
            for n in self.nodes
        ]
        return {
            "format": SPEC_FORMAT,
            "title": self.title,
            "input_shape": list(self.input_shape),
            "nodes": nodes,
            "output": self.output,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_obj(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelSpec:
        """Parse and validate; any fault is one :class:`SpecError`."""
        try:
            data = json.loads(text, parse_constant=lambda _: None)
        except RecursionError:
            raise SpecError("The model spec is nested too deeply to be read.") from None
        except (ValueError, TypeError) as err:
            raise SpecError(f"The model spec is not valid JSON ({str(err)[:80]}).") from None
        return spec_from_obj(data)


# --------------------------------------------------------------------------- validation


def spec_from_obj(data: Any) -> ModelSpec:
    """Validate decoded JSON of any type into a :class:`ModelSpec` (shapes included)."""
    if not isinstance(data, dict):
        raise SpecError(f"The model spec is a JSON {json_type(data)}, not an object.")
    if data.get("format", SPEC_FORMAT) != SPEC_FORMAT:
        raise SpecError(
            f"The model spec has format {quote(data.get('format'))}; this app reads {SPEC_FORMAT}."
        )
    shape = data.get("input_shape")
    if not (
        isinstance(shape, list)
        and len(shape) == 3
        and all(is_int(d) for d in shape)
        and 1 <= shape[0] <= 4
        and all(1 <= d <= 1024 for d in shape[1:])
    ):
        raise SpecError(
            "The model spec's input shape must be [channels 1-4, height, width] with sides of 1 to 1024 pixels."
        )
    title = data.get("title", "")
    if not isinstance(title, str) or len(title) > 200:
        raise SpecError("The model spec's title must be a text of at most 200 characters.")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise SpecError("The model spec has no list of nodes.")
    if len(raw_nodes) > MAX_NODES:
        raise SpecError(f"The model has {len(raw_nodes)} layers; the limit is {MAX_NODES}.")
    nodes: list[Node] = []
    seen = {INPUT}
    for raw in raw_nodes:
        node = _node(raw, seen)
        seen.add(node.name)
        nodes.append(node)
    output = data.get("output", nodes[-1].name)
    if not isinstance(output, str) or output not in seen - {INPUT}:
        raise SpecError(f"The model spec's output {quote(output)} is not one of its nodes.")
    spec = ModelSpec(
        input_shape=(shape[0], shape[1], shape[2]), nodes=tuple(nodes), output=output, title=title
    )
    infer_shapes(spec)
    return spec


def _node(raw: Any, seen: set[str]) -> Node:
    if not isinstance(raw, dict):
        raise SpecError(f"A node of the model spec is a JSON {json_type(raw)}, not an object.")
    name, op, inputs = raw.get("name"), raw.get("op"), raw.get("inputs")
    if isinstance(name, str) and name in RESERVED:
        raise SpecError(
            f"The node name {quote(name)} is taken: every PyTorch model has an attribute of that name."
        )
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(
            f"The node name {quote(name)} is not usable: a letter, then up to {MAX_NAME - 1} letters, digits or _."
        )
    if name in seen:
        raise SpecError(f"Two nodes are named {quote(name)}.")
    if op not in OPS:
        raise SpecError(
            f"Node {quote(name)} has the operation {quote(op)}; supported are {', '.join(OPS)}."
        )
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
        raise SpecError(f"Node {quote(name)} does not list its inputs by name.")
    if (len(inputs) < 2) if op in MULTI_INPUT else (len(inputs) != 1):
        raise SpecError(f"Node {quote(name)} ({op}) cannot take {len(inputs)} input(s).")
    missing = [i for i in inputs if i not in seen]
    if missing:
        raise SpecError(
            f"Node {quote(name)} reads {quote(missing[0])}, which is not an earlier node."
        )
    label = raw.get("label", "")
    if not isinstance(label, str) or len(label) > 200:
        raise SpecError(f"Node {quote(name)} has a label that is not a short text.")
    return Node(
        name=name,
        op=op,
        inputs=tuple(inputs),
        args=check_args(name, op, raw.get("args", {})),
        label=label,
    )


# --------------------------------------------------------------------------- shapes


def infer_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Every node's output shape without the batch (C, H, W) or (F,); :class:`SpecError` when
    a node does not fit what it reads (names the node and both shapes)."""
    shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(spec.input_shape)}
    for node in spec.nodes:
        shapes[node.name] = node_shape(node, [shapes[i] for i in node.inputs])
    return shapes


def node_shape(node: Node, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The output shape of ``node`` for input shapes ``ins`` (batch excluded)."""
    where = f"Layer {quote(node.label or node.name)} ({node.op})"
    if node.op in _IMAGE_OPS and len(ins[0]) != 3:
        raise SpecError(
            f"{where} needs an image (channels, height, width) but gets shape {ins[0]}."
        )
    rule = _SHAPES.get(node.op)
    if rule is not None:
        return rule(node, ins, where)
    _check_same_shape(node, ins[0], where)
    return ins[0]


def _check_same_shape(node: Node, x: tuple[int, ...], where: str) -> None:
    a = node.args
    if node.op == "batch_norm" and x[0] != a["num_features"]:
        raise SpecError(f"{where} normalises {a['num_features']} channels but gets shape {x}.")
    if node.op in ("scale", "normalize"):
        for key in ("scale", "offset", "mean", "std"):
            if len(a.get(key, [0])) not in (1, x[0]):
                raise SpecError(f"{where} has {len(a[key])} values of {key!r} for {x[0]} channels.")
    if node.op == "act" and "dim" in a and not -len(x) - 1 <= a["dim"] <= len(x):
        raise SpecError(f"{where} works along dimension {a['dim']}, which shape {x} does not have.")


def _linear_shape(node: Node, ins: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    a, x = node.args, ins[0]
    if len(x) != 1 or x[0] != a["in_features"]:
        raise SpecError(
            f"{where} reads {a['in_features']} features but gets shape {x} (flatten first?)."
        )
    return (a["out_features"],)


def _pad_shape(node: Node, ins: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    left, right, top, bottom = node.args["pad"]
    x = ins[0]
    return (x[0], x[1] + top + bottom, x[2] + left + right)


_IMAGE_OPS = (
    "conv2d",
    "separable_conv2d",
    "max_pool2d",
    "avg_pool2d",
    "pad",
    "global_avg_pool2d",
    "global_max_pool2d",
)


def _conv_shape(node: Node, ins: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    a, x = node.args, ins[0]
    groups = a.get("groups", 1)
    if x[0] != a["in_channels"] or a["in_channels"] % groups or a["out_channels"] % groups:
        raise SpecError(
            f"{where} reads {a['in_channels']} channels in {groups} group(s) for "
            f"{a['out_channels']} outputs but gets shape {x}."
        )
    out = []
    for i in range(2):
        k, s = a["kernel"][i], a.get("stride", [1, 1])[i]
        p, d = a.get("padding", [0, 0])[i], a.get("dilation", [1, 1])[i]
        size = (x[1 + i] + 2 * p - d * (k - 1) - 1) // s + 1
        if size < 1:
            raise SpecError(f"{where}: its {k}x{k} kernel does not fit an input of shape {x}.")
        out.append(size)
    return (a["out_channels"], out[0], out[1])


def _pool_shape(node: Node, ins: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    a, x = node.args, ins[0]
    left, right, top, bottom = a.get("pad", [0, 0, 0, 0])
    out = []
    for i, (lo, hi) in enumerate(((top, bottom), (left, right))):
        k, s = a["kernel"][i], a.get("stride", a["kernel"])[i]
        n = x[1 + i] + lo + hi - k
        size = (-(-n // s) if a.get("ceil_mode") else n // s) + 1
        if a.get("ceil_mode") and (size - 1) * s >= x[1 + i] + lo:
            size -= 1
        if n < 0 or size < 1:
            raise SpecError(f"{where}: its {k}x{k} window does not fit an input of shape {x}.")
        out.append(size)
    return (x[0], out[0], out[1])


def _reshape(node: Node, ins: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    shape, x = node.args["shape"], ins[0]
    total, known = math.prod(x), math.prod(d for d in shape if d != -1)
    if (
        shape.count(-1) > 1
        or 0 in shape
        or known == 0
        or (total % known if -1 in shape else total != known)
    ):
        raise SpecError(f"{where} cannot reshape {x} into {tuple(shape)}.")
    return tuple(total // known if d == -1 else d for d in shape)


def _merge_shape(node: Node, ins: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    first = ins[0]
    if node.op == "add":
        if any(s != first for s in ins):
            raise SpecError(
                f"{where} adds tensors of different shapes: {', '.join(map(str, ins))}."
            )
        return first
    dim = node.args.get("dim", 1) - 1
    if dim >= len(first) or any(
        len(s) != len(first) or s[:dim] + s[dim + 1 :] != first[:dim] + first[dim + 1 :]
        for s in ins
    ):
        raise SpecError(
            f"{where} cannot join shapes {', '.join(map(str, ins))} along dimension {dim + 1}."
        )
    return first[:dim] + (sum(s[dim] for s in ins),) + first[dim + 1 :]


_SHAPES = {
    "conv2d": _conv_shape,
    "separable_conv2d": _conv_shape,
    "max_pool2d": _pool_shape,
    "avg_pool2d": _pool_shape,
    "pad": _pad_shape,
    "linear": _linear_shape,
    "reshape": _reshape,
    "add": _merge_shape,
    "concat": _merge_shape,
    "flatten": lambda node, ins, where: (math.prod(ins[0]),),
    "global_avg_pool2d": lambda node, ins, where: (
        (ins[0][0], 1, 1) if node.args.get("keepdims") else (ins[0][0],)
    ),
    "global_max_pool2d": lambda node, ins, where: (
        (ins[0][0], 1, 1) if node.args.get("keepdims") else (ins[0][0],)
    ),
}


def image_nodes(spec: ModelSpec) -> list[str]:
    """Nodes whose output is an image (C, H, W): the layers a feature-map view can show, in order
    (a conv node's output is after its own activation, as in the file)."""
    shapes = infer_shapes(spec)
    return [n.name for n in spec.nodes if len(shapes[n.name]) == 3]
