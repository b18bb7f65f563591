"""The sliding window of the Convolution basics page, one position at a time: the padded input
with the window (and its taps, when dilated), the element-wise products, and the output map
written up to that position, with the arithmetic of the position as plain text.

Figures are built from plain dicts (see ``step_figure``): the step view redraws on every step.
"""

from __future__ import annotations

import plotly.graph_objects as go

from explorer.basics import SlidingSteps
from explorer.viz.cell_grid import cell_box, integer_dtick

PAD_COLOUR = "#fde9c9"  # padded zeros: drawn, and visibly not part of the image
WINDOW = "#e45756"
OUTPUT_CELL = "#f58518"
UNWRITTEN = "#eeeeee"  # output cells not yet written


def _fmt(v: float) -> str:
    """Short cell text: integers as integers, others with two decimals."""
    return str(int(round(v))) if abs(v - round(v)) < 5e-3 else f"{v:.2f}"


def step_figure(
    steps: SlidingSteps, step: int, *, height: int = 400, large: bool = False
) -> go.Figure:
    """One position of the sliding window: the padded input with the window and its taps, the
    element-wise products (input x weight), and the output map filled up to this step with the
    cell being written outlined. The output panel has one clickable marker per cell (the page
    reads a click as "jump to this position"). ``large`` (projector mode): numbers in the cells
    at 16 px or more, readable from the back of a room.

    Built from plain dicts without plotly's per-property validation (``_validate=False``): the
    step view redraws this figure on every step, and validation cost 70 ms of the 75."""
    big = 16 if large else 0  # the smallest cell text in projector mode
    traces = [
        *_input_traces(steps, step, big),
        _products_trace(steps, step, big),
        *_output_traces(steps, step, big),
    ]
    return go.Figure(dict(data=traces, layout=_step_layout(steps, height, large)), _validate=False)


def _input_traces(steps: SlidingSteps, step: int, big: int) -> list[dict]:
    """The first panel: the padded input (its zero border in its own colour), the window over it
    and, when dilated, the taps it reads."""
    pad = steps.padding
    padded = steps.padded.tolist()
    n_p = len(padded)
    inside = [
        [pad <= i < n_p - pad and pad <= j < n_p - pad for j in range(n_p)] for i in range(n_p)
    ]
    traces = [_image_trace(padded, inside, big)]
    if pad:
        traces.append(_padding_trace(inside, big))
    return traces + _window_traces(steps, step)


def _image_trace(padded: list[list[float]], inside: list[list[bool]], big: int) -> dict:
    """The padded input on a grey scale, the image's own cells numbered (up to 16 x 16)."""
    n_p = len(padded)
    return dict(
        type="heatmap",
        z=padded,
        xaxis="x",
        yaxis="y",
        colorscale="Greys",
        xgap=1,
        ygap=1,
        showscale=False,
        text=[[_fmt(padded[i][j]) if inside[i][j] else "" for j in range(n_p)] for i in range(n_p)],
        texttemplate="%{text}" if n_p <= 16 else "",
        textfont=dict(size=max(big, 10 if n_p <= 12 else 8)),
        hovertemplate="padded row %{y}, col %{x}<br>value %{z:.3f}<extra></extra>",
    )


def _padding_trace(inside: list[list[bool]], big: int) -> dict:
    """The zero border in its own colour, over the image's grey scale."""
    n_p = len(inside)
    return dict(
        type="heatmap",
        xaxis="x",
        yaxis="y",
        xgap=1,
        ygap=1,
        showscale=False,
        z=[[None if inside[i][j] else 0.0 for j in range(n_p)] for i in range(n_p)],
        text=[["" if inside[i][j] else "0" for j in range(n_p)] for i in range(n_p)],
        texttemplate="%{text}" if n_p <= 16 else "",
        colorscale=[[0, PAD_COLOUR], [1, PAD_COLOUR]],
        textfont=dict(size=max(big, 10), color="#7a5b2b"),
        hovertemplate="padding row %{y}, col %{x}: zero<extra></extra>",
    )


