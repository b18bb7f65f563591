"""The Architectures page below its diagram: the numbers, the idea and the paper, exports, the
layer table, where the compute goes, several architectures side by side (their set in the URL)
and the progression at a glance. Each section is one function the page calls in order."""

from __future__ import annotations

from functools import partial

import streamlit as st

from explorer.models import get_spec
from explorer.probe.names import display_name
from explorer.probe.variants import compare_variants, variants_heading
from explorer.ui.arch_diagram import ArchView
from explorer.ui.common import arch_graph, catalog_overview, human, projector_on
from explorer.ui.state import PageState
from explorer.viz.catalog import compute_bars, params_against_macs
from explorer.viz.diagram import MEASURES, PROJECTOR_PX, SCREEN_PX, side_by_side, to_png, to_svg

SIDE_BY_SIDE = ["lenet5", "alexnet", "vgg16", "googlenet", "resnet50"]
MAX_SIDE = 6
TABLE_CAPTION = (
    "One row per layer call, in execution order: the paper-style name, the module path for notebook use, "
    "and each window's kernel, stride and padding, so every output size can be checked with "
    "floor((N - F + 2P)/S) + 1, or with the ceiling where the ceil_mode column says yes (PyTorch's "
    "ceil_mode pooling, e.g. GoogLeNet's, keeps a last, partial window unless it would start in the right padding). "
    "RF = receptive field: how many input pixels one unit sees (size), the input "
    "distance between neighbouring units (jump) and the centre of the first unit (start). Block rows "
    "(residual, Inception) sum their inner layers."
)


def numbers(av: ArchView) -> None:
    """Input, output, parameters and MACs: four metrics, or one line in projector mode."""
    t = av.totals
    if projector_on():
        st.caption(
            f"Input {' x '.join(map(str, t['input']))}  ->  output {' x '.join(map(str, t['output']))}  |  "
            f"{human(t['params'])} parameters  |  {human(t['macs'])} MACs per image"
        )
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Input (C x H x W)", " x ".join(map(str, t["input"])))
    c2.metric("Output", " x ".join(map(str, t["output"])))
    c3.metric("Parameters", human(t["params"]), help=f"{t['params']:,} exactly")
    c4.metric("MACs per image", human(t["macs"]), help=f"{t['macs']:,} multiply-accumulates")


def idea(av: ArchView) -> None:
    """The design idea in one sentence and the paper (an expander line in projector mode)."""
    spec = av.spec
    box = (
        st.expander(f"{spec.title}: the idea and the paper")
        if projector_on()
        else st.container(border=True)
    )
    with box:
        st.markdown(f"### {spec.title}")
        st.markdown(f"**Idea.** {spec.idea}")
        paper = f"[{spec.paper}]({spec.paper_url})" if spec.paper_url else spec.paper
        st.caption(f"{spec.family} family, {spec.year or 'undated'}. {paper}")
        if spec.variant:
            st.caption(f"**What is built here.** {spec.variant}")
    if spec.twin:
        twin_title, twin_caption = variants_heading(av.key)
        with st.expander(twin_title):
            st.dataframe(compare_variants(av.key), hide_index=True, width="stretch")
            st.caption(twin_caption)


def exports(av: ArchView) -> None:
    """SVG, PNG and JSON of the diagram; each file made only when its button is pressed."""
    cols = st.columns(3)
    cols[0].download_button(
        "Diagram as SVG",
        partial(to_svg, av.view, av.colour_by),
        file_name=f"{av.key}.svg",
        mime="image/svg+xml",
    )
    cols[1].download_button(
        "Diagram as PNG",
        partial(to_png, av.view, av.colour_by, 2.0),
        file_name=f"{av.key}.png",
        mime="image/png",
    )
    cols[2].download_button(
        "Graph as JSON (every operation)",
        partial(av.graph.to_json, 1),
        file_name=f"{av.key}-graph.json",
        mime="application/json",
        help="Nodes, edges and shapes; in a notebook: "
        "explorer.probe.graph.catalog_graph(key).to_json()",
    )


def layer_table(av: ArchView) -> None:
    """Every layer call with its paper-style name, module path, window and receptive field; then
    where the compute goes."""
    st.subheader("Layer by layer")
    st.caption(TABLE_CAPTION)
    records = [{**r, "layer": display_name(r["layer"])} for r in av.records]
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
        st.plotly_chart(compute_bars(heavy), width="stretch")


def _side_parse(raw: str) -> list[str]:
    return [k for k in raw.split(",") if k]


def side_by_side_section(url: PageState, keys: list[str], colour_by: str) -> None:
    """Several architectures at one depth scale; the set travels in the URL (?side=a,b,c)."""
    st.subheader("Side by side")

    def valid(v: list[str]) -> bool:
        return (
            isinstance(v, list)
            and len(v) <= MAX_SIDE
            and len(set(v)) == len(v)
            and all(k in keys for k in v)
        )

    url.bind(
        "side",
        "arch_side",
        default=list(SIDE_BY_SIDE),
        valid=valid,
        parse=_side_parse,
        fmt=",".join,
        omit_default=True,
    )
    chosen = st.multiselect(
        "Architectures",
        keys,
        key="arch_side",
        format_func=lambda k: get_spec(k).title,
        max_selections=MAX_SIDE,
    )
    if not chosen:
        return
    # Short titles (up to the first parenthesis) so the columns stay apart; full ones where two clash.
    short = [get_spec(k).title.split(" (")[0] for k in chosen]
    titles = [
        t if short.count(t) == 1 else get_spec(k).title for k, t in zip(chosen, short, strict=True)
    ]
    graphs = {
        t: arch_graph(k, tuple(get_spec(k).input_shape))
        for k, t in zip(chosen, titles, strict=True)
    }
    font = PROJECTOR_PX if projector_on() else SCREEN_PX
    st.plotly_chart(
        side_by_side(graphs, colour_by=colour_by, font=font),
        width="stretch",
        key="arch_side_fig",
        config={"displaylogo": False},
    )
    st.caption(
        "Each at its own input size, blocks as the papers draw them, each as tall as the convolution and dense "
        "layers on its longest path: depth reads as height (VGG-16: 16 layers, ResNet-18: 18). "
        f"Colour: {MEASURES[colour_by]}, one scale for all."
    )


def progression() -> None:
    """Every ImageNet architecture at 224 x 224: parameters, compute, depth, receptive field."""
    st.subheader("The progression at a glance")
    if not st.toggle("Compare every ImageNet architecture at 224 x 224", key="arch_compare"):
        return
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
                help="Every convolution and dense layer, parallel branches and shortcut "
                "projections included (papers count only the longest path: ResNet-18 has 18).",
            ),
            "largest RF": st.column_config.NumberColumn("largest RF (pixels)", format="%d"),
        },
    )
    st.plotly_chart(params_against_macs(rows), width="stretch")
    st.caption(
        "GoogLeNet has a tenth of AlexNet's parameters yet more depth: its 1x1 bottlenecks and "
        "global average pooling replace the huge dense layers. VGG pays for its uniform 3x3 "
        "blocks with the most compute; ResNet goes deeper for less."
    )
