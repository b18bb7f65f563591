"""Figures for the Convolution basics page: one map as a heatmap, class probabilities."""

from __future__ import annotations

import plotly.graph_objects as go
import torch


def map_heatmap(x: torch.Tensor, title: str, *, diverging: bool = False, height: int = 330) -> go.Figure:
    """An H x W map with row/column/value on hover; a diverging scale centred on 0 for signed maps."""
    z = x.detach().cpu().float().numpy()
    fig = go.Figure(go.Heatmap(
        z=z, colorscale="RdBu_r" if diverging else "gray", zmid=0 if diverging else None,
        hovertemplate="row %{y}, col %{x}<br>value %{z:.3f}<extra></extra>", colorbar=dict(thickness=10),
    ))  # fmt: skip
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showticklabels=False)
    fig.update_xaxes(constrain="domain", showticklabels=False)
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=height, margin=dict(l=0, r=0, t=36, b=0))
    return fig


def probabilities_bar(classes: list[str], probs: list[float], target: int) -> go.Figure:
    """Softmax probabilities, the true class highlighted."""
    colours = ["#e45756" if i == target else "#4c78a8" for i in range(len(classes))]
    fig = go.Figure(go.Bar(x=classes, y=probs, marker_color=colours, text=[f"{p:.2f}" for p in probs],
                           textposition="outside"))  # fmt: skip
    fig.update_layout(height=280, yaxis=dict(range=[0, 1.1], title="probability"), margin=dict(l=0, r=0, t=10, b=0))
    return fig
