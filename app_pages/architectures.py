"""Architectures: the diagram of any catalog CNN (click a layer for its card), its layer table,
where the compute goes, several architectures side by side, and the progression at a glance."""

import re
from functools import partial

import streamlit as st

from explorer.models import catalog, get_spec
from explorer.probe.graph import InputSizeError
from explorer.probe.names import display_name
from explorer.probe.variants import compare_variants, variants_heading
from explorer.ui.code_panel import code_panel
from explorer.ui.common import arch_graph, catalog_overview, human, projector_on, summary_records
from explorer.ui.state import PageState
from explorer.viz.catalog import compute_bars, params_against_macs
from explorer.viz.diagram import (
    KIND_NAMES,
    MEASURES,
    figure,
    shape_text,
    side_by_side,
    to_png,
    to_svg,
)

LEVELS = {"Blocks": "blocks", "Layers": "layers", "Every operation": "ops"}
SIDE_BY_SIDE = ["lenet5", "alexnet", "vgg16", "googlenet", "resnet50"]

title_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
title_col.title("Architectures")

specs = catalog(kind="cnn")
url = PageState("architectures")  # ?arch=<catalog key> (explorer/ui/state.py)
url.bind("arch", "arch_key", default="resnet18", valid=[s.key for s in specs])
key = st.selectbox(
    "Architecture", [s.key for s in specs], key="arch_key",
    format_func=lambda k: f"{get_spec(k).title}  ({get_spec(k).family}, {get_spec(k).year or 'course example'})",
)  # fmt: skip
with link_col:
    url.copy_link()  # filled by url.done() at the end, with every setting bound
spec = get_spec(key)

# Projector mode folds the card into one line so the diagram reaches the first screen.
with (
    st.expander(f"{spec.title}: the idea and the paper")
    if projector_on()
    else st.container(border=True)
):
    st.markdown(f"### {spec.title}")
    st.markdown(f"**Idea.** {spec.idea}")
    paper = f"[{spec.paper}]({spec.paper_url})" if spec.paper_url else spec.paper
    st.caption(f"{spec.family} family, {spec.year or 'undated'}. {paper}")
    if spec.variant:
        st.caption(f"**What is built here.** {spec.variant}")

channels, size = spec.input_shape[0], spec.input_shape[1]
left, right = st.columns(2)
if spec.compact and spec.key != "keras_cnn":
    choice = left.radio("Input", ["28 x 28 grey", "32 x 32 colour"], horizontal=True,
                        index=0 if channels == 1 else 1)  # fmt: skip
    channels, size = (1, 28) if choice.startswith("28") else (3, 32)
    input_shape = (channels, size, size)
else:
    size = left.number_input("Input size (pixels)", min_value=8, max_value=1024, value=size, step=8)
    input_shape = (channels, int(size), int(size))

if input_shape != spec.input_shape and spec.compact:
    st.caption(
        "Compact models are rebuilt for the chosen input; their first layers adapt to the channels."
    )
try:
    graph = arch_graph(key, input_shape)
    if spec.compact and input_shape != spec.input_shape:
        from explorer.probe import summarize

        model_summary = summarize(
            lambda: spec.build(in_channels=channels, image_size=size), input_shape, key
        )
        records, totals = model_summary.as_records(), {
            "params": model_summary.total_params, "macs": model_summary.total_macs,
            "input": input_shape, "output": model_summary.output_shape,
        }  # fmt: skip
    else:
        records, totals = summary_records(key, input_shape)
except InputSizeError as err:
    st.error(f"{spec.title} cannot take a {shape_text(input_shape)} input. {err}")
    st.stop()
except RuntimeError as err:
    st.error(
        f"{spec.title} cannot take a {shape_text(input_shape)} input: the feature maps shrink "
        f"to nothing before the last layer. Choose a larger input. (PyTorch said: {str(err).splitlines()[0]})"
    )
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Input (C x H x W)", " x ".join(map(str, totals["input"])))
c2.metric("Output", " x ".join(map(str, totals["output"])))
c3.metric("Parameters", human(totals["params"]), help=f"{totals['params']:,} exactly")
c4.metric("MACs per image", human(totals["macs"]), help=f"{totals['macs']:,} multiply-accumulates")

if spec.twin:
    twin_title, twin_caption = variants_heading(key)
    with st.expander(twin_title):
        st.dataframe(compare_variants(key), hide_index=True, width="stretch")
        st.caption(twin_caption)

# ----------------------------------------------------------------------------- the diagram

st.subheader("The network, drawn")
layers_view = graph.view("layers")
pickable = [n.name for n in layers_view.nodes if n.kind not in ("input", "output")]
pickable += [b.name for b in graph.blocks.values() if b.name not in pickable]
level_col, colour_col, open_col = st.columns([2, 1, 2])
url.bind("level", "arch_level", default="Blocks", valid=LEVELS, url=LEVELS, omit_default=True)
level_label = level_col.radio("Detail", list(LEVELS), key="arch_level", horizontal=True,
                              help="Blocks: what the papers draw (Inception modules, residual blocks, VGG blocks). "
                              "Layers: every convolution, pooling and dense layer, with batch norm and ReLU folded "
                              "into the layer before. Every operation: each call, ReLU and batch norm included.")  # fmt: skip
