"""Colour scales for pictures and figures: 256-entry lookup tables (colouring a montage is one
indexing operation), the same colours as explicit plotly stops (a heatmap and an image in one
scale agree), and a colour bar to read a picture that has none of its own.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

COLOUR_SCALES: dict[str, str | list[list[object]]] = {
    "viridis": "Viridis",
    "grey": [[0.0, "rgb(0,0,0)"], [1.0, "rgb(255,255,255)"]],
    "magma": "Magma",
    "inferno": "Inferno",
    "cividis": "Cividis",
    "hot": "Hot",
}


def plotly_scale(name: str) -> list[list[object]]:
    """The plotly colorscale for one of COLOUR_SCALES (or any plotly.py name) as explicit stops.

    Explicit stops, because plotly.js knows only some names ("Inferno" and "Magma" are plotly.py's):
    a figure sent without plotly.py's validation drew them wrong. The stops are the same colours
    as the images' lookup table, so a heatmap and an image in one scale agree.
    """
    table = colour_table(name)
    idx = [*range(0, 255, 15), 255]
    return [[i / 255, "rgb({},{},{})".format(*(int(c) for c in table[i]))] for i in idx]


@lru_cache(maxsize=16)
def colour_table(name: str) -> np.ndarray:
    """256 x 3 uint8 lookup table of a colour scale: value v (0-255) is drawn as table[v]."""
    import plotly.colors as pc

    scale = COLOUR_SCALES.get(name, name)
    scale = pc.get_colorscale(scale) if isinstance(scale, str) else scale
    rgb = pc.sample_colorscale(scale, [i / 255 for i in range(256)], colortype="tuple")
    table = np.array([[float(c) for c in col] for col in rgb])
    if table.max() <= 1.0:  # some scales come back as 0-1 tuples
        table = table * 255
    table = np.clip(np.round(table), 0, 255).astype(np.uint8)
    table.setflags(write=False)
    return table


def to_unit_range(a: np.ndarray) -> np.ndarray:
    """Min-max rescale to [0, 1] (float32); a constant array becomes zeros."""
    a = np.asarray(a, dtype=np.float32)
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def colour_bar(
    scale: str, lo: float, hi: float, title: str, tick_labels: tuple[str, str] | None = None
) -> go.Figure:
    """A horizontal colour bar for a picture drawn as an image (montage, overlay): lo..hi in `scale`.

    Images carry no colour bar of their own; this strip sits under them so every colour can be read.
    The strip is 256 steps of the scale (as the image's uint8 colours); both ends are labelled with
    their value, or with `tick_labels` (e.g. "each channel's lowest" / "highest").
    """
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        hi = lo + 1.0
    fig = go.Figure(_scale_strip(scale, lo, hi))
    ends = tick_labels or (f"{lo:.3g}", f"{hi:.3g}")
    inner = [] if tick_labels else [v for v in _nice_ticks(lo, hi) if lo < v < hi]
    fig.update_layout(
        height=92,
        margin=dict(l=10, r=10, t=26, b=30),
        title=dict(text=title, font=dict(size=13), x=0, xanchor="left"),
        yaxis=dict(visible=False),
        xaxis=dict(
            range=[-0.5, 255.5],
            showgrid=False,
            zeroline=False,
            tickvals=[(v - lo) / (hi - lo) * 255 for v in inner],
            ticktext=[f"{v:.3g}" for v in inner],
        ),
        annotations=[_end_label(ends[0], 0, "left"), _end_label(ends[1], 1, "right")],
    )
    return fig


def _scale_strip(scale: str, lo: float, hi: float) -> go.Heatmap:
    """The bar itself: 256 steps of ``scale`` (as an image's uint8 colours), each step's value
    lo..hi on hover."""
    values = np.linspace(lo, hi, 256)
    return go.Heatmap(
        z=[list(range(256))],
        zmin=0,
        zmax=255,
        colorscale=plotly_scale(scale),
        showscale=False,
        customdata=[values.tolist()],
        hovertemplate="%{customdata:.3g}<extra></extra>",
    )


def _end_label(text: str, x: float, side: str) -> dict:
    """The label under one end of the bar (``side``: "left" or "right")."""
    return dict(
        x=x,
        y=0,
        xref="paper",
        yref="paper",
        yshift=-4,
        text=text,
        showarrow=False,
        xanchor=side,
        yanchor="top",
        font=dict(size=12),
    )


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values between lo and hi (steps of 1, 2 or 5 times a power of ten)."""
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step) + 1)]
