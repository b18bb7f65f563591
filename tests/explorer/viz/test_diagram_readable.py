"""Readable diagrams, checked from each figure's own layout (not from the code that placed it):
type sizes, label boxes that never intersect, residual shortcuts at block level, and side by side
drawn to one depth scale.

A label's box is estimated as plotly draws it: ``len(text) x size x 0.6`` wide, ``1.2 x size``
high, beside or under its marker (``textposition``), mapped to pixels through the axes' ranges and
the figure's declared size and margins.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import plotly.graph_objects as go
import pytest

from explorer.models import catalog
from explorer.probe.graph import catalog_graph
from explorer.viz.diagram import PROJECTOR_PX, SCREEN_PX, figure, side_by_side

KEYS = [s.key for s in catalog(kind="cnn")]
Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in pixels from the plot area's top left


@functools.cache
def _graph(key: str):
    return catalog_graph(key)


def _mapping(fig: go.Figure):
    lay = fig.layout
    pw = lay.width - lay.margin.l - lay.margin.r
    ph = lay.height - lay.margin.t - lay.margin.b
    (x0, x1), (yb, yt) = lay.xaxis.range, lay.yaxis.range

    def px(x: float, y: float) -> tuple[float, float]:
        return (x - x0) / (x1 - x0) * pw, (yt - y) / (yt - yb) * ph

    return px, pw, ph


def _each(value, n: int) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


def label_boxes(fig: go.Figure) -> Iterator[tuple[str, float, Box]]:
    """(text, font size, box) of every text label and annotation in the plot area."""
    px, _, _ = _mapping(fig)
    for t in fig.data:
        if not t.mode or "text" not in t.mode or t.text is None:
            continue
        n = len(t.text)
        sizes = _each(t.textfont.size, n)
        positions = _each(t.textposition or "middle center", n)
        markers = _each(t.marker.size if "markers" in t.mode else 0, n)
        for text, x, y, size, pos, m in zip(
            t.text, t.x, t.y, sizes, positions, markers, strict=True
        ):
            cx, cy = px(x, y)
            w, h, m = len(text) * size * 0.6, 1.2 * size, m or 0
            if pos == "bottom center":
                yield text, size, (cx - w / 2, cx + w / 2, cy + m / 2, cy + m / 2 + h)
            elif pos == "middle right":
                yield text, size, (cx + m / 2, cx + m / 2 + w, cy - h / 2, cy + h / 2)
            else:
                raise AssertionError(f"unexpected text position {pos}")
    for a in fig.layout.annotations:
        if a.yref == "paper":
            continue
        cx, cy = px(a.x, a.y)
        lines = a.text.split("<br>")
        w, h = max(len(s) for s in lines) * a.font.size * 0.6, 1.2 * a.font.size * len(lines)
        x0 = {"left": cx, "right": cx - w}.get(a.xanchor, cx - w / 2)
        y0 = {"top": cy, "bottom": cy - h}.get(a.yanchor, cy - h / 2)
        yield a.text, a.font.size, (x0, x0 + w, y0, y0 + h)


def marker_boxes(fig: go.Figure) -> list[Box]:
    px, _, _ = _mapping(fig)
    out = []
    for t in fig.data:
        if not t.mode or "markers" not in t.mode or t.customdata is None:
            continue
        for x, y, m in zip(t.x, t.y, _each(t.marker.size, len(t.x)), strict=True):
            cx, cy = px(x, y)
            out.append((cx - m / 2, cx + m / 2, cy - m / 2, cy + m / 2))
    return out


def _overlap(a: Box, b: Box, tol: float = 0.5) -> bool:
    return a[0] < b[1] - tol and b[0] < a[1] - tol and a[2] < b[3] - tol and b[2] < a[3] - tol


def crossings(fig: go.Figure) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes intersect, and labels that cover a node's marker."""
    labels = list(label_boxes(fig))
    out = [
        (a[0], b[0]) for i, a in enumerate(labels) for b in labels[i + 1 :] if _overlap(a[2], b[2])
    ]
    for text, _, box in labels:
        out += [(text, "a marker") for m in marker_boxes(fig) if _overlap(box, m, tol=1.0)]
    return out


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("level", ["blocks", "layers"])
def test_projector_labels_are_16_px_and_never_overlap(key: str, level: str) -> None:
    fig = figure(
        _graph(key).view(level), font=PROJECTOR_PX, max_width=1100, max_height=300, grow_to=22
    )
    labels = list(label_boxes(fig))
    assert labels and min(size for _, size, _ in labels) >= 16
    assert fig.layout.legend.font.size >= 16
    bar = next(t.marker.colorbar for t in fig.data if t.marker and t.marker.showscale)
    assert bar.tickfont.size >= 16 and bar.title.font.size >= 16
    assert crossings(fig) == [], (key, level)
    _, pw, ph = _mapping(fig)
    lines = [
        (x, y)
        for t in fig.data
        if t.mode == "lines"
        for x, y in zip(t.x, t.y, strict=True)
        if y is not None
    ]
    (left, right), (bottom, top) = fig.layout.xaxis.range, fig.layout.yaxis.range
    # no edge cut off
    assert all(left <= x <= right and top <= y <= bottom for x, y in lines), (key, level)
    for text, _, (x0, x1, y0, y1) in labels:  # every label inside the plot area: nothing cut off
        assert x0 >= -1 and x1 <= pw + 1 and y0 >= -1 and y1 <= ph + 1, (key, level, text)


