"""Recurrent networks: every gate of an RNN, GRU or LSTM over a sequence the student types.

The page reads widgets, asks the engine for a cached trace or gradient flow, and draws the
figures; live training runs as a background job of the shared job machinery.
"""

import math

import pandas as pd
import streamlit as st

from explorer.data.sequences import MAX_STEPS, SIGNAL_TITLES, SIGNALS, SequenceInputError
from explorer.models import get_spec
from explorer.models.recurrent import (
    CELLS,
    MAX_LAYERS,
    TORCH_CLASSES,
    RecurrentConfig,
    parameter_count,
    torch_parameter_count,
    weight_shapes,
)
from explorer.training.jobs import JobState
from explorer.training.sequence import (
    TASK_BASELINE,
    TASK_METRIC,
    TASK_TITLES,
    TASKS,
    SeqSample,
    SeqStep,
    SequenceRun,
    SequenceSettings,
    SequenceTrainingError,
    compare_curves,
    compare_val_curves,
    sample_text,
)
from explorer.ui import recurrent_cache as rc
from explorer.ui import recurrent_extras
from explorer.ui.common import fold_inputs, projector_on
from explorer.ui.state import PageState
from explorer.viz import recurrent as viz

DEFAULT_TEXT = "The forget gate decides what the memory keeps, and the input gate what it writes."
EQUATIONS = {
    "rnn": [r"h_t = \phi\left(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}\right)"],
    "gru": [
        r"r_t = \sigma\left(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}\right)",
        r"z_t = \sigma\left(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}\right)",
        r"n_t = \tanh\left(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\right)",
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    ],
    "lstm": [
        r"i_t = \sigma\left(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}\right)",
        r"f_t = \sigma\left(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}\right)",
        r"g_t = \tanh\left(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}\right)",
        r"o_t = \sigma\left(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}\right)",
        r"c_t = f_t \odot c_{t-1} + i_t \odot g_t \qquad h_t = o_t \odot \tanh(c_t)",
    ],
}
# Cho et al. (2014) apply the reset gate to h_(t-1) before the matrix; torch (above) after it.
PAPER_EQUATIONS = {
    "gru": [
        r"\tilde{h}_t = \tanh\left(W x_t + U \left(r_t \odot h_{t-1}\right)\right) \qquad "
        r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde{h}_t",
    ],
}
STACKING = {
    "rnn": "One block per matrix: the RNN has no gates.",
    "gru": "Each matrix stacks the blocks of r, z, n (in this order, as torch does).",
    "lstm": "Each matrix stacks the blocks of i, f, g, o (in this order, as torch does).",
}
VIEWS = ["Heatmaps", "Units", "Saturation", "Directions and layers", "State norms", "Gradient flow"]
VIEW_TOKENS = {"Heatmaps": "heatmaps", "Units": "units", "Saturation": "saturation",
               "Directions and layers": "directions", "State norms": "norms", "Gradient flow": "gradient"}


def catalog_key(cell: str, layers: int, bidirectional: bool) -> str:
    """The catalog entry whose text describes this network."""
    if cell != "rnn":
        return cell
    return "birnn" if bidirectional else ("stacked_rnn" if layers > 1 else "rnn")


page_url = PageState("recurrent")  # the view in the URL (explorer/ui/state.py)
title_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
title_col.title("Recurrent networks")
with link_col:
    page_url.copy_link()  # filled by page_url.done() at the end, with every setting bound
st.caption(
    "A hidden state carried through time. Type a sentence or choose a signal, and watch every "
    "gate of an RNN, GRU or LSTM respond, step by step, layer by layer, in both directions."
)

# --- the network --------------------------------------------------------------------------
inputs_fold = fold_inputs("The network, its input and the cell (open to change)")  # projector mode only
trained = rc.trained_models()
sources = ["Random initialisation"] + [m.name for m in trained]
source = st.selectbox(
    "Weights", sources, key="rec_source",
    help="Models you train at the bottom of this page appear here and feed every view.",
)  # fmt: skip
chosen = next((m for m in trained if m.name == source), None)

