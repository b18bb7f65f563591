"""The clickable architecture diagram as a plotly figure (one marker per node, customdata = the
node id a page's selection returns), and several architectures side by side.

Traces are built as plain dicts and the figure validated once: one ``go.Scatter`` per trace cost
about a second for ResNet-50's boxes, dicts about 50 ms.
"""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.probe.graph import Graph, Node
from explorer.viz.diagram.layout import Layout, block_boxes, layout
from explorer.viz.diagram.style import (
    COLOURSCALE,
    KIND_NAMES,
    SYMBOLS,
    colour_of,
    colour_range,
    hover,
    label_text,
    measure,
    node_label,
    shape_text,
    short,
)

ROW_PX = 23  # vertical pixels per row: ResNet-50 collapsed (22 rows) fits a 720-pixel screen


def _traces(lay: Layout, colour_by: str, lo: float, hi: float, selected: str | None, full_labels: bool,
            xaxis: str = "x", yaxis: str = "y", legend: bool = True) -> list[dict]:  # fmt: skip
    """Plain trace dicts (one validation of the whole figure is much cheaper than one per trace)."""
    graph = lay.graph
    ex: list[float | None] = []
    ey: list[float | None] = []
    for route in lay.routes:
        for px, py in route:
            ex.append(px)
            ey.append(-py)
        ex.append(None)
        ey.append(None)
    traces = [dict(type="scatter", x=ex, y=ey, mode="lines", line=dict(color="#9a9a9a", width=1.2),
                   hoverinfo="skip", showlegend=False, xaxis=xaxis, yaxis=yaxis)]  # fmt: skip
    mids = [(sum(p[0] for p in r[-2:]) / 2, -sum(p[1] for p in r[-2:]) / 2, shape_text(e.shape))
            for r, e in zip(lay.routes, graph.edges, strict=True)]  # fmt: skip
    traces.append(dict(type="scatter", x=[m[0] for m in mids], y=[m[1] for m in mids], mode="markers",
                             marker=dict(size=6, color="rgba(0,0,0,0)"), hovertext=[m[2] for m in mids],
                             hoverinfo="text", showlegend=False, xaxis=xaxis, yaxis=yaxis))  # fmt: skip
    kinds: dict[str, list[Node]] = {}
    for n in graph.nodes:
        kinds.setdefault("input" if n.kind in ("input", "output") else n.kind, []).append(n)

    def text(n: Node) -> str:
        if n.id in lay.crowded:  # side by side with a sibling: the short name, under the marker
            return html.escape(node_label(n, graph).split("  ")[0])
        return html.escape(label_text(n, graph, True) if full_labels else node_label(n, graph))

    for kind, nodes in kinds.items():
        big = kind in ("inception", "residual", "mlpconv", "vgg block")
        traces.append(dict(
            type="scatter", x=[lay.pos[n.id][0] for n in nodes], y=[-lay.pos[n.id][1] for n in nodes],
            mode="markers+text", name=KIND_NAMES.get(kind, kind), legendgroup=kind, showlegend=legend,
            text=[text(n) for n in nodes],
            textposition=["bottom center" if n.id in lay.crowded else "middle right" for n in nodes],
            textfont=dict(size=[10.5 if n.id in lay.crowded else 12 for n in nodes], color="#1f1f1f"),
            customdata=[n.id for n in nodes], hovertext=[hover(n) for n in nodes], hoverinfo="text",
            marker=dict(symbol=SYMBOLS.get(kind, "circle"), size=20 if big else 15,
                        color=[colour_of(measure(n, colour_by), lo, hi) for n in nodes],
                        line=dict(color=["#d62728" if n.id == selected else "#333333" for n in nodes],
                                  width=[3.5 if n.id == selected else 1 for n in nodes])),
            xaxis=xaxis, yaxis=yaxis,
        ))  # fmt: skip
    return traces


