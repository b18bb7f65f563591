"""Text shaded by one unit (LSTMVis style): each character's cell coloured by the unit's value
at that step. A plotly heatmap of characters (no HTML: the text stays text)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.data.sequences import display_char


def text_grid(
    chars: Sequence[str], values: Sequence[float], width: int = 64
) -> tuple[np.ndarray, list[list[str]]]:
    """Values and characters laid out in rows of ``width`` (a newline also starts a row);
    cells after a row's end are NaN / empty."""
    rows_v: list[list[float]] = [[]]
    rows_c: list[list[str]] = [[]]
    for ch, v in zip(chars, values, strict=True):
        if len(rows_v[-1]) >= width:
            rows_v.append([])
            rows_c.append([])
        rows_v[-1].append(float(v))
        rows_c[-1].append(display_char(ch))
        if ch == "\n":
            rows_v.append([])
            rows_c.append([])
    if not rows_v[-1] and len(rows_v) > 1:
        rows_v.pop()
        rows_c.pop()
    z = np.full((len(rows_v), width), np.nan)
    text = [[""] * width for _ in rows_v]
    for r, (vs, cs) in enumerate(zip(rows_v, rows_c, strict=True)):
        z[r, : len(vs)] = vs
        text[r][: len(cs)] = cs
    return z, text


def unit_text_figure(
    chars: Sequence[str],
    values: Sequence[float],
    title: str = "",
    width: int = 64,
    bounds: tuple[float, float] = (-1.0, 1.0),
) -> go.Figure:
    """The characters on a grid, each cell shaded by ``values`` at that step (blue negative,
    red positive, white 0, over ``bounds``), the character written in it."""
    z, text = text_grid(chars, values, width)
    # The scale reaches past the largest value so the darkest cell stays light enough to read its
    # character (the hover gives the exact value).
    lo, hi = (1.6 * b for b in bounds)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            textfont=dict(family="monospace", size=13),
            colorscale="RdBu",
            reversescale=True,
            zmin=lo,
            zmid=0.0 if lo < 0 < hi else None,
            zmax=hi,
            hovertemplate="'%{text}': %{z:.3f}<extra></extra>",
            xgap=1,
            ygap=1,
            colorbar=dict(title="value", thickness=12),
        )
    )
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(
        title=title,
        height=max(160, 60 + 26 * z.shape[0]),
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
    )
    return fig


def value_bounds(values: np.ndarray) -> tuple[float, float]:
    """Colour bounds: symmetric around 0 for signed values, [0, max] for gates in [0, 1]."""
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return (-1.0, 1.0)
    if finite.min() >= 0:
        return (0.0, max(float(finite.max()), 1e-6))
    m = max(abs(float(finite.min())), abs(float(finite.max())), 1e-6)
    return (-m, m) if not math.isclose(m, 0) else (-1.0, 1.0)