c1, c2, c3, c4, c5, c6 = st.columns(6)
if chosen is None:
    page_url.bind("cell", "rec_cell", default="lstm", valid=CELLS)
    page_url.bind("layers", "rec_layers", default=1, valid=range(1, MAX_LAYERS + 1))
    page_url.bind("hidden", "rec_hidden", default=32, valid=range(2, 257))
    page_url.bind("direction", "rec_bidir", default=False, valid=(False, True), url={False: "uni", True: "bi"})
    cell = c1.selectbox("Cell", CELLS, format_func=str.upper, key="rec_cell")
    layers = c2.slider("Layers", 1, MAX_LAYERS, key="rec_layers")
    hidden = c3.slider("Hidden size", 2, 256, key="rec_hidden")
    bidirectional = c4.toggle("Bidirectional", key="rec_bidir")
    if cell == "rnn":
        page_url.bind("nonlin", "rec_nonlin", default="tanh", valid=("tanh", "relu"))
    nonlinearity = (
        c5.selectbox("Nonlinearity", ["tanh", "relu"], key="rec_nonlin") if cell == "rnn" else "tanh"
    )
    seed = int(c6.number_input("Seed", 0, 9999, 0, key="rec_seed", help="Random initialisation"))
else:
    cfg = chosen.config
    cell, layers, hidden = cfg.cell, cfg.num_layers, cfg.hidden_size
    bidirectional, nonlinearity, seed = cfg.bidirectional, cfg.nonlinearity, 0
    c1.metric("Cell", cell.upper())
    c2.metric("Layers", layers)
    c3.metric("Hidden size", hidden)
    c4.metric("Trained steps", chosen.steps)
    c5.metric("Final " + ("bits/char" if chosen.task == "chars" else "MSE"), f"{chosen.metric:.3f}")

# --- the input ----------------------------------------------------------------------------
st.subheader("Input")
if chosen is None:
    page_url.bind("input", "rec_kind", default="Text", valid=("Text", "Signal"), url={"Text": "text", "Signal": "signal"})
    kind = st.radio("Sequence", ["Text", "Signal"], horizontal=True, key="rec_kind")
else:  # a trained model reads what it was trained on
    kind = "Text" if chosen.task == "chars" else "Signal"
    st.caption(f"This model was trained on: {chosen.name}. It reads {kind.lower()} input.")
spec: rc.InputSpec
if kind == "Text":
    left, right = st.columns([3, 1])
    text = left.text_area(
        "Text (character by character, up to 1,000 characters)", DEFAULT_TEXT, height=100,
        key="rec_text",
    )  # fmt: skip
    if chosen is None:
        encoding = right.radio(
            "Characters enter as", ["onehot", "embedding"], key="rec_encoding",
            format_func={"onehot": "one-hot vectors", "embedding": "a learned embedding (16-d)"}.get,
        )  # fmt: skip
    else:
        encoding = chosen.config.encoding
    spec = rc.InputSpec("text", text=text, encoding=encoding)
else:
    allowed = list(SIGNALS)
    if chosen is not None:
        allowed = ["adding"] if chosen.task == "adding" else ["sine", "square", "sawtooth", "noisy"]
    left, mid, right = st.columns(3)
    signal = left.selectbox("Signal", allowed, format_func=SIGNAL_TITLES.get, key="rec_signal")
    steps = mid.slider("Steps", 10, MAX_STEPS, 200, step=10, key="rec_steps")
    signal_seed = int(right.number_input("Signal seed", 0, 9999, 0, key="rec_signal_seed"))
    spec = rc.InputSpec("signal", signal=signal, steps=steps, seed=signal_seed)

try:
    prepared = rc.prepare_input(spec)
except SequenceInputError as err:
    prepared = None
    st.warning(str(err))
