"""The six views of the Recurrent page, one function each, registered in ``VIEWS``.

The page draws the view chooser and the layer / direction pickers from the registry and calls
the chosen view's ``draw`` with a ``ViewContext``; the tests iterate over the same mapping.
Adding a view is one function and one entry here, plus its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from explorer.models.recurrent_cells import QUANTITY_TITLES
from explorer.probe.recurrent import RecurrentTrace
from explorer.training.sequence_tasks import TASK_TITLES
from explorer.ui import recurrent_cache as rc
from explorer.ui import recurrent_extras
from explorer.ui.common import projector_on
from explorer.ui.state import PageState, ascii_int
from explorer.viz import recurrent as viz
from explorer.viz.gradient_flow import gradient_flow_figure, regime_rows


@dataclass(frozen=True)
class Network:
    """The randomly initialised network the widgets describe (a trained model has its own)."""

    cell: str
    hidden: int
    layers: int
    bidirectional: bool
    nonlinearity: str
    seed: int


@dataclass(frozen=True)
class ViewContext:
    """What every view may read: the trace, the chosen layer and direction, the network and input."""

    trace: RecurrentTrace
    layer: int
    direction: int
    picker: DeltaGenerator  # the column beside the layer and direction pickers (a quantity choice)
    network: Network
    spec: rc.InputSpec
    prepared: rc.PreparedInput
    url: PageState | None = None  # the page's URL state: each view binds its own settings
    controls: DeltaGenerator | None = (
        None  # where a view draws its settings (projector mode: a folded line)
    )

    @property
    def box(self) -> DeltaGenerator:
        """The view's settings go here: the page's own flow, or the projector's fold above the figure."""
        return self.controls if self.controls is not None else st.container()

    def bind(
        self, name: str, key: str, default: object, valid: object = None, **kw: object
    ) -> None:
        """`PageState.bind` when the page passed its state (a view's setting in the link)."""
        if self.url is not None:
            self.url.bind(name, key, default, valid, **kw)


@dataclass(frozen=True)
class RecurrentView:
    """One view: its title on the page, its URL token, what it draws, which pickers it uses."""

    title: str
    token: str
    draw: Callable[[ViewContext], None]
    picks_layer: bool = True  # a layer selectbox (else layer 0)
    picks_direction: bool = True  # a direction radio when the network is bidirectional


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError("a value twice")
    return values


# Multiselect values in the URL as "a,b,c" (an empty choice is an empty value).
_LIST = {"parse": lambda raw: _unique([p for p in raw.split(",") if p]), "fmt": ",".join}
_INT_LIST = {
    "parse": lambda raw: _unique([ascii_int(p) for p in raw.split(",") if p]),
    "fmt": lambda v: ",".join(str(int(u)) for u in v),
}


PROJECTOR_CHART_PX = (
    330  # a chart's height in projector mode: all of it on the 720-row first screen
)


def _chart(fig: go.Figure) -> None:
    """A view's chart across the page. In projector mode plotly's own text is set to 16 px (the
    projector's CSS enlarges it after plotly has measured, which cut legends short) and the chart
    is PROJECTOR_CHART_PX high (a short heatmap grows, so its colour bar holds five 16 px ticks apart),
    so the whole of it shows under the folded settings."""
    if projector_on():
        fig.update_layout(font_size=16, legend_font_size=16, height=PROJECTOR_CHART_PX)
    st.plotly_chart(fig, width="stretch")


def _quantity(ctx: ViewContext, key: str) -> str:
    quantities = list(ctx.trace.quantities)
    ctx.bind("q", key, quantities[-1], quantities)
    return ctx.picker.selectbox(
        "Quantity", quantities, key=key, format_func=QUANTITY_TITLES.__getitem__
    )


