"""The graph of a network, traced from the real module on the ``meta`` device.

Nodes are operations (convolution, pooling, ReLU, batch norm, dense, concatenation,
residual addition, flatten, global average pooling, dropout), edges are the tensors between
them with their shapes. A ``TorchFunctionMode`` records every torch call of one forward pass
(functional ReLUs, ``torch.cat`` and ``out += identity`` included, which module hooks alone
would miss), and forward pre/post hooks tell which module each call belongs to. No weights
are allocated and nothing is computed: the pass runs on the meta device in milliseconds.

:meth:`Graph.view` groups the operations for a level of detail: ``"ops"`` (every call),
``"layers"`` (batch norm, activations and dropout folded into the layer before them) and
``"blocks"`` (what the papers draw: Inception modules, residual blocks, NiN and VGG blocks
as one node each, unless listed in ``open``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.probe.names import (
    _CONV_UNIT,
    _is_inception,
    _is_nin_block,
    _is_residual,
    _is_vgg_block,
    _style,
    layer_names,
)
from explorer.probe.receptive_field import GLOBAL_FIELD, INPUT_FIELD, Field, _merge, apply_window

Shape = tuple[int, ...]

_KINDS: dict[str, str] = {
    "conv2d": "conv", "linear": "dense", "batch_norm": "bn", "relu": "relu", "relu_": "relu",
    "max_pool2d": "pool", "_max_pool2d": "pool", "max_pool2d_with_indices": "pool", "avg_pool2d": "pool",
    "adaptive_avg_pool2d": "pool", "adaptive_max_pool2d": "pool", "_adaptive_max_pool2d": "pool",
    "adaptive_max_pool2d_with_indices": "pool", "cat": "concat", "add": "add", "__add__": "add",
    "__iadd__": "add", "add_": "add", "__radd__": "add", "flatten": "flatten", "dropout": "dropout",
    "sigmoid": "act", "tanh": "act", "gelu": "act", "silu": "act", "leaky_relu": "act", "elu": "act",
    "local_response_norm": "norm", "layer_norm": "norm", "group_norm": "norm",
}  # fmt: skip
FOLDABLE = (
    "bn",
    "relu",
    "act",
    "dropout",
    "flatten",
    "norm",
)  # folded into the layer before at "layers"
BLOCK_KINDS = ("inception", "residual", "mlpconv", "vgg block")


class InputSizeError(ValueError):
    """The input is too small: a layer's output-size formula gives zero or less (or a dense
    layer gets a different number of features than it was built for)."""


@dataclass(frozen=True)
class Node:
    """One operation (or, in a view, a group of operations drawn as one box)."""

    id: str
    kind: str  # conv | pool | gap | relu | act | bn | dense | concat | add | flatten | dropout | input | output | block kinds
    name: str  # paper-style name (explorer.probe.names)
    module: str  # the module path a feature-map view can hook ("" for the input)
    type: str  # "Conv2d", "MaxPool2d", "Inception", "add" ...
    in_shapes: tuple[Shape, ...]
    out_shape: Shape  # without the batch dimension
    params: int = 0
    macs: int = 0
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] | None = None
    dilation: tuple[int, int] | None = None
    groups: int | None = None
    field: Field | None = None
    block: str = ""  # id of the outermost block the operation belongs to ("" on the trunk)
    members: tuple[str, ...] = ()  # in a view: the operation ids this box stands for
    folded: tuple[str, ...] = ()  # in a view: kinds folded into this box (bn, relu ...)
    own_params: int | None = None  # in a view: the head layer's own parameters (without folded BN)

    @property
    def rf(self) -> str:
        """Receptive field side as text ('whole image' after global pooling)."""
        if self.field is None:
            return ""
        if self.field.is_global:
            return "whole image"
        h, w = self.field.size
        return f"{h:g}" if h == w else f"{h:g} x {w:g}"

    def formula(self) -> str:
        """The output-size formula (N - F + 2P)/S + 1 with this layer's own numbers."""
        if self.kernel is None or not self.in_shapes or len(self.in_shapes[0]) < 3:
            return ""
        n, f, p, s, d = (
            self.in_shapes[0][-2],
            self.kernel[0],
            self.padding[0],
            self.stride[0],
            self.dilation[0],
        )
        f_eff = f if d == 1 else d * (f - 1) + 1
        dil = "" if d == 1 else f" (dilation {d}: F = {f_eff})"
        return f"({n} - {f_eff} + 2 x {p}) / {s} + 1 = {(n - f_eff + 2 * p) // s + 1}{dil}"

    def param_formula(self) -> str:
        """Parameters of a convolution or dense layer, written out (k x k x C_in x C_out + C_out)."""
        own = self.params if self.own_params is None else self.own_params
        rest = self.params - own
        extra = f" (+ {rest:,} of the folded batch norm)" if rest else ""
        if self.kind == "conv" and self.kernel is not None and self.in_shapes:
            c_in, k, g = self.in_shapes[0][0], self.kernel, self.groups or 1
            c_out = self._width()
            w = k[0] * k[1] * (c_in // g) * c_out
            per = f"{k[0]} x {k[1]} x {c_in}" + (f" / {g}" if g != 1 else "")
            return f"{per} x {c_out}" + (f" + {c_out}" if own - w else "") + f" = {own:,}{extra}"
        if self.kind == "dense" and self.in_shapes:
            c_in, c_out = self.in_shapes[0][-1], self._width()
            return (
                f"{c_in} x {c_out}"
                + (f" + {c_out}" if own - c_in * c_out else "")
                + f" = {own:,}{extra}"
            )
        return ""

    def _width(self) -> int:
        """Output channels (or features) of the head layer; a folded flatten does not change them."""
        return self.out_shape[0]


@dataclass(frozen=True)
class Edge:
    """A tensor flowing from ``src`` to ``dst``; ``shape`` without the batch dimension."""

    src: str
    dst: str
    shape: Shape


@dataclass(frozen=True)
class Block:
    """A block a view can collapse: its kind and readable name."""

    id: str
    kind: str  # inception | residual | mlpconv | vgg block
    name: str
    type: str = ""  # the module's class ("Bottleneck", "Inception"), "" for VGG's implied blocks


@dataclass
class Graph:
    """Nodes in execution order, edges, and the collapsible blocks."""

    nodes: list[Node]
    edges: list[Edge]
    input_shape: Shape
    blocks: dict[str, Block] = field(default_factory=dict)
    arch: str | None = None
    units: dict[str, str] = field(
        default_factory=dict
    )  # conv units (conv-BN-ReLU modules): path -> name

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"No node {node_id!r} in the graph.")

    def find(self, name: str) -> Node:
        """The node with this paper-style name, id or module path."""
        for n in self.nodes:
            if name in (n.name, n.id, n.module) and n.kind != "input":
                return n
        raise KeyError(f"No node named {name!r} in the graph.")

    def count(self, kind: str) -> int:
        return sum(1 for n in self.nodes if n.kind == kind)

    def inputs(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id]

    def outputs(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    @property
    def total_params(self) -> int:
        return sum(n.params for n in self.nodes)

    @property
    def total_macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    def view(self, level: str = "blocks", open: Iterable[str] = ()) -> Graph:  # noqa: A002
        """The graph at a level of detail: 'ops', 'layers' or 'blocks' (blocks in ``open`` stay open)."""
        if level not in ("ops", "layers", "blocks"):
            raise ValueError(f"Unknown level {level!r}: use 'ops', 'layers' or 'blocks'.")
        if level == "ops":
            return self
        opened = set(open)
        consumers: dict[str, int] = {}
        for e in self.edges:
            consumers[e.src] = consumers.get(e.src, 0) + 1
        key: dict[str, str] = {}
        for n in self.nodes:
            k = n.id
            if level == "blocks" and n.block and n.block not in opened:
                k = n.block
            elif n.kind in FOLDABLE:
                ins = self.inputs(n.id)
                if (
                    len(ins) == 1
                    and consumers.get(ins[0].src, 0) == 1
                    and self.node(ins[0].src).kind != "input"
                ):
                    src_key = key[ins[0].src]
                    src_block = self.node(ins[0].src).block
                    if src_block == n.block or (
                        level == "blocks" and src_block not in opened and src_key == src_block
                    ):
                        k = src_key
            key[n.id] = k
        groups: dict[str, list[Node]] = {}
        for n in self.nodes:
            groups.setdefault(key[n.id], []).append(n)
        nodes = [self._merge(k, members) for k, members in groups.items()]
        edges, seen = [], set()
        for e in self.edges:
            a, b = key[e.src], key[e.dst]
            if a != b and (a, b) not in seen:
                seen.add((a, b))
                edges.append(Edge(a, b, e.shape))
        # A merged box gets the input shapes of the edges entering it.
        ins: dict[str, list[Shape]] = {}
        for e in edges:
            ins.setdefault(e.dst, []).append(e.shape)
        nodes = [
            replace(n, in_shapes=tuple(ins.get(n.id, n.in_shapes))) if len(n.members) > 1 else n
            for n in nodes
        ]
        return Graph(nodes, edges, self.input_shape, self.blocks, self.arch, self.units)

    def _merge(self, k: str, members: list[Node]) -> Node:
        if len(members) == 1:
            return replace(members[0], members=(members[0].id,))
        ids = tuple(m.id for m in members)
        last = members[-1]
        if k in self.blocks:
            b = self.blocks[k]
            return Node(k, b.kind, b.name, k, b.type or b.kind, members[0].in_shapes, last.out_shape,
                        sum(m.params for m in members), sum(m.macs for m in members), field=last.field,
                        block=k, members=ids, folded=())  # fmt: skip
        head = members[0]
        unit = head.module.rpartition(".")[0]
        if unit in self.units and all(
            m.module == unit or m.module.startswith(unit + ".") for m in members
        ):
            # GoogLeNet's BasicConv2d: the box is the unit, whose output a feature-map view shows.
            head = replace(head, id=head.id, name=self.units[unit], module=unit)
        return replace(head, out_shape=last.out_shape, field=last.field, params=sum(m.params for m in members),
                       own_params=members[0].params,
                       macs=sum(m.macs for m in members), members=ids,
                       folded=tuple(m.kind for m in members[1:]))  # fmt: skip

    def to_json(self, indent: int | None = None) -> str:
        """Nodes, edges and shapes as JSON (for notebooks and other tools)."""

        def node(n: Node) -> dict[str, Any]:
            d = asdict(n)
            d["field"] = None if n.field is None else {
                "size": None if n.field.is_global else list(n.field.size),
                "jump": None if n.field.is_global else list(n.field.jump),
                "start": None if n.field.is_global else list(n.field.start),
                "global": n.field.is_global,
            }  # fmt: skip
            return d

        return json.dumps({
            "arch": self.arch, "input_shape": list(self.input_shape),
            "nodes": [node(n) for n in self.nodes],
            "edges": [{"src": e.src, "dst": e.dst, "shape": list(e.shape)} for e in self.edges],
            "blocks": [asdict(b) for b in self.blocks.values()],
        }, indent=indent)  # fmt: skip


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[-1]))
    return (int(v), int(v))


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _flat(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, (tuple, list)):
            out.extend(_flat(item))
        else:
            out.append(item)
    return out


