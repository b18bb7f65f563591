"""Figures of the Convolution basics page: maps and their channels, ReLU, a convolution as a
dense layer with shared weights, and the toy classifier's probabilities. The sliding window has
its own module (:mod:`explorer.viz.sliding_window`); whole-cell ticks and clickable cells are in
:mod:`explorer.viz.cell_grid`."""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from explorer.viz.cell_grid import integer_dtick

VALUE_HOVER = "row %{y}, col %{x}<br>value %{z:.3f}<extra></extra>"
ZEROED = "#4575b4"  # cells ReLU set to zero (negative before), one colour


def map_heatmap(
    x: torch.Tensor, title: str, *, diverging: bool = False, height: int = 330
) -> go.Figure:
    """An H x W map with row/column/value on hover; a diverging scale centred on 0 for signed maps."""
    z = x.detach().cpu().float().numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale="RdBu_r" if diverging else "gray",
            zmid=0 if diverging else None,
            hovertemplate=VALUE_HOVER,
            colorbar=dict(thickness=10),
        )
    )
    fig.update_yaxes(
        autorange="reversed", scaleanchor="x", constrain="domain", showticklabels=False, ticks=""
    )
    fig.update_xaxes(constrain="domain", showticklabels=False, ticks="")
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)), height=height, margin=dict(l=0, r=0, t=36, b=0)
    )
    return fig


def relu_pair(x: torch.Tensor, *, height: int = 360) -> go.Figure:
    """A feature map before and after ReLU. Before: a diverging scale (negative blue, positive
    red). After: max(0, x), positives on the same reds, and every cell that was negative (now 0)
    in one colour, so the part ReLU removes is one patch."""
    z = x.detach().cpu().float()
    lim = float(z.abs().max()) or 1.0
    h, w = z.shape
    fig = make_subplots(
        1,
        2,
        horizontal_spacing=0.04,
        subplot_titles=[
            f"before ReLU: {h} x {w}, negative blue, positive red",
            "after ReLU: max(0, x), zeros in one colour",
        ],
    )
    fig.add_trace(_signed_map(z.numpy(), lim), 1, 1)
    for trace in _relu_output(z, lim):
        fig.add_trace(trace, 1, 2)
    _square_cells(fig, 2)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0), plot_bgcolor="white")
    fig.update_annotations(font_size=13)
    return fig


def _signed_map(z: object, lim: float) -> go.Heatmap:
    """A map on the diverging scale -lim..lim (negative blue, positive red), no colour bar."""
    return go.Heatmap(
        z=z,
        colorscale="RdBu_r",
        zmid=0,
        zmin=-lim,
        zmax=lim,
        showscale=False,
        hovertemplate=VALUE_HOVER,
    )


def _relu_output(z: torch.Tensor, lim: float) -> list[go.Heatmap]:
    """max(0, z) as two layers: the positives on the reds of ``_signed_map``, and every cell
    that was negative (now 0) in the one colour ZEROED."""
    kept = torch.where(z > 0, z, torch.full_like(z, float("nan"))).numpy()
    zeroed = torch.where(z > 0, torch.full_like(z, float("nan")), torch.zeros_like(z)).numpy()
    positives = go.Heatmap(
        z=kept,
        colorscale=[[0, "#fddbc7"], [1, "#b2182b"]],
        zmin=0,
        zmax=lim,
        showscale=False,
        hovertemplate=VALUE_HOVER,
    )
    zeros = go.Heatmap(
        z=zeroed,
        colorscale=[[0, ZEROED], [1, ZEROED]],
        showscale=False,
        hovertemplate="row %{y}, col %{x}<br>was negative: now 0<extra></extra>",
    )
    return [positives, zeros]


def _square_cells(fig: go.Figure, panels: int) -> None:
    """Each of ``panels`` subplots in one row: square cells, row 0 on top, no ticks."""
    for i in range(1, panels + 1):
        fig.update_yaxes(
            autorange="reversed",
            scaleanchor=f"x{'' if i == 1 else i}",
            constrain="domain",
            showticklabels=False,
            ticks="",
            row=1,
            col=i,
        )
        fig.update_xaxes(constrain="domain", showticklabels=False, ticks="", row=1, col=i)


def probabilities_bar(classes: list[str], probs: list[float], target: int) -> go.Figure:
    """Softmax probabilities, the true class highlighted."""
    colours = ["#e45756" if i == target else "#4c78a8" for i in range(len(classes))]
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=probs,
            marker_color=colours,
            text=[f"{p:.2f}" for p in probs],
            textposition="outside",
            textfont=dict(size=16),
        )
    )
    fig.update_layout(
        height=260,
        yaxis=dict(range=[0, 1.15], title="probability"),
        margin=dict(l=0, r=0, t=10, b=0),
    )
    return fig


def maps_row(
    maps: list[torch.Tensor],
    titles: list[str],
    *,
    diverging: bool = True,
    height: int = 240,
    shared_scale: bool = False,
) -> go.Figure:
    """Several H x W maps side by side (channels, per-channel results, filters)."""
    fig = make_subplots(1, len(maps), subplot_titles=titles, horizontal_spacing=0.03)
    lim = max(float(m.abs().max()) for m in maps) or 1.0
    for i, m in enumerate(maps, start=1):
        z = m.detach().cpu().float().numpy()
        own = float(m.abs().max()) or 1.0
        scale = lim if shared_scale else own
        fig.add_trace(
            go.Heatmap(
                z=z,
                colorscale="RdBu_r" if diverging else "gray",
                zmid=0 if diverging else None,
                zmin=-scale if diverging else None,
                zmax=scale if diverging else None,
                showscale=False,
                hovertemplate=VALUE_HOVER,
            ),
            1,
            i,
        )
    _square_cells(fig, len(maps))
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0))
    fig.update_annotations(font_size=12)
    return fig


def rgb_image(x: torch.Tensor, title: str, height: int = 240) -> go.Figure:
    """A 3 x H x W image in [0, 1] shown as colour pixels."""
    z = (x.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    fig = go.Figure(go.Image(z=z, hovertemplate="row %{y}, col %{x}<br>RGB %{z}<extra></extra>"))
    fig.update_xaxes(showticklabels=False, ticks="")
    fig.update_yaxes(showticklabels=False, ticks="")
    fig.update_layout(
        title=dict(text=title, font=dict(size=13)), height=height, margin=dict(l=0, r=0, t=30, b=0)
    )
    return fig


def dense_matrix(weight: torch.Tensor, title: str, height: int = 300) -> go.Figure:
    """The weight matrix of the dense layer equal to a convolution: zeros white, shared weights coloured."""
    z = weight.detach().float().numpy().copy()
    z[z == 0] = float("nan")
    lim = float(weight.abs().max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale="RdBu_r",
            zmid=0,
            zmin=-lim,
            zmax=lim,
            colorbar=dict(thickness=10),
            hovertemplate="output pixel %{y}, input pixel %{x}<br>weight %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(
        autorange="reversed",
        title="output pixel (row-major)",
        tick0=0,
        dtick=integer_dtick(z.shape[0]),
    )
    fig.update_xaxes(title="input pixel (row-major)", tick0=0, dtick=integer_dtick(z.shape[1]))
    fig.update_layout(
        title=dict(text=title, font=dict(size=13)),
        height=height,
        plot_bgcolor="white",
        margin=dict(l=0, r=0, t=36, b=0),
    )
    return fig


def binary_bar(p: float, target: int) -> go.Figure:
    """Sigmoid output: P(class 1) = p and P(class 0) = 1 - p, the true label highlighted."""
    return probabilities_bar(["class 0", "class 1"], [1 - p, p], target)