def _window_traces(steps: SlidingSteps, step: int) -> list[dict]:
    """The window's outline at this position and, when dilated, a ring on each tap it reads."""
    f = steps.kernel.shape[0]
    top, left = steps.top_left(step)
    span = steps.dilation * (f - 1) + 1
    bx, by = cell_box(top, left, span, span)
    traces = [_outline(bx, by, "x", WINDOW)]
    if steps.dilation > 1:
        ti, tj = zip(*steps.cells(step), strict=True)
        traces.append(
            dict(
                type="scatter",
                x=list(tj),
                y=list(ti),
                xaxis="x",
                yaxis="y",
                mode="markers",
                hoverinfo="skip",
                showlegend=False,
                marker=dict(symbol="circle-open", size=14, color=WINDOW, line=dict(width=2)),
            )
        )
    return traces


def _outline(x: list[float], y: list[float], axis: str, colour: str) -> dict:
    """A closed line (a window or a cell outline) on the panel of x axis ``axis``."""
    return dict(
        type="scatter",
        x=x,
        y=y,
        xaxis=axis,
        yaxis=axis.replace("x", "y"),
        mode="lines",
        hoverinfo="skip",
        line=dict(color=colour, width=3),
        showlegend=False,
    )


def _products_trace(steps: SlidingSteps, step: int, big: int) -> dict:
    """The middle panel: each tap's input x weight at this position."""
    f = steps.kernel.shape[0]
    patch = steps.patches[step].tolist()
    prod = steps.products[step].tolist()
    w = steps.kernel.tolist()
    lim = max(abs(v) for row in prod for v in row) or 1.0
    return dict(
        type="heatmap",
        z=prod,
        xaxis="x2",
        yaxis="y2",
        colorscale="RdBu",
        zmid=0,
        zmin=-lim,
        zmax=lim,
        showscale=False,
        textfont=dict(size=max(big, 11 if f <= 3 else 9)),
        texttemplate="%{text}" if f <= 5 else "",
        text=[
            [f"{_fmt(patch[i][j])} x {_fmt(w[i][j])}<br>= {_fmt(prod[i][j])}" for j in range(f)]
            for i in range(f)
        ],
        hovertemplate="%{text}<extra></extra>",
    )


def _output_traces(steps: SlidingSteps, step: int, big: int) -> list[dict]:
    """The last panel: the output written up to this step, one clickable marker per cell, and the
    cell being written outlined."""
    rows_out, cols_out = steps.out_shape
    r, c = steps.position(step)
    ox, oy = cell_box(r, c, 1, 1)
    return [
        *_written_output_traces(steps, step, big),
        _output_click_targets(rows_out, cols_out),
        _outline(ox, oy, "x3", OUTPUT_CELL),
    ]


def _written_output_traces(steps: SlidingSteps, step: int, big: int) -> list[dict]:
    """The output map in grey (not yet written) under the cells written up to this step,
    coloured and numbered."""
    rows_out, cols_out = steps.out_shape
    out = steps.output.tolist()
    olim = max(abs(v) for row in out for v in row) or 1.0
    written = [[i * cols_out + j <= step for j in range(cols_out)] for i in range(rows_out)]
    unwritten = dict(
        type="heatmap",
        z=[[0.0] * cols_out for _ in range(rows_out)],
        xaxis="x3",
        yaxis="y3",
        colorscale=[[0, UNWRITTEN], [1, UNWRITTEN]],
        xgap=1,
        ygap=1,
        showscale=False,
        hoverinfo="skip",
    )
    cells = dict(
        type="heatmap",
        xaxis="x3",
        yaxis="y3",
        xgap=1,
        ygap=1,
        colorscale="RdBu",
        zmid=0,
        zmin=-olim,
        zmax=olim,
        showscale=False,
        textfont=dict(size=max(big, 10)),
        hoverinfo="skip",
        z=[
            [out[i][j] if written[i][j] else None for j in range(cols_out)] for i in range(rows_out)
        ],
        text=[
            [_fmt(out[i][j]) if written[i][j] else "" for j in range(cols_out)]
            for i in range(rows_out)
        ],
        texttemplate="%{text}" if cols_out <= 14 else "",
    )
    return [unwritten, cells]


