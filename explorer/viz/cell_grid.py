"""Heatmaps as grids of whole cells: tick steps that never fall between two cells, a cell's
outline, and cells a click can select (plotly sends no selection event for a heatmap itself).
Used by the Basics page's figures and the Feature maps page's clickable maps.
"""

from __future__ import annotations

import plotly.graph_objects as go


def integer_dtick(n: int) -> int:
    """A tick step for an axis of ``n`` whole cells: 1 up to 10 cells, then about 8 ticks (never a
    fraction, so no tick falls between two cells)."""
    return 1 if n <= 10 else -(-n // 8)


def cell_box(top: float, left: float, h: float, w: float) -> tuple[list[float], list[float]]:
    """A closed rectangle around cells [top, top+h) x [left, left+w) in cell-centre coordinates."""
    y0, y1, x0, x1 = top - 0.5, top + h - 0.5, left - 0.5, left + w - 0.5
    return [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0]


def add_click_targets(
    fig: go.Figure, height: int, width: int, selected: tuple[int, int] | None = None
) -> go.Figure:
    """Make every cell of an H x W heatmap clickable: one invisible marker per cell (plotly sends
    no selection event for a heatmap itself), and an outline around the selected unit. The page
    reads a click from ``selection.points[0]`` as x = column, y = row."""
    rows, cols = zip(*[(i, j) for i in range(height) for j in range(width)], strict=True)
    kind = go.Scatter if height * width <= 4096 else go.Scattergl
    fig.add_trace(
        kind(
            x=cols,
            y=rows,
            mode="markers",
            showlegend=False,
            name="units",
            marker=dict(
                symbol="square",
                size=max(4, min(18, 360 // max(height, width))),
                color="rgba(0,0,0,0)",
            ),
            hovertemplate="row %{y}, column %{x}: click to select this unit<extra></extra>",
        )
    )
    if selected is not None:
        x, y = cell_box(selected[0], selected[1], 1, 1)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                line=dict(color="#00e5ff", width=3),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    fig.update_layout(clickmode="event+select", dragmode=False, showlegend=False)
    return fig


def clicked_cell(event: object) -> tuple[int, int] | None:
    """(row, column) of the first clicked point of a plotly selection event, or None."""
    try:
        points = event["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        try:
            points = event.selection.points  # type: ignore[attr-defined]
        except AttributeError:
            return None
    for p in points or []:
        if p.get("x") is not None and p.get("y") is not None:
            return int(round(float(p["y"]))), int(round(float(p["x"])))
    return None
