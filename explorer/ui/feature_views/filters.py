"""The Filters view of Feature maps: the learned weights of one convolution, drawn the way that
suits its shape (first-layer colour patches, a 1 x 1 mixing matrix, or one kernel per output
channel), with the histogram of all its weights."""

from __future__ import annotations

import streamlit as st

from explorer.probe.layers import conv_layers
from explorer.probe.names import readable_names
from explorer.ui.feature_views.context import ViewContext, bounded_index
from explorer.ui.state import escape_text
from explorer.viz import maps as viz


def filters(ctx: ViewContext) -> None:
    """The kernels of one convolution layer and the distribution of its weights."""
    convs = dict(conv_layers(ctx.lm.model))
    if not convs:
        st.info("This model has no convolution layers.")
        return
    conv_names = list(convs)
    ctx.url.bind("conv", "fm_conv", default=conv_names[0], valid=conv_names)
    named = readable_names(ctx.lm.model, ctx.lm.arch)  # "conv3_1", not "features.10"
    cname = st.selectbox(
        "Convolution layer",
        conv_names,
        key="fm_conv",
        format_func=lambda n: (
            f"{named.get(n, n)}: {tuple(convs[n].weight.shape)} (out x in x kh x kw)"
        ),
    )
    w = convs[cname].weight.detach().cpu()
    out_c, in_c, kh, kw = w.shape
    left, right = st.columns([3, 2])
    with left:
        if cname == conv_names[0] and in_c in (1, 3):
            st.image(
                viz.first_layer_patches(w, zoom=max(2, 48 // max(kh, kw))),
                width="stretch",
                caption=f"All {out_c} first-layer kernels ({kh} x {kw}) as "
                f"{'colour' if in_c == 3 else 'grey'} patches; mid-grey = 0, each kernel "
                "scaled by its own largest weight",
            )
        elif kh == 1 and kw == 1:
            st.plotly_chart(
                viz.matrix_figure(
                    w[:, :, 0, 0].numpy(),
                    f"{named.get(cname, cname)}: 1 x 1 kernels as a {out_c} x {in_c} matrix",
                ),
                key="fm_matrix",
            )
            st.caption(
                "A 1 x 1 convolution mixes channels at each pixel: its kernels form one matrix."
            )
        else:
            bounded_index("fm_in_ch", in_c - 1)
            ctx.url.bind("in", "fm_in_ch", default=0, valid=range(in_c))
            ic = st.number_input(
                f"Input channel (0 to {in_c - 1})", 0, in_c - 1, step=1, key="fm_in_ch"
            )
            st.image(
                viz.kernel_grid(w, int(ic), zoom=max(2, 32 // max(kh, kw))),
                width="stretch",
                caption=f"The {kh} x {kw} kernel of each of the {out_c} output channels for input "
                f"channel {ic}; blue < 0 < red, one scale for the grid",
            )
    with right:
        st.plotly_chart(
            viz.weight_histogram(w, f"Weights of {named.get(cname, cname)} ({w.numel():,})"),
            key="fm_hist",
        )
        st.caption(escape_text(ctx.lm.label, limit=300))  # a user's model name is in it