def heatmaps(ctx: ViewContext) -> None:
    """Every chosen quantity as a time x units heatmap; long traces get a window to zoom in."""
    tr, quantities = ctx.trace, list(ctx.trace.quantities)
    ctx.bind(
        "shown",
        f"rec_quantities_{tr.cell}",
        quantities,
        lambda v: set(v) <= set(quantities),
        **_LIST,
    )
    shown = ctx.picker.multiselect(
        "Quantities",
        quantities,
        key=f"rec_quantities_{tr.cell}",
        format_func=QUANTITY_TITLES.__getitem__,
    )
    box = ctx.box
    box.caption("Time runs left to right (hover: step and input character), units top to bottom.")
    window = None
    if tr.steps > viz.EXACT_STEPS:  # long traces: a window to zoom in to exact values
        ctx.bind(
            "window",
            f"rec_window_{tr.steps}",
            (0, tr.steps),
            lambda w: len(w) == 2 and 0 <= w[0] <= w[1] <= tr.steps,
        )
        window = box.slider("Steps shown", 0, tr.steps, key=f"rec_window_{tr.steps}")
        per_column = viz.heatmap_columns(tr, window)
        box.caption(
            f"{window[1] - window[0]:,} steps are drawn "
            + (f"{per_column} per column, " if per_column > 1 else "")
            + (
                "with exact values on hover."
                if viz.is_exact(tr, window)
                else f"in the colours' precision; narrow the window to {viz.EXACT_STEPS} steps or fewer "
                "to read exact values on hover."
            )
        )
    for name in shown:
        _chart(viz.state_heatmap(tr, name, ctx.layer, ctx.direction, window))


def units(ctx: ViewContext) -> None:
    """Chosen units of one quantity as lines over time."""
    tr = ctx.trace
    name = _quantity(ctx, f"rec_unit_q_{tr.cell}")
    ctx.bind(
        "units",
        f"rec_units_{tr.hidden_size}",
        list(range(min(4, tr.hidden_size))),
        lambda v: len(v) <= 12 and all(0 <= u < tr.hidden_size for u in v),
        **_INT_LIST,
    )
    chosen = ctx.box.multiselect(
        "Units", list(range(tr.hidden_size)), key=f"rec_units_{tr.hidden_size}", max_selections=12
    )
    _chart(viz.unit_lines(tr, name, chosen, ctx.layer, ctx.direction))


def saturation(ctx: ViewContext) -> None:
    """Histograms of every gate and the share of values near its bounds."""
    stats = ctx.trace.saturation(ctx.layer, ctx.direction)
    if not stats:  # a ReLU RNN: no gate and no upper bound
        st.info("A ReLU RNN has no gates and no upper bound: nothing saturates. Choose tanh.")
        return
    _chart(viz.saturation_histograms(ctx.trace, ctx.layer, ctx.direction))
    st.caption(
        "A forget gate near 1 keeps the memory; an input gate near 0 writes nothing. "
        "Saturated sigmoids and tanh pass almost no gradient through their own input."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "gate": g,
                    "near lower bound": f"{100 * lo:.1f}%",
                    "near upper bound": f"{100 * hi:.1f}%",
                }
                for g, (lo, hi) in stats.items()
            ]
        ),
        hide_index=True,
    )


def directions_and_layers(ctx: ViewContext) -> None:
    """Forward against backward direction, and every layer stacked."""
    tr = ctx.trace
    name = _quantity(ctx, f"rec_dl_q_{tr.cell}")
    if tr.num_directions == 2:
        _chart(viz.forward_backward(tr, name, ctx.layer))
    else:
        st.info("Turn on 'Bidirectional' to compare the forward and backward directions.")
    if tr.num_layers > 1:
        _chart(viz.layers_stacked(tr, name, 0))
    else:
        st.info("Choose 2 or more layers to see them stacked.")


def state_norms(ctx: ViewContext) -> None:
    """||h_t|| (and ||c_t||) per step for every layer and direction."""
    states = list(ctx.trace.cell_spec.states)
    ctx.bind("state", "rec_norm_q", states[0], states)
    name = ctx.picker.radio("State", states, horizontal=True, key="rec_norm_q")
    _chart(viz.state_norms(ctx.trace, name))


# --- gradient flow ----------------------------------------------------------------------------

_WRT_TITLES = {"h": "hidden state h_t", "input": "input x_t", "c": "LSTM memory c_t"}


def _flows(ctx: ViewContext, length: int, wrt: str) -> tuple[dict, str, str]:
    """The curves to draw, the sizes they were measured at, and whose they are."""
    net, spec = ctx.network, ctx.spec
    run = rc.saved_runs().get(spec.task_kind)
    if run is not None:  # the trained models, and the exact weights they started from
        models = tuple(run.models.values())
        digests = tuple(rc.state_digest(m.state_dict) for m in models)
        flows = rc.trained_gradient_flows(digests, models, spec, length, wrt)
        sizes = f"{run.settings.hidden_size} units, {run.settings.num_layers} layer(s)"
        return flows, sizes, f"the models you trained ({TASK_TITLES[run.settings.task].lower()})"
    flows = rc.init_gradient_flows(net.hidden, net.layers, spec, length, wrt, net.seed)
    return (
        flows,
        f"{net.hidden} units, {net.layers} layer(s)",
        "RNN, GRU and LSTM at initialisation",
    )