@pytest.mark.parametrize("key", ["googlenet", "resnet50", "vgg16", "nin", "lenet5"])
@pytest.mark.parametrize("level", ["blocks", "layers"])
def test_screen_labels_are_13_px_and_never_overlap(key: str, level: str) -> None:
    fig = figure(_graph(key).view(level), font=SCREEN_PX, max_width=800)
    assert min(size for _, size, _ in label_boxes(fig)) >= 13
    assert crossings(fig) == [], (key, level)


def test_a_short_network_grows_its_type_on_a_projector() -> None:
    fig = figure(
        _graph("nin").view("blocks"), font=PROJECTOR_PX, max_width=1100, max_height=300, grow_to=22
    )
    assert min(size for _, size, _ in label_boxes(fig)) == 22  # in two columns
    assert fig.layout.height - fig.layout.margin.t - fig.layout.margin.b <= 300


def test_the_old_crowded_labels_would_have_failed() -> None:
    """The checker sees an overlap when two labels share a spot (it can fail)."""
    fig = go.Figure(
        go.Scatter(
            x=[0, 1],
            y=[0, 0],
            mode="markers+text",
            text=["inception3a", "1x1"],
            textposition="middle right",
            textfont=dict(size=16),
            marker=dict(size=10),
        )
    )
    fig.update_layout(
        width=300,
        height=200,
        margin=dict(l=0, r=0, t=0, b=0),
        xaxis=dict(range=[0, 10]),
        yaxis=dict(range=[-1, 1]),
    )
    assert crossings(fig) == [("inception3a", "1x1")]


def test_long_networks_wrap_into_columns_that_use_the_width() -> None:
    fig = figure(
        _graph("resnet50").view("layers"), font=PROJECTOR_PX, max_width=1100, max_height=300
    )
    xs = [x for t in fig.data if t.customdata is not None for x in t.x]
    assert max(xs) - min(xs) > 500  # several columns across the figure, not one thin one


def _shortcuts(fig: go.Figure) -> list:
    return [s for s in fig.layout.shapes if s.name == "shortcut"]


def test_resnet18_blocks_draw_one_shortcut_per_residual_block() -> None:
    view = _graph("resnet18").view("blocks")
    fig = figure(view, font=PROJECTOR_PX)
    blocks = [n for n in view.nodes if n.kind == "residual"]
    assert len(blocks) == 8
    arcs = _shortcuts(fig)
    assert len(arcs) == 8
    # stages 2-4 open with a 1x1 projection
    assert sorted(a.line.dash for a in arcs).count("dash") == 3
    # Each arc starts above its block's marker and ends below it, on the block's vertical line.
    px = {
        n.id: (x, y)
        for t in fig.data
        if t.customdata is not None
        for n_id, x, y in zip(t.customdata, t.x, t.y, strict=True)
        for n in view.nodes
        if n.id == n_id
    }
    for arc, block in zip(arcs, blocks, strict=True):
        start, _, end = arc.path.split(" Q ")[0], None, arc.path.split(" ")[-1]
        x0, y0 = map(float, start[2:].split(","))
        x1, y1 = map(float, end.split(","))
        bx, by = px[block.id]
        assert x0 == x1 == bx and y0 < by < y1


def test_opened_blocks_and_layer_level_draw_no_extra_arcs() -> None:
    # At layer level the shortcut is a real edge of the graph (the bypass route), not an arc.
    assert _shortcuts(figure(_graph("resnet18").view("layers"))) == []
    assert _shortcuts(figure(_graph("vgg16").view("blocks"))) == []


def _longest_weight_path(graph) -> int:
    """Conv and dense layers on the longest input-to-output path, counted here independently."""
    best: dict[str, int] = {}
    incoming: dict[str, list[str]] = {}
    for e in graph.edges:
        incoming.setdefault(e.dst, []).append(e.src)
    for n in graph.nodes:
        best[n.id] = max([best[p] for p in incoming.get(n.id, [])] or [0]) + (
            1 if n.kind in ("conv", "dense") else 0
        )
    return max(best.values())


def test_side_by_side_height_follows_depth() -> None:
    keys = ["lenet5", "alexnet", "vgg16", "resnet18", "googlenet", "resnet50"]
    titles = {k: next(s.title for s in catalog() if s.key == k) for k in keys}
    fig = side_by_side({titles[k]: _graph(k) for k in keys}, font=PROJECTOR_PX)
    px, _, _ = _mapping(fig)
    drawn = {}
    for k in keys:
        bars = [s for s in fig.layout.shapes if s.name == titles[k]]
        drawn[k] = px(0, max(s.y1 for s in bars))[1] - px(0, min(s.y0 for s in bars))[1]
    depth = {k: _longest_weight_path(_graph(k)) for k in keys}
    assert depth == {
        "lenet5": 5,
        "alexnet": 8,
        "vgg16": 16,
        "resnet18": 18,
        "googlenet": 22,
        "resnet50": 50,
    }
    order = sorted(keys, key=depth.get)
    assert sorted(keys, key=drawn.get) == order  # VGG-16 shorter than ResNet-18, as 16 < 18 layers
    per_layer = {k: drawn[k] / depth[k] for k in keys}
    assert max(per_layer.values()) - min(per_layer.values()) < 1.0  # one scale for all
    assert min(per_layer.values()) >= 1.2 * PROJECTOR_PX  # a one-layer box holds its label
    assert crossings(fig) == []
    assert min(size for _, size, _ in label_boxes(fig)) >= 16
