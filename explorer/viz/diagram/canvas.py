"""Pixel geometry of the clickable diagram: where each marker, label, edge, block box and residual
shortcut goes, at a given type size, with a long network wrapped into side-by-side columns so the
figure uses its width instead of running far below the screen.

Everything is in pixels of the figure's plot area (x to the right, y down), sized from the text it
must hold: a label's box is estimated as ``len(text) x font x CHAR_EM`` wide and ``1.2 x font``
high, the same estimate the tests use to check that no two labels overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from explorer.probe.graph import Graph, Node
from explorer.probe.names import display_name
from explorer.viz.diagram.layout import Layout, layout
from explorer.viz.diagram.style import BLOCK_KINDS, node_label

CHAR_EM = 0.6  # width of an average character, in font sizes (generous for sans-serif type)
LINE_EM = 1.2  # height of a line of text, in font sizes
ROW_EM = 2.1  # one row of the layered layout, in font sizes
BAND_GAP_EM = 2.5  # between two wrapped columns: room for the connector line
MAX_BANDS = 6


def text_px(text: str, font: float) -> float:
    """Estimated width in pixels of ``text`` at ``font`` pixels."""
    return len(text) * CHAR_EM * font


def marker_px(kind: str, font: float) -> float:
    """Marker size (diameter) in pixels: blocks larger than layers, both growing with the type."""
    return round((1.3 if kind in BLOCK_KINDS else 1.0) * font)


@dataclass(frozen=True)
class Shortcut:
    """A residual block's shortcut drawn around its collapsed node: from ``top`` to ``bottom``
    (pixels, on the block's vertical line at ``x``), bulging left by ``bulge``."""

    node: str
    x: float
    top: float
    bottom: float
    bulge: float
    projection: bool  # a 1x1 convolution on the shortcut (drawn dashed), else the identity


@dataclass(frozen=True)
class Canvas:
    """A diagram's geometry in pixels of the plot area (x right, y down)."""

    lay: Layout
    font: float
    xy: dict[str, tuple[float, float]]
    routes: list[list[tuple[float, float]]]
    texts: dict[str, str]  # node id -> label
    below: frozenset[str]  # labels under their marker (rows of siblings); the others to the right
    boxes: list[tuple[str, float, float, float, float]]  # opened block: name, x0, x1, y0, y1
    shortcuts: list[Shortcut]
    width: float
    height: float
    bands: int = 1  # columns the network is wrapped into


def _texts(graph: Graph, lay: Layout) -> dict[str, str]:
    out = {}
    for n in graph.nodes:
        text = node_label(n, graph)
        out[n.id] = text.split("  ")[0] if n.id in lay.crowded else text
    return out


def _label_box(
    n: Node, x: float, y: float, text: str, below: bool, font: float
) -> tuple[float, float, float, float]:
    m = marker_px(n.kind, font)
    w = text_px(text, font)
    if below:
        return x - w / 2, x + w / 2, y + m / 2 + 1, y + m / 2 + 1 + LINE_EM * font
    return x + m / 2 + 2, x + m / 2 + 4 + w, y - LINE_EM * font / 2, y + LINE_EM * font / 2


def _projection(n: Node) -> bool:
    return any("downsample" in m or "shortcut" in m for m in n.members)


@dataclass
class _Part:
    """One band (a run of rows) laid out locally; shifted into place afterwards."""

    ids: list[str]
    xy: dict[str, tuple[float, float]]
    routes: dict[int, list[tuple[float, float]]]
    boxes: list[tuple[str, float, float, float, float]]
    shortcuts: list[Shortcut]
    extent: tuple[float, float, float, float]  # x0, x1, y0, y1 of everything drawn


def _part(
    lay: Layout,
    ids: list[str],
    edges: list[int],
    d0: float,
    col: float,
    font: float,
    texts: dict[str, str],
) -> _Part:
    graph, row = lay.graph, ROW_EM * font
    xy = {i: (lay.pos[i][0] * col, (lay.pos[i][1] - d0) * row) for i in ids}
    routes = {k: [(x * col, (d - d0) * row) for x, d in lay.routes[k]] for k in edges}
    nodes = {n.id: n for n in graph.nodes}
    xs: list[float] = []
    ys: list[float] = []
    for i in ids:
        x0, x1, y0, y1 = _label_box(nodes[i], *xy[i], texts[i], i in lay.crowded, font)
        m = marker_px(nodes[i].kind, font) / 2
        xs += [x0, x1, xy[i][0] - m]
        ys += [y0, y1, xy[i][1] - m, xy[i][1] + m]
    for pts in routes.values():
        xs += [p[0] for p in pts]
    boxes = []
    members: dict[str, list[str]] = {}
    for i in ids:
        n = nodes[i]
        if n.block in graph.blocks and n.id != n.block:
            members.setdefault(n.block, []).append(i)
    for bid, mids in members.items():
        left = min(xy[i][0] - marker_px(nodes[i].kind, font) / 2 for i in mids) - 0.3 * font
        right = max(_label_box(nodes[i], *xy[i], texts[i], i in lay.crowded, font)[1] for i in mids)
        top = min(xy[i][1] - marker_px(nodes[i].kind, font) / 2 for i in mids) - 3 - 1.3 * font
        bottom = (
            max(_label_box(nodes[i], *xy[i], texts[i], i in lay.crowded, font)[3] for i in mids) + 3
        )
        right = (
            max(right, left + text_px(display_name(graph.blocks[bid].name), font) + 0.6 * font)
            + 0.3 * font
        )
        boxes.append((display_name(graph.blocks[bid].name), left, right, top, bottom))
        xs += [left, right]
        ys += [top, bottom]
    shortcuts = []
    for i in ids:
        n = nodes[i]
        if n.kind == "residual" and n.id == n.block:
            x, y = xy[i]
            bulge = marker_px(n.kind, font) * 1.2
            shortcuts.append(Shortcut(i, x, y - 0.42 * row, y + 0.42 * row, bulge, _projection(n)))
            xs.append(x - bulge)
    return _Part(ids, xy, routes, boxes, shortcuts, (min(xs), max(xs), min(ys), max(ys)))


def _cut_points(lay: Layout) -> dict[float, int]:
    """Depths between two rows where the network can be cut into bands (a row of one node that
    every edge crossing the gap below it starts from) -> the number of edges crossing there."""
    depths = sorted({d for _, d in lay.pos.values()})
    by_depth: dict[float, list[str]] = {}
    for nid, (_, d) in lay.pos.items():
        by_depth.setdefault(d, []).append(nid)
    spans = [
        (e.src, min(p[1] for p in r), max(p[1] for p in r))
        for e, r in zip(lay.graph.edges, lay.routes, strict=True)
    ]
    cuts: dict[float, int] = {}
    for a, b in zip(depths, depths[1:], strict=False):
        if len(by_depth[a]) != 1:
            continue
        only = by_depth[a][0]
        crossing = [src for src, top, bottom in spans if top <= a and bottom >= b]
        if all(src == only for src in crossing):
            cuts[(a + b) / 2] = len(crossing)
    return cuts


def _bands(lay: Layout, n: int, cuts: dict[float, int]) -> list[float]:
    """Up to ``n - 1`` cut depths, each the allowed one nearest an equal share of the depth (a cut
    crossed by one edge preferred to one where the network fans out)."""
    chosen: list[float] = []
    for k in range(1, n):
        want = lay.rows * k / n
        free = [c for c in cuts if not chosen or c > chosen[-1]]
        if free:
            best = min(free, key=lambda c: abs(c - want) + (cuts[c] > 1) * 0.35 * lay.rows)
            if best not in chosen:
                chosen.append(best)
    return chosen


def _assemble(
    lay: Layout, cut_depths: list[float], font: float, col: float, texts: dict[str, str]
) -> Canvas:
    bounds = [-1.0, *cut_depths, lay.rows + 1]
    parts = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        ids = [i for i, (_, d) in lay.pos.items() if a < d < b]
        d0 = min(lay.pos[i][1] for i in ids)
        inner = [
            k
            for k, e in enumerate(lay.graph.edges)
            if a < lay.pos[e.src][1] < b and a < lay.pos[e.dst][1] < b
        ]
        parts.append(_part(lay, ids, inner, d0, col, font, texts))
    pad, gap, row = 0.4 * font, BAND_GAP_EM * font, ROW_EM * font
    xy: dict[str, tuple[float, float]] = {}
    routes: dict[int, list[tuple[float, float]]] = {}
    boxes, shortcuts, lefts = [], [], []
    left = pad
    for p in parts:
        dx, dy = left - p.extent[0], pad + 0.6 * font - p.extent[2]
        lefts.append((left, left + p.extent[1] - p.extent[0], dx, dy))
        xy.update({i: (x + dx, y + dy) for i, (x, y) in p.xy.items()})
        routes.update({k: [(x + dx, y + dy) for x, y in r] for k, r in p.routes.items()})
        boxes += [(nm, x0 + dx, x1 + dx, y0 + dy, y1 + dy) for nm, x0, x1, y0, y1 in p.boxes]
        shortcuts += [
            replace(s, x=s.x + dx, top=s.top + dy, bottom=s.bottom + dy) for s in p.shortcuts
        ]
        left += p.extent[1] - p.extent[0] + gap
    height = max(p.extent[3] - p.extent[2] for p in parts) + 2 * pad + 0.6 * font
    for k, e in enumerate(
        lay.graph.edges
    ):  # connectors between bands: down, across the gap, over the top
        if k in routes:
            continue
        (sx, sy), (tx, ty) = xy[e.src], xy[e.dst]
        band_right = next(r for (lft, r, _, _) in lefts if lft - 1 <= sx <= r + 1)
        mid = band_right + gap / 2
        routes[k] = [
            (sx, sy),
            (sx, sy + 0.5 * row),
            (mid, sy + 0.5 * row),
            (mid, 2),
            (tx, 2),
            (tx, ty),
        ]
        height = max(height, sy + 0.5 * row + 3)  # the connector's bottom run stays in the plot
    return Canvas(
        lay,
        font,
        xy,
        [routes[k] for k in range(len(lay.graph.edges))],
        texts,
        lay.crowded,
        boxes,
        shortcuts,
        left - gap + pad,
        height,
        len(parts),
    )


def canvas(
    graph: Graph,
    font: float = 13,
    max_width: float = 1000,
    max_height: float = 520,
    lay: Layout | None = None,
) -> Canvas:
    """The diagram's pixel geometry at ``font`` pixels: as few bands (wrapped columns) as make it
    no taller than ``max_height``, as long as they fit ``max_width`` (``lay``: the graph's
    :func:`layout`, when the caller already has it)."""
    lay = lay or layout(graph)
    texts = _texts(graph, lay)
    crowded = [text_px(texts[i], font) for i in lay.crowded]
    col = max(2.6 * font, max(crowded, default=0.0) + 1.2 * font)
    cuts = _cut_points(lay)
    best = _assemble(lay, [], font, col, texts)
    for n in range(2, MAX_BANDS + 1):
        if best.height <= max_height:
            break
        chosen = _bands(lay, n, cuts)
        if not chosen:
            break
        trial = _assemble(lay, chosen, font, col, texts)
        if trial.width > max_width:
            break
        if trial.height < best.height:
            best = trial
    return best
