"""The layered layout of an architecture diagram, in row/column units (no drawing).

A small Sugiyama-style pass written here (no Graphviz binary): ranks by longest path from the
input, columns by the mean column of a node's inputs, siblings (Inception's four branches, a
residual block's projection) spread side by side. An edge that jumps over rows (a residual
shortcut, Inception's 1x1 branch) runs as a bypass beside whatever sits in the rows it crosses,
the way the ResNet paper draws its shortcuts. The plotly figure and the static exports draw it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from explorer.probe.graph import Edge, Graph

CROWDED_GAP = 1.7  # rows with parallel branches carry their labels below the markers
HEAD_GAP = 0.8  # extra rows above the first row of an opened block: room for the block's name


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
    for e in graph.edges:
        preds[e.dst].append(e.src)
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    rank: dict[str, int] = {}
    for n in graph.nodes:
        rank[n.id] = max((rank.get(p, 0) + 1 for p in preds[n.id]), default=0)
    rows: dict[int, list[str]] = {}
    for nid, r in rank.items():
        rows.setdefault(r, []).append(nid)
    x: dict[str, float] = {}
    for r in sorted(rows):
        _place_row(rows[r], preds, order, x)
    # A row of siblings carries its labels under the markers: the gap below it is wider.
    crowded = frozenset(n for members in rows.values() if len(members) > 1 for n in members)
    heads = _block_heads(graph, preds, rank)
    y: dict[int, float] = {}
    depth = 0.0
    for r in range(max(rank.values()) + 1):
        depth += HEAD_GAP if r in heads else 0.0
        y[r] = depth
        depth += CROWDED_GAP if any(n in crowded for n in rows.get(r, [])) else 1.0
    pos = {nid: (x[nid], y[rank[nid]]) for nid in x}
    routes = [_route(e, rank, rows, x, y, pos) for e in graph.edges]
    xs = [p[0] for route in routes for p in route] + list(x.values())
    return Layout(graph, pos, routes, y[max(rank.values())] + 1.0, min(xs), max(xs), crowded)


def _block_heads(graph: Graph, preds: dict[str, list[str]], rank: dict[str, int]) -> set[int]:
    """Rows holding the first node of an opened block (a member none of whose inputs is inside)."""
    inside = {n.id: n.block for n in graph.nodes if n.block in graph.blocks and n.id != n.block}
    return {
        rank[nid]
        for nid, b in inside.items()
        if all(inside.get(p) != b for p in preds[nid]) and rank[nid]
    }


def _place_row(
    row: list[str], preds: dict[str, list[str]], order: dict[str, int], x: dict[str, float]
) -> None:
    """Columns of one row into ``x``: each node where its inputs are, siblings spread, one apart."""
    wanted: dict[str, float] = {}
    for nid in row:
        ps = preds[nid]
        # Siblings of one parent spread around it; joins sit at the mean of their inputs.
        wanted[nid] = sum(x[p] for p in ps) / len(ps) if ps else 0.0
    by_parent: dict[tuple[str, ...], list[str]] = {}
    for nid in row:
        by_parent.setdefault(tuple(preds[nid]), []).append(nid)
    for group in by_parent.values():
        if len(group) > 1:
            group.sort(key=order.__getitem__)
            for i, nid in enumerate(group):
                wanted[nid] += i - (len(group) - 1) / 2
    placed = sorted(row, key=lambda n: (wanted[n], order[n]))
    last = -math.inf
    for nid in placed:
        x[nid] = max(wanted[nid], last + 1.0)
        last = x[nid]
    shift = (sum(wanted[n] for n in placed) - sum(x[n] for n in placed)) / len(placed)
    if abs(shift) > 1e-9 and len(placed) > 1:  # keep the row centred on where it wanted to be
        for nid in placed:
            x[nid] += shift


def _route(
    e: Edge,
    rank: dict[str, int],
    rows: dict[int, list[str]],
    x: dict[str, float],
    y: dict[int, float],
    pos: dict[str, tuple[float, float]],
) -> list[tuple[float, float]]:
    """The points of one edge: straight to the next row; down its own column when nothing sits in
    the rows it crosses; else a bypass left of them (labels sit to the right)."""
    r0, r1 = rank[e.src], rank[e.dst]
    (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
    if r1 - r0 <= 1:
        return [(x0, y0), (x1, y1)]
    between = [x[n] for r in range(r0 + 1, r1) for n in rows.get(r, [])]
    if not any(abs(v - x0) < 0.5 for v in between):
        return [(x0, y0), (x0, y[r1 - 1]), (x1, y1)]
    side = min(between) - 0.55  # labels sit to the right: bypass on the left
    return [(x0, y0), (side, (y0 + y[r0 + 1]) / 2), (side, (y[r1 - 1] + y1) / 2), (x1, y1)]


def block_boxes(lay: Layout) -> list[tuple[str, float, float, float, float]]:
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