if prepared is not None:
    for note in prepared.notes:
        st.info(note)
    if kind == "Signal":
        st.plotly_chart(
            viz.signal_figure(prepared.values.numpy(), prepared.feature_names),
            width="stretch",
        )

inputs_fold.close()  # expanders do not nest: the cell's own expander stays outside the fold

# --- the cell -----------------------------------------------------------------------------
if kind == "Text":  # what the recurrent layer reads: one-hot vectors or embedded characters
    input_size = rc.EMBED_DIM if spec.encoding == "embedding" else rc.VOCAB_SIZE
else:
    input_size = prepared.features if prepared is not None else 1
config = RecurrentConfig(cell, input_size, hidden, layers, bidirectional, nonlinearity)
catalog_spec = get_spec(catalog_key(cell, layers, bidirectional))
with st.expander(f"The cell: {catalog_spec.title}", expanded=not projector_on()):
    st.markdown(f"**Idea.** {catalog_spec.idea}")
    paper = f"[{catalog_spec.paper}]({catalog_spec.paper_url})" if catalog_spec.paper_url else catalog_spec.paper
    # "1997. ..." at the start of a line is a Markdown ordered list: its number hung outside the box.
    st.caption(f"{catalog_spec.year}\\. {paper}")
    if catalog_spec.variant:
        st.caption(catalog_spec.variant)
    for ref, url in catalog_spec.also:
        st.caption(f"See also: [{ref}]({url})" if url else f"See also: {ref}")
    st.graphviz_chart(viz.cell_diagram_dot(cell, config.input_size, hidden, nonlinearity))
    st.caption("One time step of the first layer; every later step reuses the same weights.")
    eq_col, shape_col = st.columns([3, 2])
    with eq_col:
        if cell in PAPER_EQUATIONS:
            st.caption("As torch.nn.GRU computes it (and this page): the reset gate multiplies "
                       "W_hn h_(t-1) + b_hn, after the matrix.")
        for line in EQUATIONS[cell]:
            st.latex(line)
        if cell in PAPER_EQUATIONS:
            st.caption("Cho et al. (2014), the paper's form: the reset gate multiplies h_(t-1) before "
                       "the matrix (r and z as above, biases left out). The two forms behave alike in "
                       "practice, but their weights are not interchangeable.")
            for line in PAPER_EQUATIONS[cell]:
                st.latex(line)
        if cell == "rnn":
            st.caption(f"phi = {nonlinearity}. sigma is the logistic sigmoid, a product of vectors is element-wise.")
        else:
            st.caption("sigma is the logistic sigmoid; the circled dot multiplies element by element.")
        if layers > 1:
            st.caption(
                f"{layers} layers: the states h_t of layer k are the inputs x_t of layer k+1"
                + (" (both directions joined, 2 x hidden)." if bidirectional else ".")
            )
    with shape_col:
        rows = [{"weight": n, "shape": " x ".join(map(str, s)), "numbers": math.prod(s)}
                for n, s in weight_shapes(config)]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(420, 40 + 35 * len(rows)))
        st.caption(
            STACKING[cell] + f" Input size {config.input_size}, hidden size {hidden}. Recurrent "
            "layers only: an embedding table or an output layer would add their own parameters."
        )
    ours, theirs = parameter_count(config), torch_parameter_count(config)
    m1, m2 = st.columns(2)
    m1.metric("Parameters (explicit cells)", f"{ours:,}")
    m2.metric(f"Parameters (torch.nn.{TORCH_CLASSES[cell].__name__})", f"{theirs:,}",
              delta="identical to the explicit cells" if ours == theirs else "different from the explicit cells",
              delta_color="off", delta_arrow="off",
              help="The page's explicit cells and torch's fused module hold the same weights, shape for "
                   "shape; the tests check that both give the same outputs.")  # fmt: skip

# --- the views ----------------------------------------------------------------------------
st.subheader("Inside the network")
if prepared is None:
    st.info("Type some text (or choose a signal) to see the hidden states and gates.")
