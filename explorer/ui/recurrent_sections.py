"""The Recurrent networks page's sections, in page order: the network, its input, the cell's
text (the views follow in ``explorer.ui.recurrent_view_section``). The page
(app_pages/recurrent.py) calls them one after another, so it reads as a table of contents; each
section reads and binds its own widgets (through the page's ``PageState``) and hands the next one
what it chose.
"""

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from explorer.data.sequences import (
    MAX_STEPS,
    SIGNAL_TITLES,
    SIGNALS,
    SequenceInputError,
    input_kind_for_task,
    signals_for_task,
)
from explorer.models import get_spec
from explorer.models.catalog import CATALOG
from explorer.models.recurrent import (
    CELLS,
    MAX_LAYERS,
    RecurrentConfig,
    parameter_count,
    torch_parameter_count,
    weight_shapes,
)
from explorer.models.recurrent_cells import cell_spec
from explorer.training.sequence_tasks import TASK_METRIC
from explorer.ui import recurrent_cache as rc
from explorer.ui.state import MAX_RAW, PageState, escape_text
from explorer.viz import recurrent as viz
from explorer.viz.recurrent_cells import cell_diagram_dot, cell_text

DEFAULT_TEXT = "The forget gate decides what the memory keeps, and the input gate what it writes."
RANDOM = "Random initialisation"


@dataclass(frozen=True)
class NetworkChoice:
    """The network the views show: a trained model of this session, or a random one's settings."""

    trained: Any  # the chosen trained model (explorer.ui.recurrent_cache), None for random weights
    cell: str
    layers: int
    hidden: int
    bidirectional: bool
    nonlinearity: str
    seed: int


@dataclass(frozen=True)
class InputChoice:
    """The sequence the network reads: its kind, its spec, and the prepared tensor (None if refused)."""

    kind: str  # "Text" or "Signal"
    spec: Any  # recurrent_cache.InputSpec
    prepared: Any  # recurrent_cache.prepare_input's result, None when the input was refused


def catalog_key(cell: str, layers: int, bidirectional: bool) -> str:
    """The catalog entry whose text describes this network: a bidirectional or stacked variant
    of the cell where the catalog has one ("birnn", "stacked_rnn"), else the cell's own."""
    variants = [f"bi{cell}"] if bidirectional else ([f"stacked_{cell}"] if layers > 1 else [])
    return next((key for key in variants if key in CATALOG), cell)


def page_header(page_url: PageState, projector: bool) -> None:
    """Title, the copy-link button beside it, and the page's one-line introduction."""
    title_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
    title_col.title("Recurrent networks")
    with link_col:
        page_url.copy_link()  # filled by page_url.done() at the end, with every setting bound
    if not projector:
        st.caption(
            "A hidden state carried through time. Type a sentence or choose a signal, and watch every "
            "gate of an RNN, GRU or LSTM respond, step by step, layer by layer, in both directions."
        )


def bind_network(page_url: PageState) -> None:
    """The random network's settings and the input's kind, from the link or this session (called
    before their widgets; a second call in the same run changes nothing)."""
    page_url.bind("cell", "rec_cell", default="lstm", valid=CELLS)
    page_url.bind("layers", "rec_layers", default=1, valid=range(1, MAX_LAYERS + 1))
    page_url.bind("hidden", "rec_hidden", default=32, valid=range(2, 257))
    page_url.bind(
        "direction", "rec_bidir", default=False, valid=(False, True), url={False: "uni", True: "bi"}
    )
    page_url.bind("seed", "rec_seed", default=0, valid=range(0, 10000))
    page_url.bind(
        "input",
        "rec_kind",
        default="Text",
        valid=("Text", "Signal"),
        url={"Text": "text", "Signal": "signal"},
    )


def fold_label(page_url: PageState, sources: list[str]) -> str:
    """Projector mode: the network, its input and its weights in one line (bound first, so it is current)."""
    ss = st.session_state
    if ss.get("rec_source", sources[0]) != sources[0]:
        return f"Weights: {ss['rec_source']}  (open to change)"
    bind_network(page_url)
    layers = f"{ss['rec_layers']} layer{'s' if ss['rec_layers'] > 1 else ''}"
    return (
        f"{cell_spec(ss['rec_cell']).title}, {layers} x {ss['rec_hidden']} units, "
        f"{'bidirectional' if ss['rec_bidir'] else 'one direction'}  |  input: {ss['rec_kind'].lower()}  |  "
        f"random weights (seed {ss['rec_seed']})  (open to change)"
    )


