"""Feature maps, filters and receptive fields as pictures: pure functions, arrays in, arrays or
plotly figures out. Nothing here runs a model or imports streamlit.

Conventions: a "tile stack" is uint8 C x h x w (values 0-255, see
``explorer.probe.stats.rescale_uint8``); images are uint8 H x W x 3; colour scales are
looked up once as 256-entry tables (:mod:`explorer.viz.colour`) so that colouring a montage is
one indexing operation.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

# The pages pick a scale (COLOUR_SCALES) and read a picture (colour_bar) through this module.
from explorer.viz.colour import COLOUR_SCALES as COLOUR_SCALES
from explorer.viz.colour import colour_bar as colour_bar
from explorer.viz.colour import colour_table, plotly_scale, to_unit_range

# Montages and their PNG bytes live in explorer.viz.montage; the pages read them through here.
from explorer.viz.montage import GAP_COLOUR as GAP_COLOUR
from explorer.viz.montage import enlarge as enlarge
from explorer.viz.montage import grid_shape as grid_shape
from explorer.viz.montage import montage as montage
from explorer.viz.montage import montage_png as montage_png
from explorer.viz.montage import montage_rgb as montage_rgb
from explorer.viz.montage import npy_bytes as npy_bytes
from explorer.viz.montage import overview_strip as overview_strip
from explorer.viz.montage import overview_strip_png as overview_strip_png
from explorer.viz.montage import png_bytes as png_bytes
from explorer.viz.montage import resize_nearest as resize_nearest

DIVERGING = "RdBu_r"  # blue negative, white zero, red positive: for weights


def _data_uri(img: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode("ascii")


# --------------------------------------------------------------------------- one channel


def channel_figure(values: np.ndarray, title: str = "", scale: str = "viridis") -> go.Figure:
    """A zoomable heatmap of one H x W map with the raw value under the mouse."""
    z = np.asarray(values, dtype=np.float32)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale=plotly_scale(scale),
            colorbar={"title": {"text": "activation"}},
            hovertemplate="row %{y}, column %{x}<br>value %{z:.4g}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", title="row")
    fig.update_xaxes(constrain="domain", title="column")
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=420)
    return fig


def upsample(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an H x W map to size = (height, width), float32."""
    t = torch.from_numpy(np.asarray(values, dtype=np.float32))[None, None]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def overlay(
    view: np.ndarray, values: np.ndarray, alpha: float = 0.5, scale: str = "inferno"
) -> np.ndarray:
    """A map drawn over the image the model saw: min-max rescaled, enlarged to the image
    (bilinear), coloured, and blended as ``(1 - alpha) * image + alpha * colour``."""
    h, w = view.shape[:2]
    m = to_unit_range(upsample(values, (h, w)))
    colour = colour_table(scale)[np.round(m * 255).astype(np.uint8)].astype(np.float32)
    out = (1.0 - alpha) * view.astype(np.float32) + alpha * colour
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- statistics


