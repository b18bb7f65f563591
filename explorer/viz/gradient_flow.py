"""The gradient-flow chart of the Recurrent page: ||d y_T / d s_t|| against the step t for
several models (cells at initialisation, trained, or a variant such as an LSTM with forget-gate
bias 1), and the table that names each curve's regime (vanishing, exploding, stable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import cycle

import numpy as np
import plotly.graph_objects as go

from explorer.viz.recurrent import LAYOUT
from explorer.viz.recurrent_cells import CELL_COLOURS
from explorer.viz.theme import OKABE_ITO

# A curve of a cell itself ("RNN at init", "GRU trained") is drawn in the cell's colour.
PLAIN_CURVES = ("at init", "trained")
# Any other curve (a variant) takes the next theme colour no cell uses, in the theme's order.
VARIANT_COLOURS = tuple(c for c in OKABE_ITO if c not in CELL_COLOURS.values())


def series_colours(labels: Sequence[str]) -> list[str]:
    """One colour per curve: the cell's colour for a cell's own curve (its curves at init and
    trained share it, and differ by dash), the next theme colour no cell uses for any other
    curve, so that no two series that are not the same cell look alike."""
    out, variants = [], cycle(VARIANT_COLOURS)
    for label in labels:
        cell, _, rest = label.partition(" ")
        if cell.lower() in CELL_COLOURS and rest in PLAIN_CURVES:
            out.append(CELL_COLOURS[cell.lower()])
        else:
            out.append(next(variants))
    return out


def gradient_flow_figure(
    curves: Mapping[str, np.ndarray], log_scale: bool = True, title: str = ""
) -> go.Figure:
    """||d y_T / d s_t|| against t for several models; zeros (underflow) are left out. Each
    series has its colour (``series_colours``); a curve at initialisation is dotted."""
    fig = go.Figure()
    for (label, values), colour in zip(curves.items(), series_colours(list(curves)), strict=True):
        values = np.asarray(values, dtype=float)
        shown = np.where(values > 0, values, np.nan) if log_scale else values
        dash = "dot" if "init" in label else "solid"
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(values)),
                y=shown,
                mode="lines",
                name=label,
                line=dict(color=colour, dash=dash),
            )
        )
    fig.update_layout(
        title=title or "Gradient of the last output with respect to each earlier step",
        xaxis=dict(title="time step t (the output is read at the last step)"),
        yaxis=dict(
            title="||d y_T / d s_t||",
            type="log" if log_scale else "linear",
            **({"exponentformat": "power"} if log_scale else {}),
        ),
        height=380,
        hovermode="x unified",
        **LAYOUT,
    )
    return fig


VANISHING_RATIO = 1e-2  # gradient from the first step below 1/100 of the last step's: vanishing
EXPLODING_RATIO = 1e2  # above 100 times: exploding


def flow_regime(values: Sequence[float]) -> tuple[str, float]:
    """("vanishing" | "exploding" | "stable", ratio): the gradient reaching the first step
    relative to the one at the last step (``values[0] / values[-1]``)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2 or not np.isfinite(v[-1]) or v[-1] <= 0:
        return "stable", 1.0
    ratio = float(v[0] / v[-1]) if np.isfinite(v[0]) else float("inf")
    if ratio < VANISHING_RATIO:
        return "vanishing", ratio
    if ratio > EXPLODING_RATIO:
        return "exploding", ratio
    return "stable", ratio


def regime_rows(curves: Mapping[str, np.ndarray]) -> list[dict[str, str]]:
    """One row per curve for the table under the gradient-flow chart: its regime and the ratio of
    the gradient reaching the first step to the one at the last step."""
    rows = []
    for label, values in curves.items():
        regime, ratio = flow_regime(values)
        rows.append(
            {
                "curve": label,
                "regime": regime,
                f"first / last step (over {len(values) - 1} steps)": f"{ratio:.1e}",
            }
        )
    return rows