def network_section(page_url: PageState, trained: list) -> NetworkChoice:
    """The Weights choice and the network's settings (widgets for a random one, metrics for a trained one)."""
    source = st.selectbox(
        "Weights",
        [RANDOM] + [m.name for m in trained],
        key="rec_source",
        help="Models you train at the bottom of this page appear here and feed every view.",
    )
    chosen = next((m for m in trained if m.name == source), None)
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    if chosen is not None:
        cfg = chosen.config
        c1.metric("Cell", cell_spec(cfg.cell).title)
        c2.metric("Layers", cfg.num_layers)
        c3.metric("Hidden size", cfg.hidden_size)
        c4.metric("Trained steps", chosen.steps)
        c5.metric(f"Final {TASK_METRIC[chosen.task]}", f"{chosen.metric:.3f}")
        page_url.not_in_link(
            "your trained model (the link opens a randomly initialised network in its place)"
        )
        return NetworkChoice(
            chosen,
            cfg.cell,
            cfg.num_layers,
            cfg.hidden_size,
            cfg.bidirectional,
            cfg.nonlinearity,
            0,
        )
    bind_network(page_url)
    cell = c1.selectbox("Cell", CELLS, format_func=lambda c: cell_spec(c).title, key="rec_cell")
    layers = c2.slider("Layers", 1, MAX_LAYERS, key="rec_layers")
    hidden = c3.slider("Hidden size", 2, 256, key="rec_hidden")
    bidirectional = c4.toggle("Bidirectional", key="rec_bidir")
    choices = cell_spec(cell).nonlinearities  # an RNN may use ReLU; gated cells use their own
    if len(choices) > 1:
        page_url.bind("nonlin", "rec_nonlin", default=choices[0], valid=choices)
    nonlinearity = (
        c5.selectbox("Nonlinearity", list(choices), key="rec_nonlin")
        if len(choices) > 1
        else "tanh"
    )
    seed = int(c6.number_input("Seed", 0, 9999, key="rec_seed", help="Random initialisation"))
    return NetworkChoice(None, cell, layers, hidden, bidirectional, nonlinearity, seed)


def _text_input(page_url: PageState, chosen: Any) -> Any:
    """The typed text and how its characters enter the network."""
    left, right = st.columns([3, 1])
    # In the link up to MAX_RAW characters (a longer text stays here, and the popover says so).
    page_url.bind(
        "text",
        "rec_text",
        default=DEFAULT_TEXT,
        valid=lambda t: len(t) <= MAX_STEPS,
        omit_default=True,
        check_current=False,  # a too-long typed text gets the page's own message
    )
    text = left.text_area(
        f"Text (character by character, up to {MAX_STEPS:,} characters)",
        height=100,
        key="rec_text",
    )
    if len(text) > MAX_RAW:
        page_url.not_in_link(
            f"your text, longer than {MAX_RAW} characters (the link opens with the default sentence)"
        )
    if chosen is None:
        page_url.bind("encoding", "rec_encoding", default="onehot", valid=("onehot", "embedding"))
        encoding = right.radio(
            "Characters enter as",
            ["onehot", "embedding"],
            key="rec_encoding",
            format_func={
                "onehot": "one-hot vectors",
                "embedding": "a learned embedding (16-d)",
            }.get,
        )
    else:
        encoding = chosen.config.encoding
    return rc.InputSpec("text", text=text, encoding=encoding)


def _signal_input(page_url: PageState, chosen: Any) -> Any:
    """The generated signal: which one (those a trained model knows), its length and its seed."""
    allowed = list(SIGNALS if chosen is None else signals_for_task(chosen.task))
    left, mid, right = st.columns(3)
    page_url.bind("signal", "rec_signal", default=allowed[0], valid=allowed)
    signal = left.selectbox("Signal", allowed, format_func=SIGNAL_TITLES.get, key="rec_signal")
    page_url.bind("steps", "rec_steps", default=200, valid=range(10, MAX_STEPS + 1, 10))
    steps = mid.slider("Steps", 10, MAX_STEPS, step=10, key="rec_steps")
    page_url.bind("sigseed", "rec_signal_seed", default=0, valid=range(0, 10000))
    signal_seed = int(right.number_input("Signal seed", 0, 9999, key="rec_signal_seed"))
    return rc.InputSpec("signal", signal=signal, steps=steps, seed=signal_seed)