def stats_figure(
    means: np.ndarray, zero_frac: np.ndarray, order: Sequence[int], dead: np.ndarray
) -> go.Figure:
    """Mean activation per channel in the displayed order; dead channels in grey."""
    idx = np.asarray(order, dtype=np.int64)
    colours = ["#bbbbbb" if dead[i] else "#3b6fb6" for i in idx]
    fig = go.Figure(
        go.Bar(
            x=list(range(len(idx))),
            y=means[idx],
            marker_color=colours,
            customdata=np.stack([idx, zero_frac[idx] * 100], axis=1),
            hovertemplate="channel %{customdata[0]}<br>mean %{y:.4g}<br>zeros %{customdata[1]:.0f}%<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title="channels, in the montage's order",
        yaxis_title="mean activation",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=260,
        bargap=0.05,
    )
    return fig


# --------------------------------------------------------------------------- filters


def first_layer_patches(
    weight: torch.Tensor | np.ndarray, zoom: int = 8, cols: int | None = None
) -> np.ndarray:
    """First-layer kernels (out x 1|3 x kh x kw) as colour (or grey) patches, H x W x 3 uint8.

    Each kernel is scaled by its own largest |w| so that 0 is mid-grey: ``0.5 + 0.5 w / max|w|``.
    """
    w = torch.as_tensor(weight).detach().float().cpu()
    peak = w.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    u = (0.5 + 0.5 * w / peak).clamp(0, 1)  # out x in x kh x kw
    if u.shape[1] == 3:
        patches = u.permute(0, 2, 3, 1)  # out x kh x kw x 3
    else:
        patches = u.mean(1, keepdim=True).expand(-1, 3, -1, -1).permute(0, 2, 3, 1)
    p = np.round(patches.numpy() * 255).astype(np.uint8)
    p = np.repeat(np.repeat(p, zoom, axis=1), zoom, axis=2)
    return montage(p, None, cols=cols, gap=2, fill=GAP_COLOUR)


def kernel_grid(
    weight: torch.Tensor | np.ndarray, in_channel: int, zoom: int = 8, cols: int | None = None
) -> np.ndarray:
    """Every output kernel's slice for one input channel, on a blue-white-red scale shared by
    the whole grid (white = 0), H x W x 3 uint8."""
    w = torch.as_tensor(weight).detach().float().cpu()
    if not 0 <= in_channel < w.shape[1]:
        raise IndexError(f"Input channel {in_channel} is outside 0..{w.shape[1] - 1}.")
    k = w[:, in_channel]  # out x kh x kw
    peak = float(k.abs().max()) or 1.0
    grey = np.round((0.5 + 0.5 * k.numpy() / peak) * 255).clip(0, 255).astype(np.uint8)
    coloured = colour_table(DIVERGING)[grey]
    coloured = np.repeat(np.repeat(coloured, zoom, axis=1), zoom, axis=2)
    return montage(coloured, None, cols=cols, gap=2, fill=(160, 160, 160))


def weight_histogram(
    weight: torch.Tensor | np.ndarray, title: str = "", max_values: int = 200_000
) -> go.Figure:
    """Histogram of a layer's weights (a deterministic sample of at most ``max_values``)."""
    w = torch.as_tensor(weight).detach().float().reshape(-1).cpu().numpy()
    if w.size > max_values:
        w = w[:: math.ceil(w.size / max_values)]
    fig = go.Figure(go.Histogram(x=w, nbinsx=80, marker_color="#3b6fb6"))
    fig.update_layout(
        title=title,
        xaxis_title="weight value",
        yaxis_title="count",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=280,
        bargap=0.02,
    )
    return fig


def matrix_figure(
    matrix: np.ndarray,
    title: str = "",
    x_title: str = "input channel",
    y_title: str = "output channel",
) -> go.Figure:
    """A 2-D weight matrix (for 1 x 1 convolutions: out x in) as a diverging heatmap."""
    m = np.asarray(matrix, dtype=np.float32)
    peak = float(np.abs(m).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=m,
            colorscale=DIVERGING,
            zmin=-peak,
            zmax=peak,
            hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}<br>w %{{z:.4g}}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title=y_title)
    fig.update_xaxes(title=x_title)
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=360)
    return fig


# --------------------------------------------------------------------------- receptive fields


def clip_box(
    box: tuple[float, float, float, float], height: int, width: int
) -> tuple[int, int, int, int]:
    """An inclusive (top, left, bottom, right) box of input pixels clipped to the image."""
    top, left, bottom, right = box
    return (
        max(0, math.ceil(top)),
        max(0, math.ceil(left)),
        min(height - 1, math.floor(bottom)),
        min(width - 1, math.floor(right)),
    )


def field_figure(
    view: np.ndarray,
    box: tuple[float, float, float, float] | None,
    centre: tuple[float, float] | None = None,
    heat: np.ndarray | None = None,
    title: str = "",
    alpha: float = 0.6,
    heat_unit: str = "share of the<br>largest value<br>(square-root<br>scale)",
) -> go.Figure:
    """The model's input with a unit's theoretical field as a rectangle (dashed where it runs
    past the border, i.e. into the padding) and, optionally, a gradient heatmap blended in,
    with its colour bar (``heat_unit`` names what the colours measure)."""
    h, w = view.shape[:2]
    img = view if heat is None else _blend_heat(view, heat, alpha)
    fig = go.Figure(go.Image(source=_data_uri(img)))
    if heat is not None:
        fig.add_trace(_heat_colour_bar(heat_unit))
    if box is not None:
        top, left, bottom, right = box
        outside = top < 0 or left < 0 or bottom > h - 1 or right > w - 1
        fig.add_shape(
            type="rect",
            x0=left - 0.5,
            y0=top - 0.5,
            x1=right + 0.5,
            y1=bottom + 0.5,
            line={"color": "#00e5ff", "width": 2, "dash": "dash" if outside else "solid"},
        )
    if centre is not None:
        fig.add_trace(
            go.Scatter(
                x=[centre[1]],
                y=[centre[0]],
                mode="markers",
                marker={"color": "#00e5ff", "size": 9, "symbol": "x"},
                hovertemplate="centre: row %{y:.1f}, column %{x:.1f}<extra></extra>",
            )
        )
    x_lo, x_hi, y_lo, y_hi = _field_extent(h, w, box)
    fig.update_xaxes(range=[x_lo, x_hi], showgrid=False, title="column")
    fig.update_yaxes(range=[y_hi, y_lo], showgrid=False, scaleanchor="x", title="row")
    # The same right margin with or without a colour bar: two field figures side by side (the
    # input and its overlay) then have the same size, pixel for pixel.
    fig.update_layout(
        title=title, margin={"l": 10, "r": 110, "t": 40, "b": 10}, height=420, showlegend=False
    )
    return fig


