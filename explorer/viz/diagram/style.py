"""How a diagram node looks, whatever draws it: its colour (a measure on a log scale), its
symbol, its label and its hover text. Shared by the plotly figure and the static exports.
"""

from __future__ import annotations

import html
import math

from plotly.colors import sample_colorscale

from explorer.probe.graph import Graph, Node
from explorer.probe.names import display_name

BLOCK_KINDS = ("inception", "residual", "mlpconv", "vgg block")
MEASURES = {
    "output size": "values in the layer's output",
    "parameters": "parameters",
    "MACs": "multiply-accumulates",
}
COLOURSCALE = "Viridis"
ZERO_COLOUR = "#c8c8c8"  # nodes whose measure is 0 (ReLU, add, concat...)
SYMBOLS = {
    "input": "circle",
    "output": "circle",
    "conv": "square",
    "pool": "diamond",
    "gap": "diamond-tall",
    "dense": "hexagon",
    "relu": "triangle-down",
    "act": "triangle-down",
    "bn": "bowtie",
    "norm": "bowtie",
    "scale": "bowtie-open",
    "dropout": "x",
    "flatten": "hourglass",
    "add": "circle-cross",
    "concat": "star-diamond",
    "inception": "octagon",
    "residual": "pentagon",
    "mlpconv": "square-x",
    "vgg block": "square",
}
KIND_NAMES = {
    "input": "input / output",
    "output": "input / output",
    "conv": "convolution",
    "pool": "pooling",
    "gap": "global avg pool",
    "dense": "dense",
    "relu": "ReLU",
    "act": "activation",
    "bn": "batch norm",
    "norm": "normalisation",
    "scale": "rescale x*s+o",
    "dropout": "dropout",
    "flatten": "flatten",
    "add": "residual add (+)",
    "concat": "concatenation",
    "inception": "Inception module",
    "residual": "residual block",
    "mlpconv": "NiN block",
    "vgg block": "VGG block",
}


def measure(node: Node, name: str) -> int:
    """The value a node is coloured by: 'output size', 'parameters' or 'MACs'."""
    if name == "parameters":
        return node.params
    if name == "MACs":
        return node.macs
    if name == "output size":
        return math.prod(node.out_shape)
    raise ValueError(f"Unknown measure {name!r}: use one of {', '.join(MEASURES)}.")


def colour_range(graphs: list[Graph], name: str) -> tuple[float, float]:
    """log10 of the smallest and largest positive measure over ``graphs`` (one colour scale)."""
    values = [measure(n, name) for g in graphs for n in g.nodes if measure(n, name) > 0]
    if not values:
        return 0.0, 1.0
    lo, hi = math.log10(min(values)), math.log10(max(values))
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


_PALETTE = sample_colorscale(COLOURSCALE, [i / 255 for i in range(256)])


def colour_of(value: int, lo: float, hi: float) -> str:
    """The fill of a node whose measure is ``value`` on the log range ``lo..hi`` (grey for 0)."""
    if value <= 0:
        return ZERO_COLOUR
    t = (math.log10(value) - lo) / (hi - lo)
    return _PALETTE[round(255 * min(1.0, max(0.0, t)))]


def short(n: int | float) -> str:
    """12_345_678 -> '12.3M' (labels and colour-bar ticks)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:g}"


def shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape))


def describe(node: Node) -> str:
    """A few words for the label: '3x3/2, 128' for a convolution, 'max 3x3/2' for a pool."""
    k = node.kernel
    if node.kind == "conv" and k:
        stride = f"/{node.stride[0]}" if node.stride and node.stride[0] != 1 else ""
        return f"{k[0]}x{k[1]}{stride}, {node.out_shape[0]}"
    if node.kind == "pool" and k:
        kind = "max" if "Max" in node.type or "max" in node.type else "avg"
        return f"{kind} {k[0]}x{k[1]}/{node.stride[0]}"
    if node.kind == "pool":  # adaptive; with a flatten folded in, its map size is gone
        return (
            f"adaptive -> {shape_text(node.out_shape[-2:])}"
            if len(node.out_shape) == 3
            else "adaptive"
        )
    if node.kind == "dense":
        return f"{node.out_shape[-1]}"
    if node.kind in ("inception", "residual", "mlpconv", "vgg block"):
        return f"{node.out_shape[0]} ch"
    if node.kind == "add":
        return "(+)"
    if node.kind == "concat":
        return f"{node.out_shape[0]} ch"
    return ""


def label_text(node: Node, graph: Graph, full: bool) -> str:
    """The text beside a node: name and a few words; ``full`` adds what is folded into it and keeps
    the block's prefix of a name inside an opened block."""
    name = node.name
    block = graph.blocks.get(node.block)
    if not full and block is not None and name.startswith(block.name + "/"):
        name = name[len(block.name) + 1 :]
    if node.kind == "input":
        return f"input {shape_text(node.out_shape)}"
    if node.kind == "output":
        return f"output {shape_text(node.out_shape)}"
    text = display_name(name)
    desc = describe(node)
    if desc:
        text += f"  {desc}"
    if node.folded and full:
        text += " +" + "+".join(
            dict.fromkeys(
                "ReLU" if k == "relu" else k.upper() if k == "bn" else k for k in node.folded
            )
        )
    return text


def hover(node: Node) -> str:
    """The hover box: what a node is, its shapes and its numbers (escaped, plotly's small HTML)."""
    lines = [
        f"<b>{html.escape(display_name(node.name))}</b> ({html.escape(KIND_NAMES.get(node.kind, node.kind))})"
    ]
    if node.module:
        lines.append(f"module: {html.escape(node.module)}")
    if node.in_shapes:
        lines.append("in: " + ", ".join(shape_text(s) for s in node.in_shapes))
    lines.append(f"out: {shape_text(node.out_shape)}")
    if node.kernel:
        lines.append(
            f"kernel {node.kernel[0]}x{node.kernel[1]}, stride {node.stride[0]}, padding {node.padding[0]}"
        )
    if node.params:
        lines.append(f"{node.params:,} parameters")
    if node.macs:
        lines.append(f"{node.macs:,} MACs")
    if node.rf:
        lines.append(f"receptive field {node.rf}")
    return "<br>".join(lines)


def node_label(node: Node, graph: Graph) -> str:
    """Full label on the trunk; inside an opened block the short one (the block names the box)."""
    inside = bool(node.block) and node.block in graph.blocks and node.id != node.block
    return label_text(node, graph, full=not inside)
