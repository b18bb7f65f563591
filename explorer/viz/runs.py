"""Figures that compare runs: curves of several runs on the same axes, gradient norms per layer
side by side, and the parameters that train in each freeze mode. Pure functions, no display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.training.events import History
from explorer.training.runs import METRICS, Series

# Colour-blind-safe qualitative palette (Okabe & Ito); a run keeps its colour in every chart.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def run_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def overlay_figure(
    series: Sequence[Series], metric: str, x: str = "step", height: int = 320
) -> go.Figure:
    """One trace per run (legend = run name) for ``metric`` against steps or seconds."""
    fig = go.Figure()
    validation = metric.startswith("val_")
    for i, s in enumerate(series):
        fig.add_scatter(
            x=s.x,
            y=s.y,
            name=s.name,
            mode="lines+markers" if validation else "lines",
            line=dict(color=run_colour(i), width=2),
        )
    title = METRICS.get(metric, metric).capitalize()
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=50, r=10, t=40, b=40),
        xaxis_title="optimisation step" if x == "step" else "seconds of training",
        yaxis_title=METRICS.get(metric, metric),
        legend=dict(orientation="h", y=-0.25),
        uirevision="keep",
    )
    if metric.endswith("_acc"):
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def _mean_early_norms(h: History, first_fraction: float = 0.25) -> tuple[list[str], list[float]]:
    """Per layer, the mean gradient norm over the first ``first_fraction`` of logged steps."""
    names = list(h.grad_norms)
    n = len(h.grad_steps)
    k = max(1, math.ceil(n * first_fraction)) if n else 0
    means = [sum(h.grad_norms[name][:k]) / max(k, 1) for name in names]
    return names, means


def grad_norms_side_by_side(histories: Mapping[str, History]) -> go.Figure:
    """One panel per run: mean gradient norm of each layer (depth order) early in training, log
    scale, on a shared y axis, so the plain net's vanishing first layers show beside the
    residual net's even profile."""
    names = list(histories)
    fig = make_subplots(rows=1, cols=max(len(names), 1), shared_yaxes=True, subplot_titles=names)
    for i, name in enumerate(names, start=1):
        layers, means = _mean_early_norms(histories[name])
        fig.add_bar(
            x=list(range(1, len(layers) + 1)),
            y=[max(v, 1e-12) for v in means],
            name=name,
            marker_color=run_colour(i - 1),
            hovertext=layers,
            row=1,
            col=i,
        )
        fig.update_xaxes(title_text="layer (input -> output)", row=1, col=i)
    fig.update_yaxes(type="log", title_text="gradient norm (early steps, mean)", row=1, col=1)
    fig.update_layout(height=340, margin=dict(l=60, r=10, t=50, b=40), showlegend=False)
    return fig