else:
    if chosen is None:
        mconf = rc.model_config(cell, hidden, layers, bidirectional, nonlinearity, spec, prepared.features)
        tr = rc.random_trace(mconf, seed, spec)
    else:
        tr = rc.trained_trace(rc.state_digest(chosen.state_dict), chosen, spec)
    if chosen is None and cell != "rnn":
        st.caption(
            "Random weights: the gates hover around 0.5 and commit to nothing yet. Train a model "
            "at the bottom of the page and choose it under Weights to watch the gates decide."
        )
    page_url.bind("view", "rec_view", default=VIEWS[0], valid=VIEWS, url=VIEW_TOKENS)
    view = st.radio("View", VIEWS, horizontal=True, key="rec_view")
    quantities = list(tr.quantities)
    sel1, sel2, sel3 = st.columns(3)
    layer = sel1.selectbox("Layer", range(tr.num_layers), format_func=lambda k: f"layer {k + 1}",
                           index=tr.num_layers - 1, key=f"rec_layer_{tr.num_layers}") if view != "Gradient flow" else 0  # fmt: skip
    direction = 0
    if tr.num_directions == 2 and view not in ("Directions and layers", "Gradient flow", "State norms"):
        direction = sel2.radio("Direction", [0, 1], format_func=viz.DIRECTION_NAMES.__getitem__,
                               horizontal=True, key="rec_direction")  # fmt: skip

    if view == "Heatmaps":
        shown = sel3.multiselect("Quantities", quantities, default=quantities, key=f"rec_quantities_{cell}",
                                 format_func=lambda q: viz.QUANTITY_TITLES[q])  # fmt: skip
        st.caption("Time runs left to right (hover: step and input character), units top to bottom.")
        window = None
        if tr.steps > viz.EXACT_STEPS:  # long traces: a window to zoom in to exact values
            window = st.slider("Steps shown", 0, tr.steps, (0, tr.steps), key=f"rec_window_{tr.steps}")
            st.caption(f"{window[1] - window[0]:,} steps are drawn "
                       + (f"{viz.heatmap_columns(tr, window)} per column, " if viz.heatmap_columns(tr, window) > 1 else "")
                       + ("with exact values on hover." if viz.is_exact(tr, window) else
                          f"in the colours' precision; narrow the window to {viz.EXACT_STEPS} steps or fewer "
                          "to read exact values on hover."))  # fmt: skip
        for name in shown:
            st.plotly_chart(viz.state_heatmap(tr, name, layer, direction, window), width="stretch")
    elif view == "Units":
        name = sel3.selectbox("Quantity", quantities, index=len(quantities) - 1, key=f"rec_unit_q_{cell}",
                              format_func=lambda q: viz.QUANTITY_TITLES[q])  # fmt: skip
        units = st.multiselect("Units", list(range(tr.hidden_size)), default=list(range(min(4, tr.hidden_size))),
                               key=f"rec_units_{tr.hidden_size}", max_selections=12)  # fmt: skip
        st.plotly_chart(viz.unit_lines(tr, name, units, layer, direction), width="stretch")
    elif view == "Saturation":
        if cell == "rnn" and nonlinearity == "relu":
            st.info("A ReLU RNN has no gates and no upper bound: nothing saturates. Choose tanh.")
        else:
            st.plotly_chart(viz.saturation_histograms(tr, layer, direction), width="stretch")
            stats = tr.saturation(layer, direction)
            st.caption(
                "A forget gate near 1 keeps the memory; an input gate near 0 writes nothing. "
                "Saturated sigmoids and tanh pass almost no gradient through their own input."
            )
            st.dataframe(pd.DataFrame([
                {"gate": g, "near lower bound": f"{100 * lo:.1f}%", "near upper bound": f"{100 * hi:.1f}%"}
                for g, (lo, hi) in stats.items()
            ]), hide_index=True)  # fmt: skip
    elif view == "Directions and layers":
        name = sel3.selectbox("Quantity", quantities, index=len(quantities) - 1, key=f"rec_dl_q_{cell}",
                              format_func=lambda q: viz.QUANTITY_TITLES[q])  # fmt: skip
        if tr.num_directions == 2:
            st.plotly_chart(viz.forward_backward(tr, name, layer), width="stretch")
        else:
            st.info("Turn on 'Bidirectional' to compare the forward and backward directions.")
        if tr.num_layers > 1:
            st.plotly_chart(viz.layers_stacked(tr, name, 0), width="stretch")
        else:
            st.info("Choose 2 or more layers to see them stacked.")
    elif view == "State norms":
        names = ["h", "c"] if cell == "lstm" else ["h"]
        name = sel3.radio("State", names, horizontal=True, key="rec_norm_q")
        st.plotly_chart(viz.state_norms(tr, name), width="stretch")
    else:
        g1, g2, g3 = st.columns(3)
        # Big networks cost seconds per cell and step count: keep the slider's worst case short.
        big = hidden * layers > 256
        max_len = min(prepared.steps, 120 if big else 300)
        if max_len < 2:
            st.info("Gradient flow needs a sequence of at least 2 steps.")
        else:
            if st.session_state.get("rec_grad_len", 0) > max_len:  # the cap may have just shrunk
                st.session_state["rec_grad_len"] = max_len
            length = g1.slider("Sequence length", 2, max_len, min(max_len, 100), key="rec_grad_len")
            targets = {"h": "hidden state h_t", "input": "input x_t", "c": "LSTM memory c_t"}
            wrt = g2.radio("Gradient with respect to", list(targets), format_func=targets.get,
                           key="rec_grad_wrt")  # fmt: skip
            log_scale = g3.toggle("Log scale", value=True, key="rec_grad_log")
            if big and prepared.steps > max_len:
                g1.caption(f"Up to {max_len} steps at {layers} x {hidden} units, to keep it quick.")
            run = rc.saved_runs().get(spec.task_kind)
            if run is not None:  # the trained models, and the exact weights they started from
                models = tuple(run.models.values())
                digests = tuple(rc.state_digest(m.state_dict) for m in models)
                flows = rc.trained_gradient_flows(digests, models, spec, length, wrt)
                sizes = f"{run.settings.hidden_size} units, {run.settings.num_layers} layer(s)"
                who = f"the models you trained ({TASK_TITLES[run.settings.task].lower()})"
            else:
                flows = rc.init_gradient_flows(hidden, layers, spec, length, wrt, seed)
                sizes = f"{hidden} units, {layers} layer(s)"
                who = "RNN, GRU and LSTM at initialisation"
            st.caption(
                f"||d y_T / d s_t|| for each step t of the first {length} steps: how much the last "
                f"output still depends on step t. Same sequence, same sizes ({sizes}): {who}."
            )
            if run is None:
                st.caption("Train the three cells below on a task that reads this input to see "
                           "their curves before and after training.")  # fmt: skip
            if run is None and wrt != "input" and st.toggle(
                "Add an LSTM with forget-gate bias 1", key="rec_grad_fb",
                help="Jozefowicz et al. (2015): start the forget gate at sigmoid(1) = 0.73 instead of 0.5, "
                "so the memory is kept from the first step.",
            ):  # fmt: skip
                lstm = rc.model_config("lstm", hidden, layers, False, "tanh", spec, prepared.features)
                flows = {**flows, "LSTM, forget bias 1 (at start)": recurrent_extras.forget_bias_flow(
                    tuple(vars(lstm).items()), seed, prepared.values[:length].numpy(), wrt, 1.0)}  # fmt: skip
            if flows:
                st.plotly_chart(viz.gradient_flow_figure(flows, log_scale), width="stretch")
                st.dataframe(viz.regime_rows(flows), hide_index=True)
                st.caption(
                    "Vanishing: the gradient from the first step is below 1/100 of the last step's, so early "
                    "inputs barely change the output and cannot be learnt from. Exploding: above 100 times, so "
                    "updates jump (gradient clipping, a setting under Train and compare, caps them)."
                )
            else:
                st.info("Only an LSTM has a memory cell c: choose h_t or x_t.")
    if spec.kind == "text":  # LSTMVis: read the text shaded by one unit, units sorted by selectivity
        recurrent_extras.unit_text_section(tr, layer, direction)