url.bind("colour", "arch_colour", default="output size", valid=MEASURES, omit_default=True)
colour_by = colour_col.selectbox("Colour by", list(MEASURES), key="arch_colour",
                                 help="Node colour on a log scale: " + "; ".join(f"{k}: {v}" for k, v in MEASURES.items()))  # fmt: skip
url.bind(
    "layer", "arch_layer", default="", valid=lambda v: v == "" or v in pickable, omit_default=True
)
selected_name = st.session_state.get("arch_layer", "")
level = LEVELS[level_label]
block_names = {b.name: b.id for b in graph.blocks.values()}
opened: list[str] = []
if level == "blocks" and block_names:
    # A layer picked inside a closed block (from a link or the picker) opens its block.
    if selected_name and selected_name not in block_names:
        inner = next((n for n in layers_view.nodes if n.name == selected_name), None)
        if inner is not None and inner.block:
            st.session_state["arch_open"] = sorted({*st.session_state.get("arch_open", []),
                                                    graph.blocks[inner.block].name} & set(block_names))  # fmt: skip
    st.session_state["arch_open"] = [
        b for b in st.session_state.get("arch_open", []) if b in block_names
    ]
    opened = [block_names[b] for b in open_col.multiselect(
        "Open blocks", list(block_names), key="arch_open", placeholder="Open a block to see its inside")]  # fmt: skip
view = graph.view(level, open=opened)
selected = next((n for n in view.nodes if n.name == selected_name), None)


def _on_select() -> None:
    """A click on a node selects it in the layer picker (and so in the URL)."""
    event = st.session_state.get("arch_diagram") or {}
    points = (event.get("selection") or {}).get("points") or []
    ids = {n.id: n.name for n in view.nodes}
    for p in points:
        cd = p.get("customdata")
        cd = cd[0] if isinstance(cd, (list, tuple)) else cd
        if cd in ids and ids[cd] not in ("input", "logits"):
            st.session_state["arch_layer"] = ids[cd]
            return


def _open_block(name: str) -> None:
    st.session_state["arch_open"] = sorted({*st.session_state.get("arch_open", []), name})


diagram_col, card_col = st.columns([3, 2])
with diagram_col:
    fig = figure(view, colour_by=colour_by, selected=selected.id if selected else None)
    st.plotly_chart(fig, key="arch_diagram", on_select=_on_select, selection_mode="points", width="stretch",
                    config={"displaylogo": False, "scrollZoom": False})  # fmt: skip
    st.caption(
        "Click a node for its card. Symbols: the kind of layer (legend); colour: "
        f"{MEASURES[colour_by]} (log scale). Batch norm and ReLU are folded into the layer before them "
        '("+BN+ReLU"); choose Every operation to see each one.'
    )

with card_col:
    st.selectbox("Layer", [""] + pickable, key="arch_layer",
                 format_func=lambda n: "(click a node or pick a layer)" if n == "" else display_name(n))  # fmt: skip
    if selected is None and selected_name:
        selected = next((n for n in layers_view.nodes if n.name == selected_name), None)
    if selected is None:
        st.caption(
            "Click a node of the diagram (or pick a layer above) to see its card: shapes, the output-size "
            "formula with its numbers, parameters, MACs, receptive field, and links to its feature maps."
        )
    else:
        node = selected
        with st.container(border=True, key="arch_card"):
            st.markdown(f"#### {display_name(node.name)}")
            stage = re.match(r"stage(\d+)\.block(\d+)", node.name)
            if stage and spec.family == "ResNet" and not spec.compact:
                st.caption(f"He et al.'s Table 1 calls this stage conv{int(stage.group(1)) + 1}_x.")
            what = KIND_NAMES.get(node.kind, node.kind)
            st.text(
                f"{what}  ({node.type})" + (f"  +  {', '.join(node.folded)}" if node.folded else "")
            )
            if node.module:
                st.caption(f"module path: {node.module}")
            rows = []
            if node.kernel:
                rows.append(("kernel / stride / padding",
                             f"{node.kernel[0]}x{node.kernel[1]} / {node.stride[0]} / {node.padding[0]}"
                             + (f" (groups {node.groups})" if node.groups not in (None, 1) else "")
                             + (f" (dilation {node.dilation[0]})" if node.dilation and node.dilation[0] != 1 else "")))  # fmt: skip
            rows.append(("input", "; ".join(shape_text(s) for s in node.in_shapes) or "-"))
            rows.append(("output", shape_text(node.out_shape)))
            if node.formula():
                rows.append(("output size (N - F + 2P)/S + 1", node.formula()))
            rows.append(("parameters", f"{node.params:,}"))
            if node.param_formula():
                rows.append(("k x k x C_in x C_out + C_out", node.param_formula()))
            rows.append(("MACs", f"{node.macs:,}"))
            if node.rf:
                rows.append(("receptive field (pixels)", node.rf))
            for label, value in rows:
                a, b = st.columns([2, 3])
                a.caption(label)
                b.text(value)
            names = {n.module: n.name for n in layers_view.nodes if n.module}
            target = graph.units.get(node.module) or names.get(node.module) or node.name
            if node.module in graph.blocks:
                target = graph.blocks[node.module].name
            link = {"arch": key, "layer": target}
            if node.id in graph.blocks and level == "blocks":
                st.button("Open this block in the diagram", key="arch_open_block", on_click=_open_block,
                          args=(graph.blocks[node.id].name,))  # fmt: skip
            st.page_link("app_pages/feature_maps.py", label=f"Feature maps of {target}",
                         query_params={**link, "view": "layer"})  # fmt: skip
            if node.kind == "conv":
                st.page_link("app_pages/feature_maps.py", label=f"Filters of {target}",
                             query_params={**link, "view": "filters"})  # fmt: skip

