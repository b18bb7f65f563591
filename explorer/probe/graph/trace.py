"""Tracing a network into its :class:`~explorer.probe.graph.structure.Graph` on the ``meta`` device.

A ``TorchFunctionMode`` records every torch call of one forward pass (functional ReLUs,
``torch.cat`` and ``out += identity`` included, which module hooks alone would miss), and forward
pre/post hooks tell which module each call belongs to (all removed in ``finally``). No weights
are allocated and nothing is computed: the pass runs on the meta device in milliseconds.
Receptive fields are then propagated along the finished graph.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.probe.block_kinds import (
    CONV_UNIT,
    is_inception,
    is_nin_block,
    is_residual,
    is_vgg_block,
    naming_style,
)
from explorer.probe.graph.calls import (
    check_features,
    check_size,
    flat,
    op_kind,
    op_macs,
    window_attrs,
)
from explorer.probe.graph.structure import Block, Edge, Graph, Node, Shape
from explorer.probe.names import layer_names
from explorer.probe.receptive_field import GLOBAL_FIELD, INPUT_FIELD, Field, _merge, apply_window
from explorer.probe.summary import instantiate


class _Recorder(TorchFunctionMode):
    """Records one forward pass: a node per significant torch call, producers by tensor id."""

    def __init__(
        self, names: dict[str, str], blocks: dict[str, str], modules: dict[str, nn.Module]
    ) -> None:
        super().__init__()
        self.names = names
        self.block_of = blocks  # module path -> outermost block id
        self.stack: list[str] = []
        self.modules = modules  # module path -> module
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.producer: dict[int, str] = {}
        self.alive: list[torch.Tensor] = []
        self.calls: dict[str, int] = {}
        self.owned: set[str] = set()  # modules whose parameters were counted already
        self.owned_calls: set[str] = (
            set()
        )  # leaf modules whose one call is recorded (until they return)

    def _id(self, base: str) -> str:
        self.calls[base] = self.calls.get(base, 0) + 1
        return base if self.calls[base] == 1 else f"{base}#{self.calls[base]}"

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        fname = getattr(func, "__name__", "")
        tensors = [
            a for a in flat(list(args)) + flat(list(kwargs.values())) if isinstance(a, torch.Tensor)
        ]
        traced = sum(1 for t in tensors if id(t) in self.producer)
        kind = op_kind(fname, tensors, traced)
        module = self.stack[-1] if self.stack else ""
        if kind in ("conv", "pool"):
            check_size(fname, args, kwargs, self.names.get(module, module))
        if kind == "dense":
            check_features(args, kwargs, self.names.get(module, module))
        x0 = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if kind == "bn" and x0 is not None and x0.is_meta:
            # Batch norm keeps the shape; torch's meta version runs a slow Python decomposition.
            out = torch.empty_like(x0)
        else:
            out = func(*args, **kwargs)
        outs = [t for t in flat([out]) if isinstance(t, torch.Tensor)]
        sources = [self.producer[id(t)] for t in tensors if id(t) in self.producer]
        if not outs or not sources:
            return out
        if kind is None:  # views and other shape-keeping calls: the output has the input's producer
            for t in outs:
                self._own(t, sources[0])
            return out
        self._record(kind, fname, module, args, kwargs, tensors, outs)
        return out

    def _record(
        self,
        kind: str,
        fname: str,
        module: str,
        args: tuple,
        kwargs: dict,
        tensors: list[torch.Tensor],
        outs: list[torch.Tensor],
    ) -> None:
        """Add the node of one significant call, with edges from the producers of its inputs."""
        result = outs[0]
        mod = self.modules.get(module)
        leaf_call = (
            mod is not None
            and not any(True for _ in mod.children())
            and module not in self.owned_calls
        )
        node_id, name = self._ident(module, fname, leaf_call)
        params = 0
        if leaf_call:
            # A module may name the kind of its one operation (spec_layers.Normalize: "norm").
            kind = getattr(mod, "graph_kind", kind)
            self.owned_calls.add(module)
            if module not in self.owned:
                params = sum(p.numel() for p in mod.parameters(recurse=False))
                self.owned.add(module)
        if kind == "pool" and "adaptive" in fname and tuple(result.shape[-2:]) == (1, 1):
            kind = "gap"
        attrs = window_attrs(kind, fname, args, kwargs)
        in_tensors = [t for t in tensors if id(t) in self.producer]
        if kind in ("conv", "dense", "bn"):
            in_tensors = in_tensors[:1]  # weights and statistics are parameters, not edges
        # Receptive fields are propagated along the finished graph (_fields).
        node = Node(
            node_id,
            kind,
            name,
            module,
            type(mod).__name__ if leaf_call else fname.strip("_"),
            tuple(tuple(t.shape[1:]) for t in in_tensors),
            tuple(result.shape[1:]),
            params,
            op_macs(kind, args, kwargs, result),
            block=self.block_of.get(module, ""),
            **attrs,
        )
        self.nodes.append(node)
        for t in in_tensors:
            self.edges.append(Edge(self.producer[id(t)], node_id, tuple(t.shape[1:])))
        for t in outs:
            self._own(t, node_id)

    def _ident(self, module: str, fname: str, leaf_call: bool) -> tuple[str, str]:
        """Node id and paper-style name of a call: a leaf module's own call is the module; any other
        call is named after the module it runs in (``inception3a/concat``)."""
        if leaf_call:
            node_id = self._id(module)
            name = self.names.get(module, module)
            if self.calls[module] > 1:
                name = f"{name}#{self.calls[module]}"
            return node_id, name
        op_name = fname.strip("_")
        node_id = self._id(f"{module}:{op_name}" if module else op_name)
        parent = self.names.get(module, module)
        op = {"cat": "concat", "iadd": "add", "radd": "add"}.get(op_name, op_name)
        name = f"{parent}/{op}" if parent else op
        if self.calls[node_id.split("#")[0]] > 1:
            name = f"{name}#{self.calls[node_id.split('#')[0]]}"
        return node_id, name

    def _own(self, t: torch.Tensor, node_id: str) -> None:
        self.producer[id(t)] = node_id
        self.alive.append(t)


def _block_kind(m: nn.Module) -> str | None:
    if is_inception(m):
        return "inception"
    if is_residual(m):
        return "residual"
    if is_nin_block(m):
        return "mlpconv"
    if is_vgg_block(m):
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
    net, device = instantiate(model)
    names = layer_names(net, arch)
    style = naming_style(net, arch)
    blocks, block_of = _blocks(net, names, style)
    rec = _Recorder(names, block_of, dict(net.named_modules()))
    out = _recorded_forward(net, rec, input_shape, device)
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
    units = {p: names.get(p, p) for p, m in net.named_modules() if type(m).__name__ in CONV_UNIT}
    return Graph(
        nodes,
        rec.edges,
        tuple(input_shape),
        {k: v for k, v in blocks.items() if k in used},
        arch,
        units,
    )


def _recorded_forward(
    net: nn.Module, rec: _Recorder, input_shape: Shape, device: torch.device
) -> torch.Tensor:
    """One forward pass in eval mode on a zero input, every module's call on ``rec``'s stack while
    it runs, the input recorded as the graph's first node. Returns the output (a tuple's first)."""
    paths = {m: p for p, m in net.named_modules()}
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
    return out[0] if isinstance(out, (tuple, list)) else out


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
