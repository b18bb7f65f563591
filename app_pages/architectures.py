"""Architectures: any catalog entry's card, shapes, layer table and totals."""

import plotly.graph_objects as go
import streamlit as st

from explorer.models import catalog, get_spec
from explorer.models.published import compare_variants
from explorer.ui.code_panel import code_panel
from explorer.ui.common import catalog_overview, human, summary_records
from explorer.ui.state import PageState, copy_link_control

st.title("Architectures")

specs = catalog(kind="cnn")
url = PageState("architectures")  # ?arch=<catalog key> (explorer/ui/state.py)
url.bind("arch", "arch_key", default="resnet18", valid=[s.key for s in specs])
key = st.selectbox(
    "Architecture", [s.key for s in specs], key="arch_key",
    format_func=lambda k: f"{get_spec(k).title}  ({get_spec(k).family}, {get_spec(k).year or 'course example'})",
)  # fmt: skip
copy_link_control("architectures")
spec = get_spec(key)

with st.container(border=True):
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
    st.caption("Compact models are rebuilt for the chosen input; their first layers adapt to the channels.")
try:
    if spec.compact and input_shape != spec.input_shape:
        from explorer.probe import summarize

        model_summary = summarize(lambda: spec.build(in_channels=channels, image_size=size), input_shape)
        records, totals = model_summary.as_records(), {
            "params": model_summary.total_params, "macs": model_summary.total_macs,
            "input": input_shape, "output": model_summary.output_shape,
        }  # fmt: skip
    else:
        records, totals = summary_records(key, input_shape)
except RuntimeError as err:
    st.error(
        f"{spec.title} cannot take a {' x '.join(map(str, input_shape))} input: the feature maps shrink "
        f"to nothing before the last layer. Choose a larger input. (PyTorch said: {str(err).splitlines()[0]})"
    )
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Input (C x H x W)", " x ".join(map(str, totals["input"])))
c2.metric("Output", " x ".join(map(str, totals["output"])))
c3.metric("Parameters", human(totals["params"]), help=f"{totals['params']:,} exactly")
c4.metric("MACs per image", human(totals["macs"]), help=f"{totals['macs']:,} multiply-accumulates")

if spec.twin:
    with st.expander(f"As published beside torchvision's variant: {spec.title} and {get_spec(spec.twin).title}"):
        st.dataframe(compare_variants(key), hide_index=True, width="stretch")
        st.caption("Both measured at 224 x 224 on the meta device. torchvision's definitions carry the "
                   "ImageNet weights; the papers' layouts are built here with random weights.")

st.subheader("Layer by layer")
st.caption(
    "One row per layer call, in execution order. RF = receptive field: how many input pixels one unit "
    "sees (size), the input distance between neighbouring units (jump) and the centre of the first "
    "unit (start). Block rows (residual, Inception) sum their inner layers."
)
st.dataframe(records, hide_index=True, width="stretch", height=420, column_config={
    "params": st.column_config.NumberColumn("params", format="localized"),
    "MACs": st.column_config.NumberColumn("MACs", format="localized"),
})

heavy = [r for r in records if r["MACs"] > 0 and r["type"] in ("Conv2d", "Linear")]
if heavy:
    fig = go.Figure(go.Bar(x=[r["layer"] for r in heavy], y=[r["MACs"] for r in heavy],
                           marker_color="#4c78a8", hovertemplate="%{x}<br>%{y:,} MACs<extra></extra>"))  # fmt: skip
    fig.update_layout(title="Where the compute goes (MACs per convolution / dense layer)", height=320,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="layer", yaxis_title="MACs")  # fmt: skip
    st.plotly_chart(fig, width="stretch")

code_panel(key)

st.subheader("The progression at a glance")
if st.toggle("Compare every ImageNet architecture at 224 x 224", key="arch_compare"):
    rows = catalog_overview()
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "params": st.column_config.NumberColumn("params", format="localized"),
        "MACs": st.column_config.NumberColumn("MACs", format="localized"),
        "weight layers": st.column_config.NumberColumn(
            "conv + dense layers", help="Every convolution and dense layer, parallel branches and "
            "shortcut projections included (papers count only the longest path: ResNet-18 has 18)."),
        "largest RF": st.column_config.NumberColumn("largest RF (pixels)", format="%d"),
    })
    fig = go.Figure(go.Scatter(
        x=[r["params"] for r in rows], y=[r["MACs"] for r in rows], mode="markers+text",
        text=[r["architecture"] for r in rows], textposition="top center",
        marker=dict(size=11, color=[r["year"] for r in rows], colorscale="Viridis", showscale=True,
                    colorbar=dict(title="year", tickformat="d", dtick=1)),
        cliponaxis=False,
        hovertemplate="%{text}<br>%{x:,} parameters<br>%{y:,} MACs<extra></extra>",
    ))
    fig.update_layout(height=440, margin=dict(l=80, r=10, t=40, b=10),
                      title="Parameters against compute (log scales)",
                      xaxis=dict(type="log", title="parameters", exponentformat="power"),
                      yaxis=dict(type="log", title="MACs per image", exponentformat="power"))
    st.plotly_chart(fig, width="stretch")
    st.caption("GoogLeNet has a tenth of AlexNet's parameters yet more depth: its 1x1 bottlenecks and "
               "global average pooling replace the huge dense layers. VGG pays for its uniform 3x3 "
               "blocks with the most compute; ResNet goes deeper for less.")