class _Recorder(TorchFunctionMode):
    """Records one forward pass: a node per significant torch call, producers by tensor id."""

    def __init__(self, names: dict[str, str], blocks: dict[str, str]) -> None:
        super().__init__()
        self.names = names
        self.block_of = blocks  # module path -> outermost block id
        self.stack: list[str] = []
        self.modules: dict[str, nn.Module] = {}
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.producer: dict[int, str] = {}
        self.alive: list[torch.Tensor] = []
        self.calls: dict[str, int] = {}
        self.owned: set[str] = set()  # modules whose parameters were counted already

    def _id(self, base: str) -> str:
        self.calls[base] = self.calls.get(base, 0) + 1
        return base if self.calls[base] == 1 else f"{base}#{self.calls[base]}"

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        fname = getattr(func, "__name__", "")
        kind = _KINDS.get(fname)
        tensors = [
            a
            for a in _flat(list(args)) + _flat(list(kwargs.values()))
            if isinstance(a, torch.Tensor)
        ]
        if fname in ("add", "__add__", "__iadd__", "add_", "__radd__") and len(tensors) < 2:
            kind = None  # x + 1 is not a residual addition
        if fname in ("view", "reshape") and tensors and tensors[0].dim() == 4:
            kind = "flatten"
        module = self.stack[-1] if self.stack else ""
        if kind in ("conv", "pool"):
            self._check_size(fname, args, kwargs, module)
        if kind == "dense":
            self._check_features(args, kwargs, module)
        x0 = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if kind == "bn" and x0 is not None and x0.is_meta:
            # Batch norm keeps the shape; torch's meta version runs a slow Python decomposition.
            out = torch.empty_like(x0)
        else:
            out = func(*args, **kwargs)
        outs = [t for t in _flat([out]) if isinstance(t, torch.Tensor)]
        sources = [self.producer[id(t)] for t in tensors if id(t) in self.producer]
        if not outs or not sources:
            return out
        if kind is None:  # views and other shape-keeping calls: the output has the input's producer
            for t in outs:
                self._own(t, sources[0])
            return out
        result = outs[0]
        mod = self.modules.get(module)
        leaf_call = (
            mod is not None
            and not any(True for _ in mod.children())
            and module not in self.owned_calls
        )
        if leaf_call:
            node_id = self._id(module)
            name = self.names.get(module, module)
            if self.calls[module] > 1:
                name = f"{name}#{self.calls[module]}"
        else:
            node_id = self._id(f"{module}:{fname.strip('_')}" if module else fname.strip("_"))
            parent = self.names.get(module, module)
            op = {"cat": "concat", "iadd": "add", "radd": "add"}.get(
                fname.strip("_"), fname.strip("_")
            )
            name = f"{parent}/{op}" if parent else op
            if self.calls[node_id.split("#")[0]] > 1:
                name = f"{name}#{self.calls[node_id.split('#')[0]]}"
        if leaf_call:
            self.owned_calls.add(module)
        params = 0
        if mod is not None and leaf_call and module not in self.owned:
            params = sum(p.numel() for p in mod.parameters(recurse=False))
            self.owned.add(module)
        if kind == "pool" and "adaptive" in fname and tuple(result.shape[-2:]) == (1, 1):
            kind = "gap"
        attrs = self._attrs(kind, fname, args, kwargs, mod)
        macs = 0
        if kind == "conv":
            weight = _arg(args, kwargs, 1, "weight", None)
            macs = (
                result.numel() * int(weight.shape[1]) * int(weight.shape[2]) * int(weight.shape[3])
            )
        elif kind == "dense":
            weight = _arg(args, kwargs, 1, "weight", None)
            macs = result.numel() * int(weight.shape[1])
        in_tensors = [t for t in tensors if id(t) in self.producer]
        if kind == "conv" or kind == "dense" or kind == "bn":
            in_tensors = in_tensors[:1]  # weights and statistics are parameters, not edges
        f = None  # receptive fields are propagated along the finished graph (_fields)
        node = Node(node_id, kind, name, module, type(mod).__name__ if leaf_call else fname.strip("_"),
                    tuple(tuple(t.shape[1:]) for t in in_tensors), tuple(result.shape[1:]), params, macs,
                    field=f, block=self._block(module), **attrs)  # fmt: skip
        self.nodes.append(node)
        for t in in_tensors:
            self.edges.append(Edge(self.producer[id(t)], node_id, tuple(t.shape[1:])))
        for t in outs:
            self._own(t, node_id)
        return out

    def _own(self, t: torch.Tensor, node_id: str) -> None:
        self.producer[id(t)] = node_id
        self.alive.append(t)

    def _block(self, module: str) -> str:
        return self.block_of.get(module, "")

    def _attrs(
        self, kind: str, fname: str, args: tuple, kwargs: dict, mod: nn.Module | None
    ) -> dict[str, Any]:
        if kind == "conv":
            weight = _arg(args, kwargs, 1, "weight", None)
            padding = _arg(args, kwargs, 4, "padding", 0)
            dilation = _pair(_arg(args, kwargs, 5, "dilation", 1))
            kernel = (int(weight.shape[-2]), int(weight.shape[-1]))
            if isinstance(padding, str):
                padding = (
                    tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation, strict=True))
                    if padding == "same"
                    else 0
                )
            return {"kernel": kernel, "stride": _pair(_arg(args, kwargs, 3, "stride", 1)), "padding": _pair(padding),
                    "dilation": dilation, "groups": int(_arg(args, kwargs, 6, "groups", 1))}  # fmt: skip
        if kind == "pool" and "adaptive" not in fname:
            kernel = _pair(_arg(args, kwargs, 1, "kernel_size", 1))
            stride = _arg(args, kwargs, 2, "stride", None)
            stride = kernel if stride in (None, [], ()) else _pair(stride)
            dilation = _pair(_arg(args, kwargs, 4, "dilation", 1)) if "max" in fname else (1, 1)
            return {"kernel": kernel, "stride": stride, "padding": _pair(_arg(args, kwargs, 3, "padding", 0)),
                    "dilation": dilation}  # fmt: skip
        return {}

    def _check_size(self, fname: str, args: tuple, kwargs: dict, module: str) -> None:
        """Raise :class:`InputSizeError` before a window op whose output would be empty."""
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or "adaptive" in fname:
            return
        attrs = self._attrs("conv" if fname == "conv2d" else "pool", fname, args, kwargs, None)
        ceil = (
            bool(_arg(args, kwargs, 5, "ceil_mode", False))
            if "max" in fname
            else bool(_arg(args, kwargs, 4, "ceil_mode", False))
        )
        for axis in (0, 1):
            n = int(x.shape[2 + axis])
            f, p, s, d = (
                attrs["kernel"][axis],
                attrs["padding"][axis],
                attrs["stride"][axis],
                attrs["dilation"][axis],
            )
            f_eff = d * (f - 1) + 1
            span = n - f_eff + 2 * p
            out = (math.ceil(span / s) if ceil else span // s) + 1
            if out <= 0 or span < 0:
                name = self.names.get(module, module) or fname
                what = "convolution" if fname == "conv2d" else "pooling"
                raise InputSizeError(
                    f"Layer {name} ({what} {f}x{f}, stride {s}, padding {p}) gets a {n} x {n} map and "
                    f"shrinks it to nothing: (N - F + 2P)/S + 1 = ({n} - {f_eff} + 2 x {p}) / {s} + 1 = "
                    f"{span / s + 1:g} < 1. Choose a larger input."
                )

    def _check_features(self, args: tuple, kwargs: dict, module: str) -> None:
        x, weight = args[0] if args else None, _arg(args, kwargs, 1, "weight", None)
        if (
            isinstance(x, torch.Tensor)
            and isinstance(weight, torch.Tensor)
            and x.shape[-1] != weight.shape[1]
        ):
            name = self.names.get(module, module) or "a dense layer"
            raise InputSizeError(
                f"Layer {name} (dense) was built for {int(weight.shape[1]):,} input features but gets "
                f"{int(x.shape[-1]):,}: the input size changes the feature map that is flattened into it. "
                "Choose the input size the model was built for."
            )


def _block_kind(m: nn.Module) -> str | None:
    if _is_inception(m):
        return "inception"
    if _is_residual(m):
        return "residual"
    if _is_nin_block(m):
        return "mlpconv"
    if _is_vgg_block(m):
        return "vgg block"
    return None


def _blocks(
    model: nn.Module, names: dict[str, str], style: str
) -> tuple[dict[str, Block], dict[str, str]]:
    """The collapsible blocks (outermost only) and, per module path, its block id."""
    blocks: dict[str, Block] = {}
    block_of: dict[str, str] = {}
    for path, m in model.named_modules():
        if not path or path in block_of:
            continue
        kind = _block_kind(m)
        if kind is not None:
            blocks[path] = Block(path, kind, names.get(path, path), type(m).__name__)
            for sub, _ in m.named_modules(prefix=path):
                block_of[sub] = path
    if style == "vgg" and not any(b.kind == "vgg block" for b in blocks.values()):
        # torchvision's VGG has no block modules: the names say which block a layer is in.
        for path, name in names.items():
            match = re.fullmatch(r"(?:conv|relu|bn)(\d+)_\d+|pool(\d+)", name)
            if match:
                b = match.group(1) or match.group(2)
                bid = f"block{b}"
                blocks.setdefault(bid, Block(bid, "vgg block", bid))
                block_of[path] = bid
    return blocks, block_of


def build_graph(
    model: nn.Module | Callable[[], nn.Module], input_shape: Shape, arch: str | None = None
) -> Graph:
    """Trace ``model`` (a module or a zero-argument builder, built on meta) for one C x H x W input.

    Raises :class:`InputSizeError` naming the layer when the input is too small (or does not
    fit a dense layer).
    """
    if isinstance(model, nn.Module):
        net = model
        param = next(net.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    else:
        with torch.device("meta"):
            net = model()
        device = torch.device("meta")
    names = layer_names(net, arch)
    style = _style(net, arch)
    blocks, block_of = _blocks(net, names, style)
    rec = _Recorder(names, block_of)
    rec.owned_calls = set()
    paths = {m: p for p, m in net.named_modules()}
    rec.modules = {p: m for p, m in net.named_modules()}
    handles = []

    def pre(module: nn.Module, _inputs: object) -> None:
        rec.stack.append(paths[module])

    def post(module: nn.Module, _inputs: object, _output: object) -> None:
        rec.stack.pop()
        rec.owned_calls.discard(paths[module])

    x = torch.zeros(1, *input_shape, device=device)  # N x C x H x W
    was_training = net.training
    net.eval()
    try:
        for p, m in net.named_modules():
            if p:
                handles.append(m.register_forward_pre_hook(pre))
                handles.append(m.register_forward_hook(post))
        rec.nodes.append(
            Node("input", "input", "input", "", "input", (), tuple(input_shape), field=INPUT_FIELD)
        )
        rec._own(x, "input")
        with torch.no_grad(), rec:
            out = net(x)
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    out = out[0] if isinstance(out, (tuple, list)) else out
    last = rec.producer.get(id(out))
    rec.nodes.append(
        Node(
            "output",
            "output",
            "logits",
            "",
            "output",
            (tuple(out.shape[1:]),),
            tuple(out.shape[1:]),
        )
    )
    if last is not None:
        rec.edges.append(Edge(last, "output", tuple(out.shape[1:])))
    nodes = _fields(rec.nodes, rec.edges)
    used = {b for b in (n.block for n in nodes) if b}
    units = {p: names.get(p, p) for p, m in net.named_modules() if type(m).__name__ in _CONV_UNIT}
    return Graph(
        nodes,
        rec.edges,
        tuple(input_shape),
        {k: v for k, v in blocks.items() if k in used},
        arch,
        units,
    )


def _fields(nodes: list[Node], edges: list[Edge]) -> list[Node]:
    """Receptive fields along the graph (Araujo et al. 2019, as explorer.probe.receptive_field):
    windows grow the field, element-wise ops keep it, merges keep the largest, global pooling and
    anything after flattening see the whole image."""
    preds: dict[str, list[str]] = {}
    for e in edges:
        preds.setdefault(e.dst, []).append(e.src)
    field_of: dict[str, Field] = {}
    out = []
    for n in nodes:
        known = [field_of[p] for p in preds.get(n.id, []) if p in field_of]
        if n.kind == "input":
            f = INPUT_FIELD
        elif not known or len(n.out_shape) != 3:
            f = GLOBAL_FIELD
        elif n.kernel is not None:
            f = apply_window(known[0], n.kernel, n.stride, n.padding, n.dilation or (1, 1))
        elif (
            n.kind == "gap"
            or n.out_shape[-2:] == (1, 1)
            and n.in_shapes
            and n.in_shapes[0][-2:] != (1, 1)
        ):
            f = GLOBAL_FIELD
        elif n.kind == "pool" and n.in_shapes and n.in_shapes[0][-2:] != n.out_shape[-2:]:
            (h, w), (oh, ow) = (
                n.in_shapes[0][-2:],
                n.out_shape[-2:],
            )  # an uneven adaptive pool: widest window
            kernel = (math.ceil(h / oh) + (h % oh != 0), math.ceil(w / ow) + (w % ow != 0))
            f = apply_window(known[0], kernel, (h // oh, w // ow), (0, 0), (1, 1))
        else:
            f = _merge(known)
        field_of[n.id] = f
        out.append(replace(n, field=f if len(n.out_shape) == 3 else None))
    return out


def catalog_graph(key: str, input_shape: Shape | None = None) -> Graph:
    """The graph of a catalog entry (compact entries are rebuilt for a 1- or 3-channel input)."""
    from explorer.models import get_spec

    spec = get_spec(key)
    shape = tuple(input_shape or spec.input_shape)
    if spec.compact and shape != spec.input_shape:
        return build_graph(
            lambda: spec.build(in_channels=shape[0], image_size=shape[1]), shape, key
        )
    return build_graph(spec.build, shape, key)
