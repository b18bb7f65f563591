"""The Architectures page's top: its controls (one folded line in projector mode), the clickable
diagram right under them, and the card of the node a click or a link picked.

`controls()` reads every setting (URL-bound: architecture, detail level, colour, layer), builds
the traced graph and returns an :class:`ArchView`; `diagram()` draws it at the type the screen
needs; `node_card()` shows the picked node with a link that opens exactly its maps on Feature
maps, with the weights that page would use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from explorer.models import get_spec
from explorer.models.catalog_types import ArchSpec
from explorer.probe.graph import Graph, InputSizeError, Node
from explorer.probe.names import display_name
from explorer.ui.common import arch_graph, projector_on, summary_records
from explorer.ui.state import PageState
from explorer.ui.view_link import looks_for_link
from explorer.viz.diagram import KIND_NAMES, MEASURES, PROJECTOR_PX, SCREEN_PX, figure, shape_text

LEVELS = {"Blocks": "blocks", "Layers": "layers", "Every operation": "ops"}
# projector? -> (width, height) of the plot in pixels. A projector's 720 rows hold the course bar,
# the title, the folded controls, the legend and the colour bar too: the network gets 300.
DIAGRAM_ROOM = {True: (1100, 300), False: (800, 520)}


@dataclass
class ArchView:
    """Everything the page's sections need about the architecture on screen."""

    key: str
    spec: ArchSpec
    input_shape: tuple[int, int, int]
    graph: Graph  # every operation
    records: list[dict]
    totals: dict[str, Any]
    level: str = "blocks"
    colour_by: str = "output size"
    opened: list[str] = field(default_factory=list)
    view: Graph | None = None
    selected: Node | None = None
    pickable: list[str] = field(default_factory=list)


_COMPACT_INPUTS = {
    "28 x 28 grey": "grey28",
    "32 x 32 colour": "colour32",
}  # widget label -> URL token


def _input_shape(url: PageState, spec: ArchSpec, col: Any) -> tuple[int, int, int]:
    """The input the architecture is measured at, from its widget (bound in the URL: ``input``
    for a compact model, ``size`` for a full-size one; its own input stays off links)."""
    channels, size = spec.input_shape[0], spec.input_shape[1]
    if spec.family == "Your model":  # an imported model takes the input its file was built for
        col.caption(f"Input: {shape_text(spec.input_shape)}, as the model file was built")
        return spec.input_shape  # type: ignore[return-value]
    if spec.compact and spec.key != "keras_cnn":
        own = "28 x 28 grey" if channels == 1 else "32 x 32 colour"
        url.bind(
            "input",
            f"arch_input_{spec.key}",
            default=own,
            valid=_COMPACT_INPUTS,
            url=_COMPACT_INPUTS,
            omit_default=True,
        )
        choice = col.radio(
            "Input", list(_COMPACT_INPUTS), horizontal=True, key=f"arch_input_{spec.key}"
        )
        return (1, 28, 28) if choice.startswith("28") else (3, 32, 32)
    url.bind("size", f"arch_size_{spec.key}", default=size, valid=range(8, 1025), omit_default=True)
    size = col.number_input(
        "Input size (pixels)", min_value=8, max_value=1024, step=8, key=f"arch_size_{spec.key}"
    )
    return channels, int(size), int(size)


def _measured(spec: ArchSpec, input_shape: tuple[int, int, int]) -> tuple[Graph, list[dict], dict]:
    """Graph, layer table and totals at ``input_shape``; st.stop() with one message if it is too small."""
    try:
        graph = arch_graph(spec.key, input_shape)
        return graph, *summary_records(
            spec.key, input_shape
        )  # both cached: a rerun measures nothing
    except InputSizeError as err:
        st.error(f"{spec.title} cannot take a {shape_text(input_shape)} input. {err}")
    except RuntimeError as err:
        st.error(
            f"{spec.title} cannot take a {shape_text(input_shape)} input: the feature maps shrink to nothing "
            f"before the last layer. Choose a larger input. (PyTorch said: {str(err).splitlines()[0]})"
        )
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def _fold_label(spec: ArchSpec, level: str, colour: str) -> str:
    size = st.session_state.get(f"arch_size_{spec.key}") or spec.input_shape[1]
    return (
        f"{spec.title}  |  {level}  |  colour: {colour}  |  input {size} x {size}  (open to change)"
    )


