"""The clickable architecture diagram as a plotly figure (one marker per node, customdata = the
node id a page's selection returns).

The geometry comes from :mod:`.canvas` in pixels at the figure's own type size (13 px on a screen,
16 px on a projector): the axes map one data unit to one pixel at the declared width, labels sit
where the canvas reserved room for them, residual blocks drawn as one node get their shortcut as
an arc around it, and a long network is wrapped into columns. Traces are plain dicts validated
once (one ``go.Scatter`` per trace cost about a second for ResNet-50's boxes, dicts about 50 ms).
"""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go

from explorer.probe.graph import Graph, Node
from explorer.viz.diagram.canvas import Canvas, canvas, marker_px, text_px
from explorer.viz.diagram.layout import layout
from explorer.viz.diagram.style import (
    COLOURSCALE,
    KIND_NAMES,
    SYMBOLS,
    colour_of,
    colour_range,
    hover,
    measure,
    shape_text,
    short,
)

ROW_PX = 27  # vertical pixels per row at the screen's 13-pixel type (2.1 x the font size)
SCREEN_PX, PROJECTOR_PX = 13, 16  # label type: readable on a screen; from the back of a room
# Okabe-Ito vermillion: the residual shortcut stands out of the grey edges
SHORTCUT_COLOUR = "#D55E00"
BOX_COLOUR = "#4c78a8"


def _edge_traces(cv: Canvas) -> list[dict]:
    ex: list[float | None] = []
    ey: list[float | None] = []
    for route in cv.routes:
        ex += [p[0] for p in route] + [None]
        ey += [p[1] for p in route] + [None]
    mids = [
        ((r[-2][0] + r[-1][0]) / 2, (r[-2][1] + r[-1][1]) / 2, shape_text(e.shape))
        for r, e in zip(cv.routes, cv.lay.graph.edges, strict=True)
    ]
    return [
        dict(
            type="scatter",
            x=ex,
            y=ey,
            mode="lines",
            line=dict(color="#9a9a9a", width=1.4),
            hoverinfo="skip",
            showlegend=False,
        ),
        dict(
            type="scatter",
            x=[m[0] for m in mids],
            y=[m[1] for m in mids],
            mode="markers",
            marker=dict(size=8, color="rgba(0,0,0,0)"),
            hovertext=[m[2] for m in mids],
            hoverinfo="text",
            showlegend=False,
        ),
    ]


def _node_traces(
    cv: Canvas, colour_by: str, lo: float, hi: float, selected: str | None
) -> list[dict]:
    kinds: dict[str, list[Node]] = {}
    for n in cv.lay.graph.nodes:
        kinds.setdefault("input" if n.kind in ("input", "output") else n.kind, []).append(n)
    traces = []
    for kind, nodes in kinds.items():
        traces.append(
            dict(
                type="scatter",
                x=[cv.xy[n.id][0] for n in nodes],
                y=[cv.xy[n.id][1] for n in nodes],
                mode="markers+text",
                name=KIND_NAMES.get(kind, kind),
                legendgroup=kind,
                text=[html.escape(cv.texts[n.id]) for n in nodes],
                cliponaxis=False,
                textposition=[
                    "bottom center" if n.id in cv.below else "middle right" for n in nodes
                ],
                textfont=dict(size=cv.font, color="#111111"),
                customdata=[n.id for n in nodes],
                hovertext=[hover(n) for n in nodes],
                hoverinfo="text",
                marker=dict(
                    symbol=SYMBOLS.get(kind, "circle"),
                    size=[marker_px(n.kind, cv.font) for n in nodes],
                    color=[colour_of(measure(n, colour_by), lo, hi) for n in nodes],
                    line=dict(
                        color=["#d62728" if n.id == selected else "#333333" for n in nodes],
                        width=[3.5 if n.id == selected else 1 for n in nodes],
                    ),
                ),
            )
        )
    return traces


def _shortcut_parts(cv: Canvas) -> tuple[list[dict], list[dict]]:
    """Arcs around the collapsed residual blocks (shapes named "shortcut") and their legend lines."""
    shapes = [
        dict(
            type="path",
            name="shortcut",
            layer="below",
            path=f"M {s.x},{s.top} Q {s.x - 2 * s.bulge},{(s.top + s.bottom) / 2} {s.x},{s.bottom}",
            line=dict(color=SHORTCUT_COLOUR, width=2.5, dash="dash" if s.projection else "solid"),
        )
        for s in cv.shortcuts
    ]
    legend = []
    for projection, name in ((False, "shortcut (identity)"), (True, "shortcut (1x1 projection)")):
        if any(s.projection == projection for s in cv.shortcuts):
            legend.append(
                dict(
                    type="scatter",
                    x=[None],
                    y=[None],
                    mode="lines",
                    name=name,
                    hoverinfo="skip",
                    line=dict(
                        color=SHORTCUT_COLOUR, width=2.5, dash="dash" if projection else "solid"
                    ),
                )
            )
    return shapes, legend


