"""The graph of a network as data: operations, the tensors between them, collapsible blocks.

A :class:`Graph` is what :func:`explorer.probe.graph.build_graph` traces from a real module; this
module holds the structure and its levels of detail, nothing about how it was traced.
:meth:`Graph.view` groups the operations for a level: ``"ops"`` (every call), ``"layers"`` (batch
norm, activations and dropout folded into the layer before them) and ``"blocks"`` (what the papers
draw: Inception modules, residual blocks, NiN and VGG blocks as one node each, unless listed in
``open``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from explorer.basics.sizes import window_formula_text
from explorer.probe.receptive_field import Field

Shape = tuple[int, ...]

FOLDABLE = (
    "bn",
    "relu",
    "act",
    "dropout",
    "flatten",
    "norm",
)  # folded into the layer before at "layers"
BLOCK_KINDS = ("inception", "residual", "mlpconv", "vgg block")


@dataclass(frozen=True)
class Node:
    """One operation (or, in a view, a group of operations drawn as one box)."""

    id: str
    kind: str  # conv | pool | gap | relu | act | bn | norm | scale | dense | concat | add | flatten | dropout | input | output | block kinds
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
    ceil_mode: bool = False  # a pooling that rounds its output size up (GoogLeNet's)
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
        """The output-size formula (N - F + 2P)/S + 1 with this layer's own numbers (the ceiling
        for a ceil-mode pooling; explorer.basics.sizes holds the rule)."""
        if self.kernel is None or not self.in_shapes or len(self.in_shapes[0]) < 3:
            return ""
        n, f, p, s, d = (
            self.in_shapes[0][-2],
            self.kernel[0],
            self.padding[0],
            self.stride[0],
            self.dilation[0],
        )
        return window_formula_text(n, f, p, s, d, self.ceil_mode)

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

    def view(self, level: str = "blocks", open: Iterable[str] = ()) -> Graph:
        """The graph at a level of detail: 'ops', 'layers' or 'blocks' (blocks in ``open`` stay open)."""
        if level not in ("ops", "layers", "blocks"):
            raise ValueError(f"Unknown level {level!r}: use 'ops', 'layers' or 'blocks'.")
        if level == "ops":
            return self
        return self._grouped(self._box_keys(level, set(open)))

    def _box_keys(self, level: str, opened: set[str]) -> dict[str, str]:
        """Operation id -> the id of the box it is drawn in at ``level``."""
        consumers: dict[str, int] = {}
        for e in self.edges:
            consumers[e.src] = consumers.get(e.src, 0) + 1
        key: dict[str, str] = {}
        for n in self.nodes:
            if level == "blocks" and n.block and n.block not in opened:
                key[n.id] = n.block
            elif n.kind in FOLDABLE:
                key[n.id] = self._fold_target(n, level, opened, key, consumers)
            else:
                key[n.id] = n.id
        return key

    def _fold_target(
        self, n: Node, level: str, opened: set[str], key: dict[str, str], consumers: dict[str, int]
    ) -> str:
        """The box a foldable operation joins: its only producer's, when it is that producer's only
        consumer in the same block (or in a closed block at "blocks"); else its own."""
        ins = self.inputs(n.id)
        if (
            len(ins) != 1
            or consumers.get(ins[0].src, 0) != 1
            or self.node(ins[0].src).kind == "input"
        ):
            return n.id
        src_key = key[ins[0].src]
        src_block = self.node(ins[0].src).block
        if src_block == n.block or (
            level == "blocks" and src_block not in opened and src_key == src_block
        ):
            return src_key
        return n.id

    def _grouped(self, key: dict[str, str]) -> Graph:
        """One box per key: members merged, edges between different boxes kept once."""
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
            return Node(
                k,
                b.kind,
                b.name,
                k,
                b.type or b.kind,
                members[0].in_shapes,
                last.out_shape,
                sum(m.params for m in members),
                sum(m.macs for m in members),
                field=last.field,
                block=k,
                members=ids,
                folded=(),
            )
        head = members[0]
        unit = head.module.rpartition(".")[0]
        if unit in self.units and all(
            m.module == unit or m.module.startswith(unit + ".") for m in members
        ):
            # GoogLeNet's BasicConv2d: the box is the unit, whose output a feature-map view shows.
            head = replace(head, id=head.id, name=self.units[unit], module=unit)
        return replace(
            head,
            out_shape=last.out_shape,
            field=last.field,
            params=sum(m.params for m in members),
            own_params=members[0].params,
            macs=sum(m.macs for m in members),
            members=ids,
            folded=tuple(m.kind for m in members[1:]),
        )

    def to_json(self, indent: int | None = None) -> str:
        """Nodes, edges and shapes as JSON (for notebooks and other tools)."""

        def node(n: Node) -> dict[str, Any]:
            d = asdict(n)
            d["field"] = (
                None
                if n.field is None
                else {
                    "size": None if n.field.is_global else list(n.field.size),
                    "jump": None if n.field.is_global else list(n.field.jump),
                    "start": None if n.field.is_global else list(n.field.start),
                    "global": n.field.is_global,
                }
            )
            return d

        return json.dumps(
            {
                "arch": self.arch,
                "input_shape": list(self.input_shape),
                "nodes": [node(n) for n in self.nodes],
                "edges": [{"src": e.src, "dst": e.dst, "shape": list(e.shape)} for e in self.edges],
                "blocks": [asdict(b) for b in self.blocks.values()],
            },
            indent=indent,
        )