# --- live training ------------------------------------------------------------------------
TASK_DEFAULTS = {  # steps, window / sequence length, learning rate, hidden size
    "chars": (400, 64, 1e-2, 128),
    "sine": (200, 50, 1e-2, 32),
    "adding": (800, 30, 1e-2, 64),  # 30 steps: GRU and LSTM solve it, the plain RNN does not
}


def training_settings() -> SequenceSettings:
    """The comparison run the widgets describe (bounded widgets; validated by the engine)."""
    t1, t2, t3, t4 = st.columns(4)
    task = t1.selectbox("Task", TASKS, format_func=TASK_TITLES.get, key="rec_task")
    steps0, len0, lr0, hidden0 = TASK_DEFAULTS[task]
    cells = t2.multiselect("Cells", CELLS, default=list(CELLS), format_func=str.upper,
                           key="rec_train_cells")  # fmt: skip
    hidden_size = t3.select_slider("Hidden size ", [8, 16, 32, 64, 128], hidden0,
                                   key=f"rec_train_hidden_{task}")  # fmt: skip
    num_layers = t4.slider("Layers ", 1, 2, 1, key="rec_train_layers")
    s1, s2, s3, s4 = st.columns(4)
    steps = s1.select_slider("Steps", [50, 100, 200, 400, 800, 1500, 3000], steps0,
                             key=f"rec_train_steps_{task}")  # fmt: skip
    seq_len = s2.slider("Sequence length" if task == "adding" else "Window", 10, 200, len0,
                        step=5, key=f"rec_train_len_{task}")  # fmt: skip
    lr = s3.select_slider("Learning rate", [1e-3, 3e-3, 1e-2, 3e-2], lr0, key=f"rec_train_lr_{task}")
    encoding = "onehot"
    if task == "chars":
        encoding = s4.radio("Characters enter as ", ["onehot", "embedding"], key="rec_train_enc",
                            format_func={"onehot": "one-hot", "embedding": "embedding"}.get)  # fmt: skip
    k1, k2, _ = st.columns([1, 1, 2])
    clip = k1.select_slider("Gradient clipping (max norm)", [0.0, 0.25, 1.0, 5.0, 25.0], 1.0, key="rec_train_clip",
                            format_func=lambda v: "off" if v == 0 else f"{v:g}")  # fmt: skip
    forget_bias = k2.radio("LSTM forget-gate bias at start", [0.0, 1.0], horizontal=True, key="rec_train_fb",
                           help="1.0 as in Jozefowicz et al. (2015): the LSTM starts by remembering.")  # fmt: skip
    return SequenceSettings(task=task, cells=tuple(cells), hidden_size=hidden_size,
                            num_layers=num_layers, steps=steps, seq_len=seq_len, lr=lr,
                            encoding=encoding, clip=clip, forget_bias=forget_bias)  # fmt: skip


