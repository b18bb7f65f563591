"""Figures of recurrent traces: heatmaps time x units, unit lines, saturation, state norms.

Pure functions from ``RecurrentTrace`` (numpy arrays) to plotly figures; nothing is shown
here. The time axis is categorical with one label per step, "12 e" (step and input), so
hovering any cell names the character or value that was read at that step without sending
a per-cell hover text to the browser.

Heatmaps are sized for the browser (``explorer.viz.compact``): a window of at most
``EXACT_STEPS`` steps is sent as exact float32 values (hover shows them); a longer one is
averaged over groups of neighbouring steps to at most ``MAX_COLUMNS`` columns and sent as
uint8 codes of its colour range, which is all a colour scale can show (1,000 x 128 values:
85 KB instead of 680 KB per heatmap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.models.recurrent_cells import GATE_RANGE, QUANTITY_TITLES
from explorer.probe.recurrent import SATURATION_MARGIN, RecurrentTrace
from explorer.viz.compact import bin_columns, bin_size, colorbar_ticks, quantize

DIRECTION_NAMES = ("forward", "backward")
# Streamlit applies its own theme in the browser; the empty "none" template skips plotly's
# costly deep copy of its default template (a third of the server time of a heatmap).
LAYOUT = dict(template="none", margin=dict(l=60, r=20, t=50, b=40))
EXACT_STEPS = 200  # windows up to this many steps are sent exactly, one column per step
MAX_COLUMNS = 500  # longer windows: at most this many columns (about 2 pixels each on screen)


def step_labels(trace: RecurrentTrace) -> np.ndarray:
    """Unique categorical x labels: "step input" (e.g. "12 e").

    A numpy string array, not a list: plotly copies and walks lists element by element,
    which was a third of a heatmap's server time at 1,000 steps.
    """
    return np.array([f"{t} {lab}" for t, lab in enumerate(trace.labels)])


def _colour(name: str, trace: RecurrentTrace, z: np.ndarray) -> dict:
    """Sigmoid gates on 0..1; tanh quantities on -1..1; c and ReLU states symmetric."""
    bounds = trace.bounds(name)
    if bounds == GATE_RANGE:
        return dict(
            colorscale="Viridis", zmin=0.0, zmax=1.0, colorbar=_bar(f"{name}: gate<br>(0 to 1)")
        )
    if bounds is not None:
        return dict(
            colorscale="RdBu",
            zmin=-1.0,
            zmax=1.0,
            reversescale=True,
            colorbar=_bar(f"{name}: tanh<br>(-1 to 1)"),
        )
    top = float(np.max(np.abs(z))) if z.size else 1.0
    return dict(
        colorscale="RdBu",
        zmin=-top or -1.0,
        zmax=top or 1.0,
        reversescale=True,
        colorbar=_bar(f"{name}: value<br>(unbounded)"),
    )


def _bar(title: str) -> dict:
    """A colour bar that says what its colours measure."""
    return dict(title=dict(text=title, side="top"))


def _axis_ticks(labels: list[str], max_ticks: int = 60) -> dict:
    """Show every step's label on short sequences, every k-th on long ones."""
    every = max(1, int(np.ceil(len(labels) / max_ticks)))
    return dict(
        type="category", tickmode="array", tickvals=labels[::every], ticktext=labels[::every]
    )


def clamp_window(trace: RecurrentTrace, window: tuple[int, int] | None) -> tuple[int, int]:
    """The steps [start, end) to draw: the whole trace by default, at least one step."""
    if window is None:
        return 0, trace.steps
    start = int(min(max(0, window[0]), max(0, trace.steps - 1)))
    return start, int(min(trace.steps, max(start + 1, window[1])))


def is_exact(trace: RecurrentTrace, window: tuple[int, int] | None = None) -> bool:
    """Whether ``window`` is short enough to be sent as exact values (hover shows them)."""
    start, end = clamp_window(trace, window)
    return end - start <= EXACT_STEPS


def heatmap_columns(trace: RecurrentTrace, window: tuple[int, int] | None = None) -> int:
    """Steps per drawn column in ``window``: 1 up to MAX_COLUMNS steps, then more."""
    start, end = clamp_window(trace, window)
    return bin_size(end - start, MAX_COLUMNS)


def _binned_labels(trace: RecurrentTrace, start: int, end: int, size: int) -> np.ndarray:
    """One unique label per group of steps: "120-121 el" (steps and what was read)."""
    out = []
    for a in range(start, end, size):
        b = min(end, a + size)
        read = "".join(trace.labels[a:b])
        out.append(f"{a}-{b - 1} {read if len(read) <= 12 else read[:11] + '…'}")
    return np.array(out)


