"""Several architectures side by side, drawn to one depth scale: each network is a column of its
blocks and layers, each as tall as the convolution and dense layers on its longest path (a VGG
block of three 3x3 convolutions is three layers tall, a basic residual block two, a pooling
layer nothing), so the column's height is the network's depth as the papers count it (VGG-16:
16, ResNet-18: 18, GoogLeNet: 22) and depth reads as height.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from explorer.probe.graph import Graph, Node
from explorer.probe.names import display_name
from explorer.viz.diagram.canvas import LINE_EM, text_px
from explorer.viz.diagram.figure import SCREEN_PX, colourbar_px, colourbar_trace
from explorer.viz.diagram.style import colour_of, colour_range, hover, measure

WEIGHTED = ("conv", "dense")
LAYER_EM = 1.35  # pixels per layer of depth, in font sizes: a one-layer box holds its label


def depths(graph: Graph) -> dict[str, int]:
    """Operation id -> weight layers (convolution, dense) on the longest path from the input to
    it, itself included."""
    return _weight_depths(graph, None)


def network_depth(graph: Graph) -> int:
    """The network's depth: weight layers on its longest path (ResNet-18: 18, VGG-16: 16)."""
    return max(depths(graph).values(), default=0)


def box_depth(graph: Graph, node: Node) -> int:
    """Weight layers on the longest path inside one box of a view (a block or a layer)."""
    return max(_weight_depths(graph, set(node.members) or {node.id}).values(), default=0)


def _weight_depths(graph: Graph, members: set[str] | None) -> dict[str, int]:
    """Weight layers on the longest path to each operation, over the operations in ``members``
    (all of them for None) and the edges between them."""
    inside = {n.id for n in graph.nodes} if members is None else members
    preds: dict[str, list[str]] = {m: [] for m in inside}
    for e in graph.edges:
        if e.dst in inside and e.src in inside:
            preds[e.dst].append(e.src)
    out: dict[str, int] = {}
    for n in graph.nodes:  # execution order is a topological order
        if n.id in inside:
            out[n.id] = max((out[p] for p in preds[n.id]), default=0) + (n.kind in WEIGHTED)
    return out


def _column(graph: Graph, font: float) -> tuple[list[tuple[Node, int]], float]:
    """(box, depth) for each box of the blocks view with a depth, and the widest label."""
    view = graph.view("blocks")
    boxes = [(n, box_depth(graph, n)) for n in view.nodes]
    boxes = [(n, d) for n, d in boxes if d > 0]
    return boxes, max((text_px(display_name(n.name), font) for n, _ in boxes), default=0.0)


def side_by_side(
    graphs: dict[str, Graph],
    colour_by: str = "output size",
    *,
    font: float = SCREEN_PX,
    max_width: float = 1000,
) -> go.Figure:
    """Full graphs (every operation) of several architectures, each a column of its blocks at one
    depth scale (see the module docstring); ``graphs`` maps a column title to a graph."""
    lo, hi = colour_range([g.view("blocks") for g in graphs.values()], colour_by)
    deepest = max((network_depth(g) for g in graphs.values()), default=1)
    shapes, notes, data = [], [], []
    x = 0.0
    gap = 1.5 * font
    for title, graph in graphs.items():
        column = _network_column(
            title, graph, x, font, lambda n: colour_of(measure(n, colour_by), lo, hi)
        )
        shapes += column.shapes
        data += column.traces
        notes.append(column.head)
        x += column.width + gap
    data.append(colourbar_trace(colour_by, lo, hi, font))
    return go.Figure(
        {"data": data, "layout": _side_layout(shapes, notes, x - gap, deepest, font, max_width)}
    )


@dataclass(frozen=True)
class _Column:
    """One network's column: its boxes (shapes), label and hover traces, heading, and width."""

    shapes: list[dict]
    traces: list[dict]
    head: dict
    width: float


def _network_column(
    title: str, graph: Graph, x: float, font: float, colour: Callable[[Node], str]
) -> _Column:
    """The column of one network at ``x``: a box per block as tall as its depth, its name to the
    right, its hover on the box, and the title and depth above."""
    bar = 1.6 * font
    boxes, widest = _column(graph, font)
    head = [title, f"{network_depth(graph)} layers"]
    width = max(bar + 6 + widest, max(text_px(t, font) for t in head))
    y = 0.0
    shapes, tx, ty, hx, hy, texts, hovers = [], [], [], [], [], [], []
    for n, d in boxes:
        shapes.append(
            dict(
                type="rect",
                x0=x,
                x1=x + bar,
                y0=y + 0.04,
                y1=y + d - 0.04,
                name=title,
                fillcolor=colour(n),
                line=dict(color="#333333", width=1),
                layer="below",
            )
        )
        tx.append(x + bar + 2)
        ty.append(y + d / 2)
        texts.append(html.escape(display_name(n.name)))
        hx.append(x + bar / 2)
        hy.append(y + d / 2)
        hovers.append(hover(n) + f"<br>{d} weight layer{'s' if d != 1 else ''} deep")
        y += d
    labels = dict(
        type="scatter",
        x=tx,
        y=ty,
        mode="text",
        text=texts,
        textposition="middle right",
        textfont=dict(size=font, color="#111111"),
        hoverinfo="skip",
        showlegend=False,
        cliponaxis=False,
    )
    hover_targets = dict(
        type="scatter",
        x=hx,
        y=hy,
        mode="markers",
        hovertext=hovers,
        hoverinfo="text",
        marker=dict(size=bar, color="rgba(0,0,0,0)"),
        showlegend=False,
    )
    return _Column(shapes, [labels, hover_targets], _heading(x, head, font), width)


def _heading(x: float, lines: list[str], font: float) -> dict:
    """A column's title and depth, above its top at ``x``."""
    return dict(
        x=x,
        y=0,
        yref="y",
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        align="left",
        text="<br>".join(html.escape(t) for t in lines),
        font=dict(size=font),
    )


def _side_layout(
    shapes: list[dict],
    notes: list[dict],
    plot_w: float,
    deepest: int,
    font: float,
    max_width: float,
) -> dict:
    """The layout: the depth axis on the left (``deepest`` layers, LAYER_EM fonts per layer), the
    titles above and the colour bar below."""
    axis_w = 3.5 * font + 30  # the depth axis: tick labels and its title
    width = max(max_width, plot_w + axis_w + 20)
    top = 2 * LINE_EM * font + 12
    return dict(
        shapes=shapes,
        annotations=notes,
        width=width,
        height=round(deepest * LAYER_EM * font + top + colourbar_px(font)),
        margin=dict(l=round(axis_w), r=10, t=round(top), b=round(colourbar_px(font))),
        plot_bgcolor="white",
        hovermode="closest",
        showlegend=False,
        font=dict(size=font),
        xaxis=dict(
            visible=False, range=[-0.3 * font, width - axis_w - 20 - 0.3 * font], fixedrange=True
        ),
        yaxis=dict(
            range=[deepest + 0.2, 0],
            title=dict(text="depth (conv + dense layers)", font=dict(size=font)),
            tickfont=dict(size=font),
            dtick=5 if deepest <= 30 else 10,
            gridcolor="#eeeeee",
            zeroline=False,
            fixedrange=True,
        ),
    )