def colourbar_trace(colour_by: str, lo: float, hi: float, font: float) -> dict:
    """An invisible trace carrying the colour bar: horizontal, under the plot, title above the bar
    and ticks below it (so neither covers the other at any type size)."""
    ticks = list(range(math.ceil(lo), math.floor(hi) + 1)) or [lo]
    return dict(
        type="scatter",
        x=[None],
        y=[None],
        mode="markers",
        showlegend=False,
        hoverinfo="skip",
        marker=dict(
            colorscale=COLOURSCALE,
            cmin=lo,
            cmax=hi,
            color=[lo],
            showscale=True,
            colorbar=dict(
                title=dict(text=colour_by, side="top", font=dict(size=font)),
                orientation="h",
                thickness=12,
                len=0.5,
                lenmode="fraction",
                x=1.0,
                xanchor="right",
                y=-0.01,
                yanchor="top",
                ypad=4,
                tickvals=ticks,
                ticktext=[short(10**t) for t in ticks],
                tickfont=dict(size=font),
            ),
        ),
    )


def colourbar_px(font: float) -> float:
    """Pixels under the plot that the colour bar needs: title, bar, tick labels."""
    return 1.3 * font + 12 + 1.4 * font + 20


def legend_px(names: list[str], font: float, width: float) -> float:
    """Pixels above the plot that a horizontal legend of ``names`` needs at ``width`` pixels."""
    rows, used = 1, 0.0
    for name in names:
        item = 40 + text_px(name, font)
        if used and used + item > width:
            rows, used = rows + 1, 0.0
        used += item
    return rows * (1.6 * font + 4) + 6


def figure(
    graph: Graph,
    colour_by: str = "output size",
    selected: str | None = None,
    title: str | None = None,
    *,
    font: float = SCREEN_PX,
    max_width: float = 1000,
    max_height: float = 520,
    grow_to: float | None = None,
) -> go.Figure:
    """The clickable diagram: one marker per node (customdata = node id), edges as lines.

    Colour = the measure (log scale, colour bar); symbol = the kind of layer (legend); labels at
    ``font`` pixels; ``max_width`` / ``max_height``: the room the page expects to give it (a long
    network is wrapped into columns to fit it; the figure's declared width is at least
    ``max_width``, its drawing centred, one data unit one pixel). ``grow_to``: a larger type for the
    labels where a short network leaves the room for it (a projector's back rows).
    """
    cv = _fitted_canvas(graph, font, max_width, max_height, grow_to)
    lo, hi = colour_range([graph], colour_by)
    shortcut_shapes, shortcut_legend = _shortcut_parts(cv)
    nodes = _node_traces(cv, colour_by, lo, hi, selected)
    data = _edge_traces(cv) + nodes + shortcut_legend + [colourbar_trace(colour_by, lo, hi, font)]
    boxes, notes = _block_boxes(cv)
    width = max(max_width, cv.width + 20)
    spare = (width - 20 - cv.width) / 2
    names = [t["name"] for t in nodes + shortcut_legend]
    top = legend_px(names, font, width - 20) + (1.8 * font + 10 if title else 0)
    bottom = colourbar_px(font)
    layout_ = dict(
        shapes=shortcut_shapes + boxes,
        annotations=notes,
        width=width,
        height=round(cv.height + top + bottom),
        margin=dict(l=10, r=10, t=round(top), b=round(bottom)),
        title=dict(text=title, font=dict(size=font + 2)),
        xaxis=dict(visible=False, range=[-spare, cv.width + spare], fixedrange=False),
        yaxis=dict(visible=False, range=[cv.height, 0], fixedrange=False),
        **_interaction_and_type(font),
    )
    return go.Figure({"data": data, "layout": layout_})


def _fitted_canvas(
    graph: Graph, font: float, max_width: float, max_height: float, grow_to: float | None
) -> Canvas:
    """The canvas at ``font``, or at the largest size down from ``grow_to`` that still fits the
    room (the labels grow; legend and colour bar keep ``font``)."""
    lay = layout(graph)
    cv = canvas(graph, font=font, max_width=max_width - 20, max_height=max_height, lay=lay)
    for size in range(int(grow_to or 0), int(font), -2):
        bigger = canvas(graph, font=size, max_width=max_width - 20, max_height=max_height, lay=lay)
        if bigger.height <= max_height and bigger.width <= max_width - 20:
            return bigger
    return cv


def _block_boxes(cv: Canvas) -> tuple[list[dict], list[dict]]:
    """The dotted boxes around named blocks (shapes) and their names (annotations)."""
    shapes = [
        dict(
            type="rect",
            x0=x0,
            x1=x1,
            y0=y0,
            y1=y1,
            fillcolor="rgba(76,120,168,0.08)",
            line=dict(color="rgba(76,120,168,0.6)", dash="dot"),
            layer="below",
        )
        for _, x0, x1, y0, y1 in cv.boxes
    ]
    notes = [
        dict(
            x=x0 + 0.3 * cv.font,
            y=y0 + 2,
            text=html.escape(name),
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(size=cv.font, color=BOX_COLOUR),
        )
        for name, x0, _, y0, _ in cv.boxes
    ]
    return shapes, notes


def _interaction_and_type(font: float) -> dict:
    """Layout keys shared by every diagram: white plot, pan and click to select, type and legend
    at ``font`` pixels, the legend in rows above the plot."""
    return dict(
        plot_bgcolor="white",
        dragmode="pan",
        hovermode="closest",
        clickmode="event+select",
        font=dict(size=font),
        hoverlabel=dict(font=dict(size=font)),
        legend=dict(
            orientation="h",
            x=0.0,
            xanchor="left",
            y=1.0,
            yanchor="bottom",
            font=dict(size=font),
            bgcolor="rgba(255,255,255,0.85)",
            itemsizing="constant",
        ),
    )
