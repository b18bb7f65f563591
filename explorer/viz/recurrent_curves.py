"""Learning curves of the Recurrent page's comparison run: RNN, GRU and LSTM on one task.

Pure functions from the run's (step, value) points to plotly figures, in each cell's colour
(from the cell specs); nothing is shown here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.viz.recurrent import LAYOUT
from explorer.viz.recurrent_cells import CELL_COLOURS


def _ema(values: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    out = np.empty_like(values)
    acc = values[0] if len(values) else 0.0
    for k, v in enumerate(values):
        acc = alpha * v + (1 - alpha) * acc
        out[k] = acc
    return out


def learning_curves(
    curves: Mapping[str, Sequence[tuple[int, float]]],
    metric: str = "loss",
    baseline: float | None = None,
    title: str = "",
    val_curves: Mapping[str, Sequence[tuple[int, float]]] | None = None,
) -> go.Figure:
    """Training curves of several cells on one task: raw (faint) and smoothed (bold); held-out
    measurements (``val_curves``) dashed with markers in the cell's colour."""
    fig = go.Figure()
    for cell, points in curves.items():
        if points:
            fig.add_traces(_training_traces(cell, points))
    for cell, points in (val_curves or {}).items():
        if points:
            fig.add_trace(_held_out_trace(cell, points))
    if baseline is not None:
        fig.add_hline(
            y=baseline,
            line_dash="dash",
            line_color="grey",
            annotation_text="a model that learned nothing",
        )
    fig.update_layout(
        title=title or f"Learning curves ({metric})",
        xaxis=dict(title="optimisation step"),
        yaxis=dict(title=metric),
        height=380,
        **LAYOUT,
    )
    return fig


def _training_traces(cell: str, points: Sequence[tuple[int, float]]) -> list[go.Scatter]:
    """One cell's training curve: the raw values faint, their moving average bold (in the
    legend)."""
    steps = np.array([p[0] for p in points])
    values = np.array([p[1] for p in points], dtype=float)
    colour = CELL_COLOURS.get(cell)
    raw = go.Scatter(
        x=steps,
        y=values,
        mode="lines",
        opacity=0.25,
        line=dict(color=colour, width=1),
        showlegend=False,
        hoverinfo="skip",
    )
    smooth = go.Scatter(
        x=steps, y=_ema(values), mode="lines", name=cell.upper(), line=dict(color=colour, width=2.5)
    )
    return [raw, smooth]


def _held_out_trace(cell: str, points: Sequence[tuple[int, float]]) -> go.Scatter:
    """One cell's held-out measurements: dashed with markers, in the cell's colour."""
    return go.Scatter(
        x=[p[0] for p in points],
        y=[p[1] for p in points],
        mode="lines+markers",
        name=f"{cell.upper()} held-out",
        line=dict(color=CELL_COLOURS.get(cell), width=2, dash="dash"),
    )