def controls(url: PageState, keys: list[str]) -> ArchView:
    """The page's settings, folded into one expander line in projector mode (the diagram comes
    right after them); returns the architecture on screen, measured."""
    key = url.bind("arch", "arch_key", default="resnet18", valid=keys)
    level_label = url.bind(
        "level", "arch_level", default="Blocks", valid=LEVELS, url=LEVELS, omit_default=True
    )
    colour = url.bind(
        "colour", "arch_colour", default="output size", valid=MEASURES, omit_default=True
    )
    spec = get_spec(key)
    box = st.expander(_fold_label(spec, level_label, colour)) if projector_on() else st.container()
    with box:
        arch_col, input_col = st.columns([3, 2])
        arch_col.selectbox(
            "Architecture",
            keys,
            key="arch_key",
            format_func=lambda k: (
                f"{get_spec(k).title}  ({get_spec(k).family}, "
                f"{get_spec(k).year or ('your file' if k.startswith('own-') else 'course example')})"
            ),
        )
        input_shape = _input_shape(url, spec, input_col)
        graph, records, totals = _measured(spec, input_shape)
        av = ArchView(key, spec, input_shape, graph, records, totals, LEVELS[level_label], colour)
        level_col, colour_col, open_col = st.columns([2, 1, 2])
        level_col.radio(
            "Detail",
            list(LEVELS),
            key="arch_level",
            horizontal=True,
            help="Blocks: what the papers draw (Inception modules, residual blocks, VGG blocks). "
            "Layers: every convolution, pooling and dense layer, with batch norm and ReLU folded "
            "into the layer before. Every operation: each call, ReLU and batch norm included.",
        )
        colour_col.selectbox(
            "Colour by",
            list(MEASURES),
            key="arch_colour",
            help="Node colour on a log scale: "
            + "; ".join(f"{k}: {v}" for k, v in MEASURES.items()),
        )
        _pick(url, av, open_col)
    if input_shape != spec.input_shape and spec.compact:
        st.caption(
            "Compact models are rebuilt for the chosen input; their first layers adapt to the channels."
        )
    return av


def _pick(url: PageState, av: ArchView, open_col: Any) -> None:
    """The layer picked (URL-bound; its card below the diagram) and the blocks opened around it."""
    layers_view = av.graph.view("layers")
    av.pickable = [n.name for n in layers_view.nodes if n.kind not in ("input", "output")]
    av.pickable += [b.name for b in av.graph.blocks.values() if b.name not in av.pickable]
    url.bind(
        "layer",
        "arch_layer",
        default="",
        valid=lambda v: v == "" or v in av.pickable,
        omit_default=True,
    )
    name = st.session_state.get("arch_layer", "")
    block_ids = {b.name: b.id for b in av.graph.blocks.values()}
    if av.level == "blocks" and block_ids:
        # A layer picked inside a closed block (from a link or the picker) opens its block.
        inner = next((n for n in layers_view.nodes if n.name == name), None)
        if name and name not in block_ids and inner is not None and inner.block:
            st.session_state["arch_open"] = sorted(
                {*st.session_state.get("arch_open", []), av.graph.blocks[inner.block].name}
                & set(block_ids)
            )
        st.session_state["arch_open"] = [
            b for b in st.session_state.get("arch_open", []) if b in block_ids
        ]
        chosen = open_col.multiselect(
            "Open blocks",
            list(block_ids),
            key="arch_open",
            format_func=display_name,
            placeholder="Open a block to see its inside",
        )
        av.opened = [block_ids[b] for b in chosen]
    av.view = av.graph.view(av.level, open=av.opened)
    av.selected = next((n for n in av.view.nodes if n.name == name), None)
    if av.selected is None and name:
        av.selected = next((n for n in layers_view.nodes if n.name == name), None)


def diagram(av: ArchView) -> None:
    """The clickable diagram across the page's width (labels 16 px in projector mode, 13 px else)."""
    view = av.view
    projector = projector_on()
    width, height = DIAGRAM_ROOM[projector]

    def on_select() -> None:  # a click on a node picks it (and so writes it to the URL)
        event = st.session_state.get("arch_diagram") or {}
        ids = {n.id: n.name for n in view.nodes}
        for p in (event.get("selection") or {}).get("points") or []:
            cd = p.get("customdata")
            cd = cd[0] if isinstance(cd, (list, tuple)) else cd
            if cd in ids and view.node(cd).kind not in ("input", "output"):
                st.session_state["arch_layer"] = ids[cd]
                return

    fig = figure(
        view,
        colour_by=av.colour_by,
        selected=av.selected.id if av.selected else None,
        font=PROJECTOR_PX if projector else SCREEN_PX,
        max_width=width,
        max_height=height,
        grow_to=22 if projector else None,
    )
    st.plotly_chart(
        fig,
        key="arch_diagram",
        on_select=on_select,
        selection_mode="points",
        width="stretch",
        config={"displaylogo": False, "scrollZoom": False},
    )
    shortcut = (
        " Orange arcs: residual shortcuts (dashed: a 1x1 projection)."
        if any(n.kind == "residual" for n in view.nodes)
        else ""
    )
    st.caption(
        f"Click a node for its card. Symbols: the kind of layer; colour: {MEASURES[av.colour_by]} (log scale)."
        f'{shortcut} Batch norm and ReLU are folded into the layer before them ("+BN+ReLU"); choose '
        "Every operation to see each one."
    )