def _blend_heat(view: np.ndarray, heat: np.ndarray, alpha: float) -> np.ndarray:
    """The input darkened to 60 % with a gradient heatmap ("hot") blended in, uint8."""
    g = np.asarray(heat, dtype=np.float32)
    g = g / g.max() if g.max() > 0 else g
    g = np.sqrt(g)  # gradients fall off fast: a square root keeps the tails visible
    colour = colour_table("hot")[np.round(g * 255).astype(np.uint8)].astype(np.float32)
    weight = (alpha * g)[..., None]
    img = np.clip(np.round((1 - weight) * view.astype(np.float32) * 0.6 + weight * colour), 0, 255)
    return img.astype(np.uint8)


def _heat_colour_bar(heat_unit: str) -> go.Scatter:
    """An image has no colour bar of its own: an empty trace carries the blended heatmap's."""
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        hoverinfo="skip",
        showlegend=False,
        marker={
            "colorscale": plotly_scale("hot"),
            "cmin": 0,
            "cmax": 1,
            "color": [0],
            "showscale": True,
            "colorbar": {
                "title": {"text": heat_unit},
                "thickness": 12,
                "x": 1.02,
                "xanchor": "left",
            },
        },
    )


def _field_extent(
    h: int, w: int, box: tuple[float, float, float, float] | None
) -> tuple[float, float, float, float]:
    """(x_lo, x_hi, y_lo, y_hi) of the axes: the image, widened to a field that runs past its
    border (with a 2 % margin then)."""
    if box is None:
        return -0.5, w - 0.5, -0.5, h - 0.5
    pad = max(h, w) * 0.02
    x_lo, x_hi = min(-0.5, box[1] - 0.5) - pad, max(w - 0.5, box[3] + 0.5) + pad
    y_lo, y_hi = min(-0.5, box[0] - 0.5) - pad, max(h - 0.5, box[2] + 0.5) + pad
    return x_lo, x_hi, y_lo, y_hi


def field_pair(
    view: np.ndarray,
    heat: np.ndarray,
    titles: tuple[str, str],
    alpha: float = 0.6,
    heat_unit: str = "share of the<br>largest value<br>(square-root<br>scale)",
) -> go.Figure:
    """The input and the same input with a heatmap blended in, as ONE figure of two panels: the
    same size, the same square-pixel enlargement, zoom and pan linked (an attribution next to
    what the model saw)."""
    from plotly.subplots import make_subplots

    plain = field_figure(view, None)
    blended = field_figure(view, None, heat=heat, alpha=alpha, heat_unit=heat_unit)
    import html

    # titles may carry a class name from a user's checkpoint: shown as text, never as markup
    fig = make_subplots(
        1,
        2,
        subplot_titles=[html.escape(t) for t in titles],
        horizontal_spacing=0.04,
        shared_xaxes=True,
        shared_yaxes=True,
    )
    for trace in plain.data:
        fig.add_trace(trace, 1, 1)
    for trace in blended.data:
        fig.add_trace(trace, 1, 2)
    for col in (1, 2):
        fig.update_xaxes(
            range=list(plain.layout.xaxis.range), showgrid=False, title="column", row=1, col=col
        )
        fig.update_yaxes(
            range=list(plain.layout.yaxis.range),
            showgrid=False,
            scaleanchor="x" if col == 1 else "x2",
            row=1,
            col=col,
        )
    fig.update_yaxes(title="row", row=1, col=1)
    fig.update_layout(margin={"l": 10, "r": 110, "t": 40, "b": 10}, height=420, showlegend=False)
    return fig


def predictions_figure(
    labels: Sequence[str], probabilities: Sequence[float], title: str = ""
) -> go.Figure:
    """Top-k as horizontal bars, most probable on top. The title wraps instead of running off
    the figure; titles and class names are escaped (they may come from a user's checkpoint)."""
    import html

    from explorer.viz.theme import OKABE_ITO, safe_title

    text, lines = safe_title(title, 70)
    shown = [html.escape(str(label)) for label in labels][::-1]
    fig = go.Figure(
        go.Bar(
            x=list(probabilities)[::-1],
            y=shown,
            orientation="h",
            marker_color=OKABE_ITO[0],
            texttemplate="%{x:.1%}",
            textposition="outside",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1.15], tickformat=".0%", title="probability")
    # class names "0".."9" are names, not numbers
    fig.update_yaxes(automargin=True, type="category")
    fig.update_traces(textfont_size=13)
    fig.update_layout(
        title={"text": text, "x": 0, "xanchor": "left"},
        margin={"l": 10, "r": 10, "t": 24 + 20 * lines, "b": 10},
        height=240 + 20 * lines,
    )
    return fig
