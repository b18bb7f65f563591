"""The Recurrent page's "Inside the network" section: the view chooser, the layer and direction
pickers (folded into one line in projector mode), the cached trace, and the chosen view drawn
from the registry in ``explorer.ui.recurrent_views``. It follows the network, input and cell
sections of ``explorer.ui.recurrent_sections``, whose choices it reads.
"""

from typing import Any

import streamlit as st

from explorer.models.recurrent import RecurrentConfig
from explorer.ui import recurrent_cache as rc
from explorer.ui import recurrent_extras
from explorer.ui.recurrent_sections import InputChoice, NetworkChoice
from explorer.ui.recurrent_views import VIEWS, Network, ViewContext
from explorer.ui.state import PageState, ascii_int
from explorer.viz import recurrent as viz

VIEW_TITLES = list(VIEWS)
# What each view's folded line (projector mode) says can be changed in it, beside layer and direction.
VIEW_SETTINGS = {
    "heatmaps": "quantities",
    "units": "quantity, units",
    "saturation": "",
    "directions": "quantity",
    "norms": "state",
    "gradient": "sequence length, gradient of, log scale, forget bias 1",
}


def view_fold_label(view_title: str, layer: int | None, direction: int | None) -> str:
    """Projector mode: a view's settings in one line (the figure below it reaches the first screen)."""
    shown = [
        f"layer {layer + 1}" if layer is not None else "",
        viz.DIRECTION_NAMES[direction] if direction is not None else "",
    ]
    settings = VIEW_SETTINGS[VIEWS[view_title].token]
    parts = (
        view_title,
        ", ".join(p for p in shown if p),
        f"settings: {settings}" if settings else "",
    )
    return "  |  ".join(p for p in parts if p) + "  (open to change)"


def _trace(net: NetworkChoice, given: InputChoice) -> Any:
    """The cached trace of this network over this input (random weights by seed, or the trained model)."""
    if net.trained is None:
        mconf = rc.model_config(
            net.cell,
            net.hidden,
            net.layers,
            net.bidirectional,
            net.nonlinearity,
            given.spec,
            given.prepared.features,
        )
        return rc.random_trace(mconf, net.seed, given.spec)
    return rc.trained_trace(rc.state_digest(net.trained.state_dict), net.trained, given.spec)


def _choose_view(
    page_url: PageState, tr: Any, projector: bool
) -> tuple[Any, int | None, int | None]:
    """The view radio (its title collapsed in projector mode, where the fold names it), bound to
    the link with the gradient view's forget-bias curve and the view's layer and direction.
    Returns the view and the bound layer and direction (None where the view has no such picker),
    bound before the projector's fold, which names them."""
    page_url.bind(
        "view",
        "rec_view",
        default=VIEW_TITLES[0],
        valid=VIEW_TITLES,
        url={title: v.token for title, v in VIEWS.items()},
    )
    title = st.radio(
        "View",
        VIEW_TITLES,
        horizontal=True,
        key="rec_view",
        label_visibility="collapsed" if projector else "visible",
    )
    view = VIEWS[title]
    # The gradient view's "LSTM with forget bias 1" curve, linkable (the course's LSTM step opens it).
    page_url.bind(
        "fb",
        "rec_grad_fb",
        default=False,
        valid=(False, True),
        url={False: "0", True: "1"},
        omit_default=True,
    )
    layer = direction = None
    if view.picks_layer:  # "layer=2" in the link is the second layer
        layer = page_url.bind(
            "layer",
            f"rec_layer_{tr.num_layers}",
            tr.num_layers - 1,
            range(tr.num_layers),
            parse=lambda raw: ascii_int(raw) - 1,
            fmt=lambda k: str(k + 1),
        )
    if tr.num_directions == 2 and view.picks_direction:
        direction = page_url.bind("dir", "rec_direction", 0, (0, 1), url={0: "fwd", 1: "bwd"})
    return view, layer, direction


def _view_settings_box(
    view: Any, tr: Any, projector: bool, bound: tuple[int | None, int | None]
) -> tuple[Any, int, int, Any]:
    """The box the view's settings go in (projector mode: a fold that names them), with the layer
    and direction pickers in its first two columns. Returns the box, layer, direction and the
    third column, where a view may put its own choice."""
    box = st.expander(view_fold_label(view.title, *bound)) if projector else st.container()
    sel1, sel2, sel3 = box.columns(3)
    layer = 0
    if view.picks_layer:
        layer = sel1.selectbox(
            "Layer",
            range(tr.num_layers),
            format_func=lambda k: f"layer {k + 1}",
            key=f"rec_layer_{tr.num_layers}",
        )
    direction = 0
    if tr.num_directions == 2 and view.picks_direction:
        direction = sel2.radio(
            "Direction",
            [0, 1],
            format_func=viz.DIRECTION_NAMES.__getitem__,
            horizontal=True,
            key="rec_direction",
        )
    return box, layer, direction, sel3


def _view_choice(page_url: PageState, tr: Any, projector: bool) -> tuple[Any, Any, int, int, Any]:
    """The view and its layer and direction (bound before the projector's fold, which names them).
    Returns the view, the box it draws in, layer, direction and the third settings column."""
    view, bound_layer, bound_direction = _choose_view(page_url, tr, projector)
    box, layer, direction, sel3 = _view_settings_box(
        view, tr, projector, (bound_layer, bound_direction)
    )
    return view, box, layer, direction, sel3


def views_section(
    page_url: PageState,
    net: NetworkChoice,
    given: InputChoice,
    config: RecurrentConfig,
    projector: bool,
) -> None:
    """Inside the network: the chosen view of the trace (and, for text, the units' shading)."""
    if not projector:
        st.subheader("Inside the network")
    if given.prepared is None:
        st.info("Type some text (or choose a signal) to see the hidden states and gates.")
        return
    tr = _trace(net, given)
    # Not in projector mode: the course step's own text says it there.
    if net.trained is None and config.cell_spec.gated and not projector:
        st.caption(
            "Random weights: the gates hover around 0.5 and commit to nothing yet. Train a model "
            "at the bottom of the page and choose it under Weights to watch the gates decide."
        )
    view, box, layer, direction, sel3 = _view_choice(page_url, tr, projector)
    network = Network(
        net.cell, net.hidden, net.layers, net.bidirectional, net.nonlinearity, net.seed
    )
    view.draw(
        ViewContext(tr, layer, direction, sel3, network, given.spec, given.prepared, page_url, box)
    )
    # LSTMVis: read the text shaded by one unit, units sorted by selectivity.
    if given.spec.kind == "text":
        recurrent_extras.unit_text_section(tr, layer, direction)