def _rows(node: Node) -> list[tuple[str, str]]:
    rows = []
    if node.kernel:
        rows.append(
            (
                "kernel / stride / padding",
                f"{node.kernel[0]}x{node.kernel[1]} / {node.stride[0]} / {node.padding[0]}"
                + (f" (groups {node.groups})" if node.groups not in (None, 1) else "")
                + (
                    f" (dilation {node.dilation[0]})"
                    if node.dilation and node.dilation[0] != 1
                    else ""
                ),
            )
        )
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
    return rows


def node_card(av: ArchView) -> None:
    """The layer picker and the picked node's card: shapes, the output-size formula with its
    numbers, parameters, MACs, receptive field, and a link to its feature maps."""
    st.selectbox(
        "Layer",
        [""] + av.pickable,
        key="arch_layer",
        format_func=lambda n: "(click a node or pick a layer)" if n == "" else display_name(n),
    )
    node = av.selected
    if node is None:
        st.caption(
            "Click a node of the diagram (or pick a layer above) to see its card: shapes, the output-size "
            "formula with its numbers, parameters, MACs, receptive field, and a link to its feature maps."
        )
        return
    with st.container(border=True, key="arch_card"):
        st.markdown(f"#### {display_name(node.name)}")
        stage = re.match(r"stage(\d+)\.block(\d+)", node.name)
        if stage and av.spec.family == "ResNet" and not av.spec.compact:
            st.caption(f"He et al.'s Table 1 calls this stage conv{int(stage.group(1)) + 1}_x.")
        what = KIND_NAMES.get(node.kind, node.kind)
        st.text(
            f"{what}  ({node.type})" + (f"  +  {', '.join(node.folded)}" if node.folded else "")
        )
        if node.module:
            st.caption(f"module path: {node.module}")
        for label, value in _rows(node):
            a, b = st.columns([2, 3])
            a.caption(label)
            b.text(value)
        if node.id in av.graph.blocks and av.level == "blocks":
            name = av.graph.blocks[node.id].name
            st.button(
                "Open this block in the diagram",
                key="arch_open_block",
                on_click=lambda: st.session_state.update(
                    arch_open=sorted({*st.session_state.get("arch_open", []), name})
                ),
            )
        feature_link(av, node)


@st.cache_data(max_entries=32, show_spinner=False)
def _feature_layers(key: str) -> dict[str, str]:
    from explorer.viz.diagram.links import feature_layers_of

    return feature_layers_of(key).tokens


def link_weights(key: str) -> str:
    """The weights Feature maps opens ``key`` with by default: ImageNet if cached, else bundled,
    else random (the link says which)."""
    from explorer.ui import weight_sources as ws

    if get_spec(key).weights and ws.pretrained_cached(key):
        return "imagenet"
    return "bundled" if key in ws.bundled_available() else "random"


def feature_link(av: ArchView, node: Node) -> None:
    """A link that opens Feature maps on exactly the layer showing this node's output, with the
    weights that page uses for this architecture (and says when those are random)."""
    from explorer.ui.weight_sources import WEIGHT_KINDS
    from explorer.viz.diagram.links import feature_map_target

    layers = _feature_layers(av.key)
    target = feature_map_target(av.graph, node, layers)
    if target is None:
        st.caption(
            f"{display_name(node.name)} has no feature maps (its output is a vector, not C x H x W), "
            "so no channel of it to show in 'What it looks for' either."
        )
        return
    token, name = layers[target], display_name(node.name)
    shown = display_name(token)
    label = f"Feature maps of {name}" + ("" if shown == name else f" (shown as {shown})")
    kind = link_weights(av.key)
    st.page_link(
        "app_pages/feature_maps.py",
        label=label,
        query_params={"arch": av.key, "weights": kind, "layer": token, "view": "layer"},
    )
    looks_for_link(f"What it looks for: {shown}", token, arch=av.key, weights=kind)
    if kind == "random":
        st.caption(
            f"No trained weights for {av.spec.title} on this machine: Feature maps shows it with random "
            "weights (its Weights choice offers the ImageNet download)."
        )
    else:
        st.caption(f"Opens with {WEIGHT_KINDS[kind]}.")
    if shown != name:
        st.caption(
            f"Feature maps shows a layer's output after what is folded into it, or the block around it: "
            f"{shown}."
        )