def _heatmap_dict(
    trace: RecurrentTrace,
    name: str,
    layer: int,
    direction: int,
    window: tuple[int, int] | None = None,
) -> tuple[dict, np.ndarray]:
    """The heatmap trace as a plain dict, and its x labels (exact or binned, see the module)."""
    start, end = clamp_window(trace, window)
    full = trace.get(name, layer, direction)
    colour = _colour(name, trace, full)  # the range of the whole trace: stable across windows
    z = full[start:end].T  # H x T: units on rows, time on columns
    size = heatmap_columns(trace, (start, end))
    if is_exact(trace, (start, end)):
        x = step_labels(trace)[start:end]
        return dict(
            type="heatmap",
            z=z,
            x=x,
            y=np.arange(z.shape[0]),
            hovertemplate="step/input %{x}<br>unit %{y}<br>" + name + " = %{z:.3f}<extra></extra>",
            **colour,
        ), x
    q = quantize(bin_columns(z, size), colour["zmin"], colour["zmax"])  # H x T/size uint8
    colour.update(zmin=0, zmax=255, colorbar={**colour.get("colorbar", {}), **colorbar_ticks(q)})
    if size == 1:
        x = step_labels(trace)[start:end]
        what = "colour on the bar"
    else:
        x = _binned_labels(trace, start, end, size)
        what = f"colour = mean of {size} steps"
    return dict(
        type="heatmap",
        z=q.codes,
        x=x,
        y=np.arange(z.shape[0]),
        hovertemplate="step/input %{x}<br>unit %{y}<br>" + name + f": {what} (values in a window "
        f"of up to {EXACT_STEPS} steps)<extra></extra>",
        **colour,
    ), x


def _heatmap_trace(
    trace: RecurrentTrace,
    name: str,
    layer: int,
    direction: int,
    window: tuple[int, int] | None = None,
    **kw,
) -> tuple[go.Heatmap, np.ndarray]:
    data, x = _heatmap_dict(trace, name, layer, direction, window)
    return go.Heatmap(**data, **kw), x


def state_heatmap(
    trace: RecurrentTrace,
    name: str = "h",
    layer: int = 0,
    direction: int = 0,
    window: tuple[int, int] | None = None,
) -> go.Figure:
    """Time x units heatmap of one quantity (gate, c or h) of one layer and direction.

    ``window``: the steps [start, end) to draw (default: all); see the module for how long
    windows are sent.
    """
    data, x = _heatmap_dict(trace, name, layer, direction, window)
    where = f"layer {layer + 1}" + (
        f", {DIRECTION_NAMES[direction]}" if trace.num_directions > 1 else ""
    )
    size = heatmap_columns(trace, window)
    binned = f", {size} steps per column" if size > 1 else ""
    layout = dict(
        title=dict(text=f"{QUANTITY_TITLES.get(name, name)} ({where}{binned})"),
        xaxis=dict(title=dict(text="time step and input"), **_axis_ticks(x)),
        yaxis=dict(title=dict(text="unit")),
        height=max(260, min(520, 120 + 3 * trace.hidden_size)),
        **LAYOUT,
    )
    # Built from plain dicts: one validation pass instead of one per update call.
    return go.Figure(dict(data=[data], layout=layout))


def all_heatmaps(
    trace: RecurrentTrace, window: tuple[int, int] | None = None
) -> dict[tuple[int, int, str], go.Figure]:
    """Every quantity of every layer and direction (what the page can show at once)."""
    return {
        (layer, direction, name): state_heatmap(trace, name, layer, direction, window)
        for (layer, direction) in trace.values
        for name in trace.quantities
    }


def unit_lines(
    trace: RecurrentTrace, name: str, units: Sequence[int], layer: int = 0, direction: int = 0
) -> go.Figure:
    """Chosen units of one quantity as lines over time."""
    values = trace.get(name, layer, direction)
    x = step_labels(trace)
    fig = go.Figure()
    for unit in units:
        if 0 <= unit < values.shape[1]:
            fig.add_trace(go.Scatter(x=x, y=values[:, unit], mode="lines", name=f"unit {unit}"))
    fig.update_layout(
        title=f"{QUANTITY_TITLES.get(name, name)}: chosen units",
        xaxis=dict(title="time step and input", **_axis_ticks(x)),
        yaxis=dict(title=name),
        height=320,
        hovermode="x unified",
        **LAYOUT,
    )
    return fig