def _output_click_targets(rows_out: int, cols_out: int) -> dict:
    """One invisible marker per output cell: clicking it selects that position."""
    cells = [(i, j) for i in range(rows_out) for j in range(cols_out)]
    return dict(
        type="scatter",
        x=[j for _, j in cells],
        y=[i for i, _ in cells],
        xaxis="x3",
        yaxis="y3",
        mode="markers",
        showlegend=False,
        name="output cells",
        customdata=list(range(len(cells))),
        marker=dict(symbol="square", size=18, color="rgba(0,0,0,0)"),
        hovertemplate="output row %{y}, col %{x}: click to jump here<extra></extra>",
    )


def _step_axes(n: int, domain: list[float], anchor: str) -> tuple[dict, dict]:
    """One panel's x and y axes over ``n`` cells, y downwards, square cells."""
    # integer ticks only (cells are whole rows and columns): never -0.5 or 0.5
    common = dict(
        showgrid=False, zeroline=False, constrain="domain", tick0=0, dtick=integer_dtick(n)
    )
    return (
        dict(domain=domain, range=[-0.5, n - 0.5], anchor=anchor.replace("x", "y"), **common),
        dict(range=[n - 0.5, -0.5], anchor=anchor, scaleanchor=anchor, **common),
    )


def _step_layout(steps: SlidingSteps, height: int, large: bool) -> dict:
    """The three panels side by side (input, products, output), each with its title."""
    rows_out, cols_out = steps.out_shape
    x1, y1 = _step_axes(len(steps.padded), [0.0, 0.42], "x")
    x2, y2 = _step_axes(steps.kernel.shape[0], [0.47, 0.69], "x2")
    x3, y3 = _step_axes(max(rows_out, cols_out), [0.74, 1.0], "x3")
    x3["range"], y3["range"] = [-0.5, cols_out - 0.5], [rows_out - 0.5, -0.5]

    def title(text: str, x: float) -> dict:
        return dict(
            text=text,
            x=x,
            y=1.0,
            xref="paper",
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            font=dict(size=18 if large else 13),
        )

    return dict(
        height=height,
        margin=dict(l=0, r=0, t=30, b=0),
        clickmode="event+select",
        dragmode=False,
        plot_bgcolor="white",
        showlegend=False,
        xaxis=x1,
        yaxis=y1,
        xaxis2=x2,
        yaxis2=y2,
        xaxis3=x3,
        yaxis3=y3,
        annotations=[
            title(f"input, padding P = {steps.padding}", 0.21),
            title("input x weight", 0.58),
            title(f"output {rows_out} x {cols_out}", 0.87),
        ],
    )


def step_equation(steps: SlidingSteps, step: int) -> str:
    """The arithmetic of one position as plain text: products, their sum, the bias, the cell."""
    r, c = steps.position(step)
    terms = [
        f"{_fmt(x)}*{_fmt(w)}" if w >= 0 else f"{_fmt(x)}*({_fmt(w)})"
        for x, w in zip(
            steps.patches[step].flatten().tolist(), steps.kernel.flatten().tolist(), strict=True
        )
    ]
    total = float(steps.products[step].sum())
    lines = [
        ("sum = " if i == 0 else "    + ") + " + ".join(terms[i : i + 5])
        for i in range(0, len(terms), 5)
    ]
    return (
        "\n".join(lines) + f"\n    = {total:.4f}\n"
        f"sum + bias = {total:.4f} + {steps.bias:g} = {float(steps.sums[step]):.4f}"
        f"  -> output[{r}, {c}] = {float(steps.output[r, c]):.4f} (torch's conv2d)"
    )
