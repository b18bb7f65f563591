"""Static exports of an architecture diagram: a standalone SVG, a PNG drawn with Pillow (same
layout as the SVG) and Graphviz DOT (kept for the renderer comparison in ``bench/``).
"""

from __future__ import annotations

import html

from explorer.probe.graph import Graph
from explorer.viz.diagram.figure import SHORTCUT_COLOUR
from explorer.viz.diagram.layout import Layout, block_boxes, layout
from explorer.viz.diagram.style import (
    colour_of,
    colour_range,
    label_text,
    measure,
    node_label,
    shape_text,
)

COL_PX = 170  # horizontal pixels per column of parallel branches

_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _static_geometry(
    graph: Graph, colour_by: str
) -> tuple[Layout, float, float, int, int, float, float]:
    lay = layout(graph)
    lo, hi = colour_range([graph], colour_by)
    width = int((lay.x_max - lay.x_min + 2.2) * COL_PX)
    height = int(lay.rows * 34 + 40)
    return lay, lo, hi, width, height, lay.x_min - 0.5, 20.0


def _arcs(graph: Graph, lay: Layout, px):
    """Residual shortcuts around collapsed residual blocks: (start, control, end, projection?)."""
    out = []
    for n in graph.nodes:
        if n.kind == "residual" and n.id == n.block:
            x, row = lay.pos[n.id]
            (cx, top), (_, bottom) = px(x, row - 0.42), px(x, row + 0.42)
            out.append(
                (
                    (cx, top),
                    (cx - 1.6 * (bottom - top), (top + bottom) / 2),
                    (cx, bottom),
                    any("downsample" in m or "shortcut" in m for m in n.members),
                )
            )
    return out


def to_svg(graph: Graph, colour_by: str = "output size") -> str:
    """A standalone SVG of the diagram (no script, no external resource)."""
    lay, lo, hi, width, height, x0, top = _static_geometry(graph, colour_by)

    def px(x: float, r: float) -> tuple[float, float]:
        return (x - x0) * COL_PX + 12, top + r * 34

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for name, bx0, bx1, r0, r1 in block_boxes(lay):
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
    for (ax, ay), (qx, qy), (bx, by), dashed in _arcs(graph, lay, px):
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        parts.append(
            f'<path d="M {ax:.1f},{ay:.1f} Q {qx:.1f},{qy:.1f} {bx:.1f},{by:.1f}" fill="none" '
            f'stroke="{SHORTCUT_COLOUR}" stroke-width="2"{dash}/>'
        )
    for n in graph.nodes:
        cx, cy = px(*lay.pos[n.id])
        colour = colour_of(measure(n, colour_by), lo, hi)
        big = n.kind in ("inception", "residual", "mlpconv", "vgg block")
        s = 9 if big else 7
        if n.kind in ("add", "concat", "input", "output"):
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{s}" fill="{colour}" stroke="#333"/>'
            )
        else:
            parts.append(
                f'<rect x="{cx - s:.1f}" y="{cy - s:.1f}" width="{2 * s}" height="{2 * s}" '
                f'fill="{colour}" stroke="#333"/>'
            )
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

    for name, bx0, bx1, r0, r1 in block_boxes(lay):
        (ax, ay), (bx, by) = px(bx0, r0), px(bx1, r1)
        draw.rectangle([ax, ay, bx, by], fill=(237, 241, 246), outline=(76, 120, 168))
        draw.text((ax + 4 * scale, ay + 1 * scale), name, fill=(76, 120, 168), font=small)
    for route in lay.routes:
        draw.line([px(x, r) for x, r in route], fill=(154, 154, 154), width=max(1, int(scale)))
    for (ax, ay), (qx, qy), (bx, by), _ in _arcs(
        graph, lay, px
    ):  # the quadratic curve as 16 segments
        pts = [
            (
                (1 - t) ** 2 * ax + 2 * (1 - t) * t * qx + t**2 * bx,
                (1 - t) ** 2 * ay + 2 * (1 - t) * t * qy + t**2 * by,
            )
            for t in (i / 16 for i in range(17))
        ]
        draw.line(pts, fill=(213, 94, 0), width=max(1, int(2 * scale)))
    for n in graph.nodes:
        cx, cy = px(*lay.pos[n.id])
        c = colour_of(measure(n, colour_by), lo, hi)
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
        label = label_text(n, graph, full=True).replace('"', "'")
        lines.append(f'  "{n.id}" [label="{label}"];')
    for e in graph.edges:
        lines.append(f'  "{e.src}" -> "{e.dst}" [label="{shape_text(e.shape)}", fontsize=8];')
    lines.append("}")
    return "\n".join(lines)