def saturation_histograms(trace: RecurrentTrace, layer: int = 0, direction: int = 0) -> go.Figure:
    """One histogram per gate; the title gives the share of values near each bound."""
    stats = trace.saturation(layer, direction)
    names = list(stats) or ["h"]
    fig = make_subplots(
        rows=1,
        cols=len(names),
        subplot_titles=[_saturation_title(n, stats.get(n), trace.bounds(n)) for n in names],
    )
    for k, name in enumerate(names, start=1):
        lo, hi = trace.bounds(name) or (-1.0, 1.0)
        fig.add_trace(
            go.Histogram(
                x=trace.get(name, layer, direction).ravel(),
                xbins=dict(start=lo, end=hi, size=(hi - lo) / 40),
                marker_color="#4c78a8",
                name=name,
                showlegend=False,
            ),
            row=1,
            col=k,
        )
        for bound in (lo + SATURATION_MARGIN, hi - SATURATION_MARGIN):
            fig.add_vline(x=bound, line_dash="dot", line_color="grey", row=1, col=k)
        # the whole range: saturation shows at the edges
        fig.update_xaxes(range=[lo, hi], row=1, col=k)
    # Two-line subplot titles need room under the figure title, or the two overlap.
    layout = {**LAYOUT, "margin": dict(LAYOUT["margin"], t=110)}
    fig.update_layout(
        title={
            "text": "Gate saturation (dotted: within 0.1 of a bound)",
            "y": 0.97,
            "yanchor": "top",
        },
        height=360,
        **layout,
    )
    fig.update_annotations(yshift=6)  # the subplot titles sit just above their own plots
    fig.update_yaxes(title_text="count", row=1, col=1)
    return fig


def _saturation_title(
    name: str, stat: tuple[float, float] | None, bounds: tuple[float, float] | None
) -> str:
    if stat is None:
        return name
    low, high = stat
    lo, hi = ("0", "1") if bounds == GATE_RANGE else ("-1", "1")
    return f"{name}<br>{100 * low:.0f}% near {lo}, {100 * high:.0f}% near {hi}"


def forward_backward(
    trace: RecurrentTrace, name: str = "h", layer: int = 0, window: tuple[int, int] | None = None
) -> go.Figure:
    """The same quantity of the forward and the backward direction, one above the other."""
    x = None
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=["forward (has read x_0..x_t)", "backward (has read x_t..x_(T-1))"],
    )
    for direction in range(trace.num_directions):
        heat, x = _heatmap_trace(trace, name, layer, direction, window, showscale=direction == 0)
        fig.add_trace(heat, row=direction + 1, col=1)
    fig.update_xaxes(**_axis_ticks(x))
    fig.update_layout(
        title=f"{QUANTITY_TITLES.get(name, name)}, layer {layer + 1}: forward against backward",
        height=560,
        **LAYOUT,
    )
    return fig


def layers_stacked(
    trace: RecurrentTrace,
    name: str = "h",
    direction: int = 0,
    window: tuple[int, int] | None = None,
) -> go.Figure:
    """One quantity in every layer, bottom layer at the bottom, sharing the time axis."""
    x = None
    rows = trace.num_layers
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=[f"layer {layer + 1}" for layer in reversed(range(rows))],
    )
    for row, layer in enumerate(reversed(range(rows)), start=1):
        heat, x = _heatmap_trace(trace, name, layer, direction, window, showscale=row == 1)
        fig.add_trace(heat, row=row, col=1)
    fig.update_xaxes(**_axis_ticks(x))
    fig.update_layout(
        title=f"{QUANTITY_TITLES.get(name, name)} in every layer (top layer on top)",
        height=max(300, 220 * rows),
        **LAYOUT,
    )
    return fig


def state_norms(trace: RecurrentTrace, name: str = "h") -> go.Figure:
    """||state|| per step for every layer and direction."""
    x = step_labels(trace)
    fig = go.Figure()
    for (layer, direction), norms in trace.state_norms(name).items():
        label = f"layer {layer + 1}" + (
            f" {DIRECTION_NAMES[direction]}" if trace.num_directions > 1 else ""
        )
        fig.add_trace(go.Scatter(x=x, y=norms, mode="lines", name=label))
    fig.update_layout(
        title=f"Norm of {QUANTITY_TITLES.get(name, name)} per step",
        xaxis=dict(title="time step and input", **_axis_ticks(x)),
        yaxis=dict(title=f"||{name}_t||"),
        height=320,
        hovermode="x unified",
        **LAYOUT,
    )
    return fig


def signal_figure(values: np.ndarray, names: Sequence[str], title: str = "Input") -> go.Figure:
    """The input sequence itself (T x F), one line per feature (at most 12)."""
    fig = go.Figure()
    for k, name in enumerate(list(names)[:12]):
        fig.add_trace(go.Scatter(y=values[:, k], mode="lines", name=name))
    fig.update_layout(title=title, xaxis_title="time step", height=240, **LAYOUT)
    return fig
