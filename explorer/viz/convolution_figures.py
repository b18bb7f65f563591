"""Figures for the Convolution basics page: maps, the sliding window, channels, weight sharing."""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from explorer.basics import SlidingSteps

PAD_COLOUR = "#fde9c9"  # padded zeros: drawn, and visibly not part of the image
WINDOW = "#e45756"
OUTPUT_CELL = "#f58518"


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
            hovertemplate="row %{y}, col %{x}<br>value %{z:.3f}<extra></extra>",
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


ZEROED = "#4575b4"  # cells ReLU set to zero (negative before), one colour


def relu_pair(x: torch.Tensor, *, height: int = 360) -> go.Figure:
    """A feature map before and after ReLU. Before: a diverging scale (negative blue, positive
    red). After: max(0, x), positives on the same reds, and every cell that was negative (now 0)
    in one colour, so the part ReLU removes is one patch."""
    z = x.detach().cpu().float()
    lim = float(z.abs().max()) or 1.0
    kept = torch.where(z > 0, z, torch.full_like(z, float("nan"))).numpy()
    zeroed = torch.where(z > 0, torch.full_like(z, float("nan")), torch.zeros_like(z)).numpy()
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
    hover = "row %{y}, col %{x}<br>value %{z:.3f}<extra></extra>"
    fig.add_trace(
        go.Heatmap(
            z=z.numpy(),
            colorscale="RdBu_r",
            zmid=0,
            zmin=-lim,
            zmax=lim,
            showscale=False,
            hovertemplate=hover,
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Heatmap(
            z=kept,
            colorscale=[[0, "#fddbc7"], [1, "#b2182b"]],
            zmin=0,
            zmax=lim,
            showscale=False,
            hovertemplate=hover,
        ),
        1,
        2,
    )
    fig.add_trace(
        go.Heatmap(
            z=zeroed,
            colorscale=[[0, ZEROED], [1, ZEROED]],
            showscale=False,
            hovertemplate="row %{y}, col %{x}<br>was negative: now 0<extra></extra>",
        ),
        1,
        2,
    )
    for i in (1, 2):
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
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0), plot_bgcolor="white")
    fig.update_annotations(font_size=13)
    return fig


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


def _fmt(v: float) -> str:
    """Short cell text: integers as integers, others with two decimals."""
    return str(int(round(v))) if abs(v - round(v)) < 5e-3 else f"{v:.2f}"