def _forget_bias_toggle(ctx: ViewContext, flows: dict, length: int, wrt: str) -> dict:
    """Offer an LSTM with forget-gate bias 1 beside the cells at initialisation."""
    if wrt == "input" or not ctx.box.toggle(
        "Add an LSTM with forget-gate bias 1",
        key="rec_grad_fb",
        help="Jozefowicz et al. (2015): start the forget gate at sigmoid(1) = 0.73 instead of 0.5, "
        "so the memory is kept from the first step.",
    ):
        return flows
    net, prepared = ctx.network, ctx.prepared
    lstm = rc.model_config(
        "lstm", net.hidden, net.layers, False, "tanh", ctx.spec, prepared.features
    )
    return {
        **flows,
        "LSTM, forget bias 1 (at start)": recurrent_extras.forget_bias_flow(
            tuple(vars(lstm).items()), net.seed, prepared.values[:length].numpy(), wrt, 1.0
        ),
    }


def gradient_flow(ctx: ViewContext) -> None:
    """||d y_T / d s_t|| for RNN, GRU and LSTM (at initialisation, or before and after training)."""
    net, prepared = ctx.network, ctx.prepared
    box = ctx.box
    g1, g2, g3 = box.columns(3)
    # Big networks cost seconds per cell and step count: keep the slider's worst case short.
    big = net.hidden * net.layers > 256
    max_len = min(prepared.steps, 120 if big else 300)
    if max_len < 2:
        st.info("Gradient flow needs a sequence of at least 2 steps.")
        return
    if st.session_state.get("rec_grad_len", 0) > max_len:  # the cap may have just shrunk
        st.session_state["rec_grad_len"] = max_len
    ctx.bind("len", "rec_grad_len", min(max_len, 100), range(2, max_len + 1))
    length = g1.slider("Sequence length", 2, max_len, key="rec_grad_len")
    ctx.bind("wrt", "rec_grad_wrt", next(iter(_WRT_TITLES)), list(_WRT_TITLES))
    wrt = g2.radio(
        "Gradient with respect to",
        list(_WRT_TITLES),
        format_func=_WRT_TITLES.get,
        key="rec_grad_wrt",
    )
    ctx.bind("log", "rec_grad_log", True)
    log_scale = g3.toggle("Log scale", key="rec_grad_log")
    if big and prepared.steps > max_len:
        g1.caption(f"Up to {max_len} steps at {net.layers} x {net.hidden} units, to keep it quick.")
    flows, sizes, who = _flows(ctx, length, wrt)
    box.caption(
        f"||d y_T / d s_t|| for each step t of the first {length} steps: how much the last "
        f"output still depends on step t. Same sequence, same sizes ({sizes}): {who}."
    )
    if rc.saved_runs().get(ctx.spec.task_kind) is None:
        box.caption(
            "Train the three cells below on a task that reads this input to see "
            "their curves before and after training."
        )
        flows = _forget_bias_toggle(ctx, flows, length, wrt)
    if not flows:
        st.info("Only an LSTM has a memory cell c: choose h_t or x_t.")
        return
    _chart(gradient_flow_figure(flows, log_scale))
    st.dataframe(regime_rows(flows), hide_index=True)
    st.caption(
        "Vanishing: the gradient from the first step is below 1/100 of the last step's, so early "
        "inputs barely change the output and cannot be learnt from. Exploding: above 100 times, so "
        "updates jump (gradient clipping, a setting under Train and compare, caps them)."
    )


VIEWS: dict[str, RecurrentView] = {
    view.title: view
    for view in (
        RecurrentView("Heatmaps", "heatmaps", heatmaps),
        RecurrentView("Units", "units", units),
        RecurrentView("Saturation", "saturation", saturation),
        RecurrentView(
            "Directions and layers", "directions", directions_and_layers, picks_direction=False
        ),
        RecurrentView("State norms", "norms", state_norms, picks_direction=False),
        RecurrentView(
            "Gradient flow", "gradient", gradient_flow, picks_layer=False, picks_direction=False
        ),
    )
}
