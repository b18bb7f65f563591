"""Architecture diagrams: a layered layout of a :class:`~explorer.probe.graph.Graph`, drawn as a
plotly figure (clickable nodes), a standalone SVG or a PNG. Pure functions, no display.

The layout is a small Sugiyama-style pass written here (no Graphviz binary): ranks by longest
path from the input, columns by the mean column of a node's inputs, siblings (Inception's four
branches, a residual block's projection) spread side by side. An edge that jumps over rows
(a residual shortcut, Inception's 1x1 branch) runs as a bypass to the right of whatever sits
in the rows it crosses, the way the ResNet paper draws its shortcuts.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from explorer.probe.graph import Graph, Node

MEASURES = {
    "output size": "values in the layer's output",
    "parameters": "parameters",
    "MACs": "multiply-accumulates",
}
COLOURSCALE = "Viridis"
ZERO_COLOUR = "#c8c8c8"  # nodes whose measure is 0 (ReLU, add, concat...)
SYMBOLS = {
    "input": "circle", "output": "circle", "conv": "square", "pool": "diamond", "gap": "diamond-tall",
    "dense": "hexagon", "relu": "triangle-down", "act": "triangle-down", "bn": "bowtie", "norm": "bowtie",
    "dropout": "x", "flatten": "hourglass", "add": "circle-cross", "concat": "star-diamond",
    "inception": "octagon", "residual": "pentagon", "mlpconv": "square-x", "vgg block": "square",
}  # fmt: skip
KIND_NAMES = {
    "input": "input / output", "output": "input / output", "conv": "convolution", "pool": "pooling",
    "gap": "global avg pool", "dense": "dense", "relu": "ReLU", "act": "activation", "bn": "batch norm",
    "norm": "normalisation", "dropout": "dropout", "flatten": "flatten", "add": "residual add (+)",
    "concat": "concatenation", "inception": "Inception module", "residual": "residual block",
    "mlpconv": "NiN block", "vgg block": "VGG block",
}  # fmt: skip
ROW_PX = 23  # vertical pixels per row: ResNet-50 collapsed (22 rows) fits a 720-pixel screen
CROWDED_GAP = 1.7  # rows with parallel branches carry their labels below the markers
COL_PX = 170  # horizontal pixels per column of parallel branches


@dataclass(frozen=True)
class Layout:
    """Positions in row/column units (row 0 at the top) and the routes of the edges."""

    graph: Graph
    pos: dict[str, tuple[float, float]]  # node id -> (column, depth); depth 0 at the top, 1 per row
    routes: list[list[tuple[float, float]]]  # per edge of graph.edges: points (column, depth)
    rows: float  # total depth in rows
    x_min: float
    x_max: float
    crowded: frozenset[str] = frozenset()  # nodes sharing their row with another (labels go below)


def layout(graph: Graph) -> Layout:
    """Rows by longest path from the input, columns by barycentre, bypass routes for long edges."""
    preds: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    succs: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for e in graph.edges:
        preds[e.dst].append(e.src)
        succs[e.src].append(e.dst)
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    rank: dict[str, int] = {}
    for n in graph.nodes:
        rank[n.id] = max((rank.get(p, 0) + 1 for p in preds[n.id]), default=0)
    rows: dict[int, list[str]] = {}
    for nid, r in rank.items():
        rows.setdefault(r, []).append(nid)
    x: dict[str, float] = {}
    for r in sorted(rows):
        wanted: dict[str, float] = {}
        for nid in rows[r]:
            ps = preds[nid]
            if not ps:
                wanted[nid] = 0.0
            else:  # siblings of one parent spread around it; joins sit at the mean of their inputs
                wanted[nid] = sum(x[p] for p in ps) / len(ps)
        by_parent: dict[tuple[str, ...], list[str]] = {}
        for nid in rows[r]:
            by_parent.setdefault(tuple(preds[nid]), []).append(nid)
        for group in by_parent.values():
            if len(group) > 1:
                group.sort(key=order.__getitem__)
                for i, nid in enumerate(group):
                    wanted[nid] += i - (len(group) - 1) / 2
        placed = sorted(rows[r], key=lambda n: (wanted[n], order[n]))
        last = -math.inf
        for nid in placed:
            x[nid] = max(wanted[nid], last + 1.0)
            last = x[nid]
        shift = (sum(wanted[n] for n in placed) - sum(x[n] for n in placed)) / len(placed)
        if abs(shift) > 1e-9 and len(placed) > 1:  # keep the row centred on where it wanted to be
            for nid in placed:
                x[nid] += shift
    # A row of siblings carries its labels under the markers: the gap below it is wider.
    crowded = frozenset(n for members in rows.values() if len(members) > 1 for n in members)
    y: dict[int, float] = {}
    depth = 0.0
    for r in range(max(rank.values()) + 1):
        y[r] = depth
        depth += CROWDED_GAP if any(n in crowded for n in rows.get(r, [])) else 1.0
    pos = {nid: (x[nid], y[rank[nid]]) for nid in x}
    routes = []
    for e in graph.edges:
        r0, r1 = rank[e.src], rank[e.dst]
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        if r1 - r0 <= 1:
            routes.append([(x0, y0), (x1, y1)])
            continue
        between = [x[n] for r in range(r0 + 1, r1) for n in rows.get(r, [])]
        blocked = any(abs(v - x0) < 0.5 for v in between)
        if not blocked:
            routes.append([(x0, y0), (x0, y[r1 - 1]), (x1, y1)])
        else:
            side = min(between) - 0.55  # labels sit to the right: bypass on the left
            routes.append(
                [(x0, y0), (side, (y0 + y[r0 + 1]) / 2), (side, (y[r1 - 1] + y1) / 2), (x1, y1)]
            )
    xs = [p[0] for route in routes for p in route] + list(x.values())
    return Layout(graph, pos, routes, y[max(rank.values())] + 1.0, min(xs), max(xs), crowded)


def measure(node: Node, name: str) -> int:
    """The value a node is coloured by: 'output size', 'parameters' or 'MACs'."""
    if name == "parameters":
        return node.params
    if name == "MACs":
        return node.macs
    if name == "output size":
        return math.prod(node.out_shape)
    raise ValueError(f"Unknown measure {name!r}: use one of {', '.join(MEASURES)}.")


def _colour_range(graphs: list[Graph], name: str) -> tuple[float, float]:
    values = [measure(n, name) for g in graphs for n in g.nodes if measure(n, name) > 0]
    if not values:
        return 0.0, 1.0
    lo, hi = math.log10(min(values)), math.log10(max(values))
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


_PALETTE = sample_colorscale(COLOURSCALE, [i / 255 for i in range(256)])


def _colour(value: int, lo: float, hi: float) -> str:
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
    if node.kind == "pool":
        return f"adaptive -> {shape_text(node.out_shape[-2:])}"
    if node.kind == "dense":
        return f"{node.out_shape[-1]}"
    if node.kind in ("inception", "residual", "mlpconv", "vgg block"):
        return f"{node.out_shape[0]} ch"
    if node.kind == "add":
        return "(+)"
    if node.kind == "concat":
        return f"{node.out_shape[0]} ch"
    return ""


def _label(node: Node, graph: Graph, full: bool) -> str:
    name = node.name
    block = graph.blocks.get(node.block)
    if not full and block is not None and name.startswith(block.name + "/"):
        name = name[len(block.name) + 1 :]
    if node.kind == "input":
        return f"input {shape_text(node.out_shape)}"
    if node.kind == "output":
        return f"output {shape_text(node.out_shape)}"
    text = name
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
        f"<b>{html.escape(node.name)}</b> ({html.escape(KIND_NAMES.get(node.kind, node.kind))})"
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


def _block_boxes(lay: Layout) -> list[tuple[str, float, float, float, float]]:
    """Background boxes of opened blocks: (name, x0, x1, row0, row1)."""
    boxes: dict[str, list[str]] = {}
    for n in lay.graph.nodes:
        if n.block and n.block in lay.graph.blocks and n.id != n.block:
            boxes.setdefault(n.block, []).append(n.id)
    out = []
    for bid, ids in boxes.items():
        xs = [lay.pos[i][0] for i in ids]
        rs = [lay.pos[i][1] for i in ids]
        out.append(
            (
                lay.graph.blocks[bid].name,
                min(xs) - 0.4,
                max(xs) + 0.9,
                min(rs) - 0.72,
                max(rs) + 0.42,
            )
        )
    return out


def node_label(node: Node, graph: Graph) -> str:
    """Full label on the trunk; inside an opened block the short one (the block names the box)."""
    inside = bool(node.block) and node.block in graph.blocks and node.id != node.block
    return _label(node, graph, full=not inside)


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
        return html.escape(_label(n, graph, True) if full_labels else node_label(n, graph))

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
                        color=[_colour(measure(n, colour_by), lo, hi) for n in nodes],
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
    lo, hi = _colour_range([graph], colour_by)
    data = _traces(lay, colour_by, lo, hi, selected, full_labels=False) + [
        _colourbar_trace(colour_by, lo, hi)
    ]
    boxes = _block_boxes(lay)
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
    lo, hi = _colour_range(list(graphs.values()), colour_by)
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


# --------------------------------------------------------------------------- static export

_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _static_geometry(
    graph: Graph, colour_by: str
) -> tuple[Layout, float, float, int, int, float, float]:
    lay = layout(graph)
    lo, hi = _colour_range([graph], colour_by)
    width = int((lay.x_max - lay.x_min + 2.2) * COL_PX)
    height = int(lay.rows * 34 + 40)
    return lay, lo, hi, width, height, lay.x_min - 0.5, 20.0


def to_svg(graph: Graph, colour_by: str = "output size") -> str:
    """A standalone SVG of the diagram (no script, no external resource)."""
    lay, lo, hi, width, height, x0, top = _static_geometry(graph, colour_by)

    def px(x: float, r: float) -> tuple[float, float]:
        return (x - x0) * COL_PX + 12, top + r * 34

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="12">',
             '<rect width="100%" height="100%" fill="white"/>']  # fmt: skip
    for name, bx0, bx1, r0, r1 in _block_boxes(lay):
        (ax, ay), (bx, by) = px(bx0, r0), px(bx1, r1)
        parts.append(
            f'<rect x="{ax:.1f}" y="{ay:.1f}" width="{bx - ax:.1f}" height="{by - ay:.1f}" '
            'fill="#4c78a8" fill-opacity="0.08" stroke="#4c78a8" stroke-dasharray="3,3"/>'
        )
        parts.append(
            f'<text x="{ax + 4:.1f}" y="{ay + 10:.1f}" fill="#4c78a8" font-size="10">{html.escape(name)}</text>'
        )
    for route in lay.routes:
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(x, r) for x, r in route))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#9a9a9a" stroke-width="1.2"/>')
    for n in graph.nodes:
        cx, cy = px(*lay.pos[n.id])
        colour = _colour(measure(n, colour_by), lo, hi)
        big = n.kind in ("inception", "residual", "mlpconv", "vgg block")
        s = 9 if big else 7
        if n.kind in ("add", "concat", "input", "output"):
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{s}" fill="{colour}" stroke="#333"/>'
            )
        else:
            parts.append(f'<rect x="{cx - s:.1f}" y="{cy - s:.1f}" width="{2 * s}" height="{2 * s}" '
                         f'fill="{colour}" stroke="#333"/>')  # fmt: skip
        label = html.escape(node_label(n, graph))
        parts.append(f'<text x="{cx + s + 5:.1f}" y="{cy + 4:.1f}" fill="#1f1f1f">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def to_png(graph: Graph, colour_by: str = "output size", scale: float = 1.0) -> bytes:
    """The diagram as PNG bytes, drawn with Pillow from the same layout as the SVG."""
    import io

    from PIL import Image, ImageColor, ImageDraw, ImageFont

    lay, lo, hi, width, height, x0, top = _static_geometry(graph, colour_by)
    img = Image.new("RGB", (int(width * scale), int(height * scale)), "white")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", int(12 * scale))
        small = ImageFont.truetype("DejaVuSans.ttf", int(10 * scale))
    except OSError:
        font = small = ImageFont.load_default()

    def px(x: float, r: float) -> tuple[float, float]:
        return ((x - x0) * COL_PX + 12) * scale, (top + r * 34) * scale

    for name, bx0, bx1, r0, r1 in _block_boxes(lay):
        (ax, ay), (bx, by) = px(bx0, r0), px(bx1, r1)
        draw.rectangle([ax, ay, bx, by], fill=(237, 241, 246), outline=(76, 120, 168))
        draw.text((ax + 4 * scale, ay + 1 * scale), name, fill=(76, 120, 168), font=small)
    for route in lay.routes:
        draw.line([px(x, r) for x, r in route], fill=(154, 154, 154), width=max(1, int(scale)))
    for n in graph.nodes:
        cx, cy = px(*lay.pos[n.id])
        c = _colour(measure(n, colour_by), lo, hi)
        fill = (
            ImageColor.getrgb(c) if c.startswith("#") else tuple(int(v) for v in c[4:-1].split(","))
        )
        s = (9 if n.kind in ("inception", "residual", "mlpconv", "vgg block") else 7) * scale
        box = [cx - s, cy - s, cx + s, cy + s]
        if n.kind in ("add", "concat", "input", "output"):
            draw.ellipse(box, fill=fill, outline=(51, 51, 51))
        else:
            draw.rectangle(box, fill=fill, outline=(51, 51, 51))
        draw.text(
            (cx + s + 5 * scale, cy),
            node_label(n, graph),
            fill=(31, 31, 31),
            font=font,
            anchor="lm",
        )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def to_dot(graph: Graph) -> str:
    """The graph as Graphviz DOT (for ``st.graphviz_chart``; kept for the renderer comparison)."""
    lines = [
        "digraph G {",
        '  rankdir=TB; node [shape=box, fontsize=10, style=filled, fillcolor="#e8eef6"];',
    ]
    for n in graph.nodes:
        label = _label(n, graph, full=True).replace('"', "'")
        lines.append(f'  "{n.id}" [label="{label}"];')
    for e in graph.edges:
        lines.append(f'  "{e.src}" -> "{e.dst}" [label="{shape_text(e.shape)}", fontsize=8];')
    lines.append("}")
    return "\n".join(lines)