def show_run_results(run: SequenceRun) -> None:
    """Curves, final numbers and (for text) a sample from each finished model."""
    task = run.settings.task
    st.plotly_chart(viz.learning_curves(run.curves, TASK_METRIC[task], TASK_BASELINE[task],
                                        title=f"{TASK_TITLES[task]}: learning curves",
                                        val_curves=getattr(run, "val_curves", None)),
                    width="stretch", key=f"rec_final_curves_{task}")  # fmt: skip
    st.dataframe(pd.DataFrame([
        {"cell": m.config.cell.upper(), f"final {TASK_METRIC[task]}": round(m.metric, 4),
         "steps": m.steps, "parameters": sum(v.numel() for v in m.state_dict.values())}
        for m in run.models.values()
    ]), hide_index=True)  # fmt: skip
    if task != "chars":
        return
    st.markdown("**Let the character models write**")
    w1, w2, w3 = st.columns([2, 1, 1])
    prime = w1.text_input("Start with", "The ", max_chars=100, key="rec_prime")
    temperature = w2.slider("Temperature", 0.1, 2.0, 0.8, step=0.1, key="rec_temperature")
    length = w3.slider("Characters", 50, 600, 200, step=50, key="rec_sample_len")
    if st.button("Write", key="rec_write"):
        samples = {}
        for cell, model in run.models.items():
            try:
                samples[cell] = sample_text(model.instantiate(), prime, length, temperature)
            except SequenceTrainingError as err:
                samples[cell] = str(err)
        st.session_state["rec_samples"] = samples
    if st.session_state.get("rec_samples"):
        st.caption("Every model draws with the same random numbers: the differences are the models'.")
    for cell, text in st.session_state.get("rec_samples", {}).items():
        st.caption(cell.upper())
        st.text(text)  # plain text: model output is never rendered as HTML/Markdown