def _colourbar_trace(colour_by: str, lo: float, hi: float) -> dict:
    ticks = list(range(math.ceil(lo), math.floor(hi) + 1)) or [lo]
    return dict(
        type="scatter", x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(colorscale=COLOURSCALE, cmin=lo, cmax=hi, color=[lo], showscale=True,
                    colorbar=dict(title=dict(text=colour_by, side="right"), orientation="h", thickness=10,
                                  len=0.45, x=1.0, xanchor="right", y=1.0, yanchor="bottom",
                                  tickvals=ticks, ticktext=[short(10**t) for t in ticks], tickfont=dict(size=10))),
    )  # fmt: skip


def figure(graph: Graph, colour_by: str = "output size", selected: str | None = None,
           title: str | None = None) -> go.Figure:  # fmt: skip
    """The clickable diagram: one marker per node (customdata = node id), edges as lines.

    Colour = the measure (log scale, colour bar); symbol = the kind of layer (legend).
    """
    lay = layout(graph)
    lo, hi = colour_range([graph], colour_by)
    data = _traces(lay, colour_by, lo, hi, selected, full_labels=False) + [
        _colourbar_trace(colour_by, lo, hi)
    ]
    boxes = block_boxes(lay)
    shapes = [dict(type="rect", x0=x0, x1=x1, y0=-r0, y1=-r1, fillcolor="rgba(76,120,168,0.08)",
                   line=dict(color="rgba(76,120,168,0.6)", dash="dot"), layer="below")
              for _, x0, x1, r0, r1 in boxes]  # fmt: skip
    notes = [dict(x=x0, y=-r0, text=html.escape(name), showarrow=False, xanchor="left", yanchor="top",
                  font=dict(size=11, color="#4c78a8")) for name, x0, _, r0, _ in boxes]  # fmt: skip
    label_room = 2.6  # columns of room to the right of the last node for its label
    height = max(260, int(lay.rows * ROW_PX) + 85)
    layout_ = dict(
        shapes=shapes, annotations=notes, height=height, margin=dict(l=10, r=10, t=70 if title else 45, b=10), title=title,
        plot_bgcolor="white", dragmode="pan", hovermode="closest", clickmode="event+select",
        legend=dict(orientation="v", x=1.0, xanchor="right", y=0.0, yanchor="bottom",
                    bgcolor="rgba(255,255,255,0.85)", font=dict(size=11), itemsizing="constant"),
        xaxis=dict(visible=False, range=[lay.x_min - 0.6, lay.x_max + label_room], fixedrange=False),
        yaxis=dict(visible=False, range=[-(lay.rows - 0.4), 0.6], fixedrange=False),
    )  # fmt: skip
    return go.Figure({"data": data, "layout": layout_})


def side_by_side(graphs: dict[str, Graph], colour_by: str = "output size") -> go.Figure:
    """Several architectures in columns at the same vertical scale (one row = one layer or block)."""
    lays = {title: layout(g) for title, g in graphs.items()}
    lo, hi = colour_range(list(graphs.values()), colour_by)
    rows = max(lay.rows for lay in lays.values())
    fig = make_subplots(rows=1, cols=len(lays), subplot_titles=list(lays), horizontal_spacing=0.01)
    for i, lay in enumerate(lays.values(), start=1):
        for t in _traces(lay, colour_by, lo, hi, None, full_labels=False, legend=i == 1):
            if t.get("text"):
                t.update(
                    textfont=dict(size=10, color="#1f1f1f"),
                    text=[s.split("  ")[0] for s in t["text"]],
                )
            fig.add_trace(t, row=1, col=i)
        fig.update_xaxes(visible=False, range=[lay.x_min - 0.5, lay.x_max + 2.2], row=1, col=i)
        fig.update_yaxes(visible=False, range=[-(rows - 0.4), 0.6], row=1, col=i)
    bar = _colourbar_trace(colour_by, lo, hi)
    bar["marker"]["colorbar"].update(orientation="v", x=1.0, xanchor="left", y=0.5, yanchor="middle", len=0.6,
                                     title=dict(text=colour_by, side="right"))  # fmt: skip
    fig.add_trace(bar)
    fig.update_annotations(font=dict(size=12))
    fig.update_layout(height=max(300, int(rows * ROW_PX) + 60), margin=dict(l=10, r=70, t=40, b=10),
                      plot_bgcolor="white", showlegend=False, hovermode="closest")  # fmt: skip
    return fig

