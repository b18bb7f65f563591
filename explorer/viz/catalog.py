"""Figures of the catalog as a whole: where a network's compute goes, and networks against each other.

Plain functions of the records the engine computes (explorer.probe.summary, ui.common.catalog_overview).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from explorer.viz.theme import PROJECTOR_PX

# Pixels per bar: a layer's name at the projector's type size (PROJECTOR_PX) with room between.
BAR_PITCH = round(1.5 * PROJECTOR_PX)


def compute_bars(records: Sequence[dict[str, Any]]) -> go.Figure:
    """Horizontal bars of MACs per layer (a category axis: every layer named, in network order)."""
    fig = go.Figure(
        go.Bar(
            y=[r["layer"] for r in records],
            x=[r["MACs"] for r in records],
            orientation="h",
            marker_color="#4c78a8",
            hovertemplate="%{y}<br>%{x:,} MACs<extra></extra>",
        )
    )
    ticks = dict(size=PROJECTOR_PX)
    fig.update_layout(
        title="Where the compute goes (MACs per convolution / dense layer)",
        height=max(260, BAR_PITCH * len(records) + 90),
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(title="MACs", tickfont=ticks),
        bargap=0.25,
        yaxis=dict(type="category", autorange="reversed", tickfont=ticks, automargin=True),
    )
    return fig


def params_against_macs(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Each architecture as a point: parameters against MACs per image (log scales), coloured by year."""
    fig = go.Figure(
        go.Scatter(
            x=[r["params"] for r in rows],
            y=[r["MACs"] for r in rows],
            mode="markers+text",
            text=[r["architecture"] for r in rows],
            textposition="top center",
            marker=dict(
                size=11,
                color=[r["year"] for r in rows],
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title="year", tickformat="d", dtick=1),
            ),
            cliponaxis=False,
            hovertemplate="%{text}<br>%{x:,} parameters<br>%{y:,} MACs<extra></extra>",
        )
    )
    fig.update_layout(
        height=440,
        margin=dict(l=80, r=10, t=40, b=10),
        title="Parameters against compute (log scales)",
        xaxis=dict(type="log", title="parameters", exponentformat="power"),
        yaxis=dict(type="log", title="MACs per image", exponentformat="power"),
    )
    return fig