def training_section() -> None:
    """Start a comparison run, follow it live, keep its models for the views above."""
    settings = training_settings()
    job = rc.current_job()
    running = job is not None and not job.done
    queued = running and job.state is JobState.QUEUED

    # A queued view polls every 5 s (it only waits for its turn); a running one every second.
    @st.fragment(run_every=(5.0 if queued else 1.0) if running else None)
    def live() -> None:
        current = rc.current_job()
        if current is None:
            return
        if queued and current.state is not JobState.QUEUED:
            st.rerun(scope="app")  # its turn came: switch to the running view's polling rate
        latest = current.latest(SeqStep)
        total = rc.job_settings().steps if rc.job_settings() else None
        line = f"{current.title}: {rc.status_line(current)}"
        if latest is not None and total:
            line += f" Step {latest.step} of {total}."
        st.markdown(line)
        if latest is not None and total:
            st.progress(min(latest.step / total, 1.0))
        if current.done:
            if current.state is JobState.FAILED:
                st.error(f"Training failed: {current.error}")
            new_models = rc.collect_result(current)
            if new_models or running:
                st.rerun(scope="app")  # stop polling; new models appear under Weights
            return
        b1, b2, b3 = st.columns(3)
        if current.state is JobState.PAUSED:
            if b1.button("Resume", key="rec_resume"):
                current.resume()
                st.rerun(scope="fragment")
        elif b1.button("Pause", key="rec_pause", disabled=current.state is not JobState.RUNNING):
            current.pause()
            st.rerun(scope="fragment")
        if b2.button("Stop (keep the models)", key="rec_stop"):
            current.stop()
            st.rerun(scope="fragment")
        if b3.button("Cancel", key="rec_cancel"):
            current.cancel()
            st.rerun(scope="fragment")
        curves = compare_curves(current.log)
        if curves and rc.job_settings() is not None:
            task = rc.job_settings().task
            st.plotly_chart(viz.learning_curves(curves, TASK_METRIC[task], TASK_BASELINE[task],
                                                val_curves=compare_val_curves(current.log)),
                            width="stretch", key="rec_live_curves")  # fmt: skip
        sample = current.latest(SeqSample)
        if sample is not None:
            st.caption(f"{sample.cell.upper()} writes at step {sample.step}:")
            st.text(sample.text)

    if st.button("Train and compare", type="primary", disabled=running, key="rec_train"):
        try:
            settings.validate()
            rc.start_training(settings)
        except (SequenceTrainingError, rc.JobUnavailableError) as err:
            st.error(str(err))
        else:
            st.rerun()
    live()
    for run in reversed(list(rc.saved_runs().values())):
        with st.expander(f"Finished: {TASK_TITLES[run.settings.task]}", expanded=True):
            show_run_results(run)



st.subheader("Train and compare")
st.caption(
    "RNN, GRU and LSTM learn the same task from the same batches, side by side, in the "
    "background (you can keep exploring). Finished models appear under Weights at the top."
)
training_section()
page_url.done()