def _box(top: float, left: float, h: float, w: float) -> tuple[list[float], list[float]]:
    """A closed rectangle around cells [top, top+h) x [left, left+w) in cell-centre coordinates."""
    y0, y1, x0, x1 = top - 0.5, top + h - 0.5, left - 0.5, left + w - 0.5
    return [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0]


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
    f = steps.kernel.shape[0]
    pad = steps.padding
    padded = steps.padded.tolist()
    n_p = len(padded)
    inside = [
        [pad <= i < n_p - pad and pad <= j < n_p - pad for j in range(n_p)] for i in range(n_p)
    ]
    small = n_p <= 16
    traces: list[dict] = [
        dict(
            type="heatmap",
            z=padded,
            xaxis="x",
            yaxis="y",
            colorscale="Greys",
            xgap=1,
            ygap=1,
            showscale=False,
            text=[
                [_fmt(padded[i][j]) if inside[i][j] else "" for j in range(n_p)] for i in range(n_p)
            ],
            texttemplate="%{text}" if small else "",
            textfont=dict(size=max(big, 10 if n_p <= 12 else 8)),
            hovertemplate="padded row %{y}, col %{x}<br>value %{z:.3f}<extra></extra>",
        )
    ]
    if pad:  # the zero border in its own colour, over the image's grey scale
        traces.append(
            dict(
                type="heatmap",
                xaxis="x",
                yaxis="y",
                xgap=1,
                ygap=1,
                showscale=False,
                z=[[None if inside[i][j] else 0.0 for j in range(n_p)] for i in range(n_p)],
                text=[["" if inside[i][j] else "0" for j in range(n_p)] for i in range(n_p)],
                texttemplate="%{text}" if small else "",
                colorscale=[[0, PAD_COLOUR], [1, PAD_COLOUR]],
                textfont=dict(size=max(big, 10), color="#7a5b2b"),
                hovertemplate="padding row %{y}, col %{x}: zero<extra></extra>",
            )
        )
    top, left = steps.top_left(step)
    span = steps.dilation * (f - 1) + 1
    bx, by = _box(top, left, span, span)
    traces.append(
        dict(
            type="scatter",
            x=bx,
            y=by,
            xaxis="x",
            yaxis="y",
            mode="lines",
            hoverinfo="skip",
            line=dict(color=WINDOW, width=3),
            showlegend=False,
        )
    )
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
    out = steps.output.tolist()
    olim = max(abs(v) for row in out for v in row) or 1.0
    written = [[i * cols_out + j <= step for j in range(cols_out)] for i in range(rows_out)]
    traces = [
        dict(
            type="heatmap",
            z=[[0.0] * cols_out for _ in range(rows_out)],
            xaxis="x3",
            yaxis="y3",
            colorscale=[[0, "#eeeeee"], [1, "#eeeeee"]],
            xgap=1,
            ygap=1,
            showscale=False,
            hoverinfo="skip",
        )
    ]  # not yet written
    traces.append(
        dict(
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
                [out[i][j] if written[i][j] else None for j in range(cols_out)]
                for i in range(rows_out)
            ],
            text=[
                [_fmt(out[i][j]) if written[i][j] else "" for j in range(cols_out)]
                for i in range(rows_out)
            ],
            texttemplate="%{text}" if cols_out <= 14 else "",
        )
    )
    # one invisible marker per output cell: clicking it selects that position
    cells = [(i, j) for i in range(rows_out) for j in range(cols_out)]
    traces.append(
        dict(
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
    )
    ox, oy = _box(r, c, 1, 1)
    traces.append(
        dict(
            type="scatter",
            x=ox,
            y=oy,
            xaxis="x3",
            yaxis="y3",
            mode="lines",
            hoverinfo="skip",
            line=dict(color=OUTPUT_CELL, width=3),
            showlegend=False,
        )
    )
    return traces


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


def integer_dtick(n: int) -> int:
    """A tick step for an axis of ``n`` whole cells: 1 up to 10 cells, then about 8 ticks (never a
    fraction, so no tick falls between two cells)."""
    return 1 if n <= 10 else -(-n // 8)


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
                hovertemplate="row %{y}, col %{x}<br>value %{z:.3f}<extra></extra>",
            ),
            1,
            i,
        )
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


def add_click_targets(
    fig: go.Figure, height: int, width: int, selected: tuple[int, int] | None = None
) -> go.Figure:
    """Make every cell of an H x W heatmap clickable: one invisible marker per cell (plotly sends
    no selection event for a heatmap itself), and an outline around the selected unit. The page
    reads a click from ``selection.points[0]`` as x = column, y = row."""
    rows, cols = zip(*[(i, j) for i in range(height) for j in range(width)], strict=True)
    kind = go.Scatter if height * width <= 4096 else go.Scattergl
    fig.add_trace(
        kind(
            x=cols,
            y=rows,
            mode="markers",
            showlegend=False,
            name="units",
            marker=dict(
                symbol="square",
                size=max(4, min(18, 360 // max(height, width))),
                color="rgba(0,0,0,0)",
            ),
            hovertemplate="row %{y}, column %{x}: click to select this unit<extra></extra>",
        )
    )
    if selected is not None:
        x, y = _box(selected[0], selected[1], 1, 1)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                line=dict(color="#00e5ff", width=3),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    fig.update_layout(clickmode="event+select", dragmode=False, showlegend=False)
    return fig


def clicked_cell(event: object) -> tuple[int, int] | None:
    """(row, column) of the first clicked point of a plotly selection event, or None."""
    try:
        points = event["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        try:
            points = event.selection.points  # type: ignore[attr-defined]
        except AttributeError:
            return None
    for p in points or []:
        if p.get("x") is not None and p.get("y") is not None:
            return int(round(float(p["y"]))), int(round(float(p["x"])))
    return None