def input_section(page_url: PageState, chosen: Any) -> InputChoice:
    """The sequence: text or signal, prepared by the engine; a refused one gets its message."""
    st.subheader("Input")
    if chosen is None:
        kind = st.radio("Sequence", ["Text", "Signal"], horizontal=True, key="rec_kind")
    else:  # a trained model reads what it was trained on
        kind = input_kind_for_task(chosen.task).title()
        st.caption(f"This model was trained on: {chosen.name}. It reads {kind.lower()} input.")
    spec = _text_input(page_url, chosen) if kind == "Text" else _signal_input(page_url, chosen)
    try:
        prepared = rc.prepare_input(spec)
    except SequenceInputError as err:
        prepared = None
        st.warning(str(err))
    if prepared is not None:
        for note in prepared.notes:  # may quote typed characters: text, not Markdown
            st.info(escape_text(note, limit=800))
        if kind == "Signal":
            st.plotly_chart(
                viz.signal_figure(prepared.values.numpy(), prepared.feature_names),
                width="stretch",
            )
    return InputChoice(kind, spec, prepared)


def network_config(net: NetworkChoice, given: InputChoice) -> RecurrentConfig:
    """The recurrent layer's configuration; its input size is what it reads (one-hot vectors,
    embedded characters, or the signal's features)."""
    if given.kind == "Text":
        input_size = rc.EMBED_DIM if given.spec.encoding == "embedding" else rc.VOCAB_SIZE
    else:
        input_size = given.prepared.features if given.prepared is not None else 1
    return RecurrentConfig(
        net.cell, input_size, net.hidden, net.layers, net.bidirectional, net.nonlinearity
    )


def equations(net: RecurrentConfig) -> None:
    """The cell's equations as torch computes them (and the paper's own form where it differs)."""
    cell_def = cell_text(net.cell)
    if cell_def.paper_equations:
        st.caption(cell_def.torch_note)
    for line in cell_def.equations:
        st.latex(line)
    if cell_def.paper_equations:
        st.caption(cell_def.paper_note)
        for line in cell_def.paper_equations:
            st.latex(line)
    st.caption(cell_def.symbols.format(nonlinearity=net.nonlinearity))
    if net.num_layers > 1:
        st.caption(
            f"{net.num_layers} layers: the states h_t of layer k are the inputs x_t of layer k+1"
            + (" (both directions joined, 2 x hidden)." if net.bidirectional else ".")
        )


def weights_table(net: RecurrentConfig) -> None:
    """Every weight's shape and size, and how the gate blocks stack."""
    rows = [
        {"weight": n, "shape": " x ".join(map(str, s)), "numbers": math.prod(s)}
        for n, s in weight_shapes(net)
    ]
    st.dataframe(
        pd.DataFrame(rows), hide_index=True, width="stretch", height=min(420, 40 + 35 * len(rows))
    )
    st.caption(
        net.cell_spec.stacking
        + f" Input size {net.input_size}, hidden size {net.hidden_size}. Recurrent "
        "layers only: an embedding table or an output layer would add their own parameters."
    )


def cell_section(net: NetworkChoice, config: RecurrentConfig, projector: bool) -> None:
    """The cell's expander: its idea and paper, its diagram, equations, weight shapes and parameter counts."""
    catalog_spec = get_spec(catalog_key(net.cell, net.layers, net.bidirectional))
    with st.expander(f"The cell: {catalog_spec.title}", expanded=not projector):
        st.markdown(f"**Idea.** {catalog_spec.idea}")
        paper = (
            f"[{catalog_spec.paper}]({catalog_spec.paper_url})"
            if catalog_spec.paper_url
            else catalog_spec.paper
        )
        # "1997. ..." at the start of a line is a Markdown ordered list: its number hung outside the box.
        st.caption(f"{catalog_spec.year}\\. {paper}")
        if catalog_spec.variant:
            st.caption(catalog_spec.variant)
        for ref, url in catalog_spec.also:
            st.caption(f"See also: [{ref}]({url})" if url else f"See also: {ref}")
        st.graphviz_chart(
            cell_diagram_dot(net.cell, config.input_size, net.hidden, net.nonlinearity)
        )
        st.caption("One time step of the first layer; every later step reuses the same weights.")
        eq_col, shape_col = st.columns([3, 2])
        with eq_col:
            equations(config)
        with shape_col:
            weights_table(config)
        ours, theirs = parameter_count(config), torch_parameter_count(config)
        m1, m2 = st.columns(2)
        m1.metric("Parameters (explicit cells)", f"{ours:,}")
        m2.metric(
            f"Parameters (torch.nn.{config.cell_spec.torch_class.__name__})",
            f"{theirs:,}",
            delta="identical to the explicit cells"
            if ours == theirs
            else "different from the explicit cells",
            delta_color="off",
            delta_arrow="off",
            help="The page's explicit cells and torch's fused module hold the same weights, shape for "
            "shape; the tests check that both give the same outputs.",
        )