export = st.columns(3)  # files made only when a button is pressed (callables run on click)
export[0].download_button("Diagram as SVG", partial(to_svg, view, colour_by), file_name=f"{key}.svg",
                          mime="image/svg+xml")  # fmt: skip
export[1].download_button("Diagram as PNG", partial(to_png, view, colour_by, 2.0), file_name=f"{key}.png",
                          mime="image/png")  # fmt: skip
export[2].download_button("Graph as JSON (every operation)", partial(graph.to_json, 1), file_name=f"{key}-graph.json",
                          mime="application/json", help="Nodes, edges and shapes; in a notebook: "
                          "explorer.probe.graph.catalog_graph(key).to_json()")  # fmt: skip

# ----------------------------------------------------------------------------- the table

st.subheader("Layer by layer")
st.caption(
    "One row per layer call, in execution order: the paper-style name, the module path for notebook use, "
    "and each window's kernel, stride and padding, so every output size can be checked with "
    "floor((N - F + 2P)/S) + 1, or with the ceiling where the ceil_mode column says yes (PyTorch's "
    "ceil_mode pooling, e.g. GoogLeNet's, keeps a last, partial window unless it would start in the right padding). "
    "RF = receptive field: how many input pixels one unit sees (size), the input "
    "distance between neighbouring units (jump) and the centre of the first unit (start). Block rows "
    "(residual, Inception) sum their inner layers."
)
st.dataframe(
    records,
    hide_index=True,
    width="stretch",
    height=420,
    column_config={
        "layer": st.column_config.TextColumn("layer", pinned=True),
        "module": st.column_config.TextColumn(
            "module path", help="The PyTorch module name (model.get_submodule)"
        ),
        "params": st.column_config.NumberColumn("params", format="localized"),
        "MACs": st.column_config.NumberColumn("MACs", format="localized"),
    },
)

heavy = [r for r in records if r["MACs"] > 0 and r["type"] in ("Conv2d", "Linear")]
if heavy:
    fig = compute_bars(heavy)
    st.plotly_chart(fig, width="stretch")

code_panel(key)

# ----------------------------------------------------------------------------- side by side

st.subheader("Side by side")
cnn_keys = [s.key for s in specs]
chosen = st.multiselect("Architectures", cnn_keys, default=SIDE_BY_SIDE, key="arch_side",
                        format_func=lambda k: get_spec(k).title, max_selections=6)  # fmt: skip
if chosen:
    # Short titles (up to the first parenthesis) so five columns stay apart; full ones where two clash.
    short_titles = [get_spec(k).title.split(" (")[0] for k in chosen]
    titles = [
        t if short_titles.count(t) == 1 else get_spec(k).title
        for k, t in zip(chosen, short_titles, strict=True)
    ]
    graphs = {
        t: arch_graph(k, tuple(get_spec(k).input_shape)).view("blocks")
        for k, t in zip(chosen, titles, strict=True)
    }
    st.plotly_chart(side_by_side(graphs, colour_by=colour_by), width="stretch", key="arch_side_fig",
                    config={"displaylogo": False})  # fmt: skip
    st.caption(
        "Each at its own input size, blocks as the papers draw them, one row per layer or block at the same "
        f"vertical scale: depth reads as height. Colour: {MEASURES[colour_by]}, one scale for all."
    )

# ----------------------------------------------------------------------------- the progression

st.subheader("The progression at a glance")
if st.toggle("Compare every ImageNet architecture at 224 x 224", key="arch_compare"):
    rows = catalog_overview()
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "params": st.column_config.NumberColumn("params", format="localized"),
            "MACs": st.column_config.NumberColumn("MACs", format="localized"),
            "weight layers": st.column_config.NumberColumn(
                "conv + dense layers",
                help="Every convolution and dense layer, parallel branches and "
                "shortcut projections included (papers count only the longest path: ResNet-18 has 18).",
            ),
            "largest RF": st.column_config.NumberColumn("largest RF (pixels)", format="%d"),
        },
    )
    fig = params_against_macs(rows)
    st.plotly_chart(fig, width="stretch")
    st.caption(
        "GoogLeNet has a tenth of AlexNet's parameters yet more depth: its 1x1 bottlenecks and "
        "global average pooling replace the huge dense layers. VGG pays for its uniform 3x3 "
        "blocks with the most compute; ResNet goes deeper for less."
    )

url.done()
