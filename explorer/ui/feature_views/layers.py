"""The layer views of Feature maps: every layer at a glance (Overview) and one layer in full
(Layer detail: all channels, their statistics, one channel at full size over the image)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.probe.stats import SORT_KEYS, layer_overview
from explorer.ui.feature_views.context import SORT_LABELS, ViewContext, open_layer, unit_clicked
from explorer.ui.feature_views.looks_for import LOOKS_FOR
from explorer.viz import maps as viz
from explorer.viz.cell_grid import add_click_targets
from explorer.viz.result_pngs import DEFAULT_SCALE, result_montage_png, result_strip_png


def overview(ctx: ViewContext) -> None:
    """One row per layer: its 8 strongest channels, and a button to open it."""
    st.markdown(
        "Each row: one layer's 8 strongest channels (highest mean activation), "
        "each rescaled to its own min..max. Open a layer to see all of its channels."
    )
    for i, m in enumerate(ctx.res.maps.layers):
        a, b, c = st.columns([2, 6, 1], vertical_alignment="center")
        a.markdown(f"**{ctx.name_of(m.name)}** ({m.type})  \n{' x '.join(map(str, m.shape))}")
        b.image(result_strip_png(ctx.res, m.name))
        c.button("Open", key=f"fm_open_{i}", on_click=open_layer, args=(m.name,))


def layer_montage(ctx: ViewContext, layer: str, by: str, scale: str, key: str) -> None:
    """All channels of ``layer`` as one image, its colour bar and two downloads."""
    lm_ = ctx.res.maps.get(layer)
    png = result_montage_png(ctx.res, layer, by, scale)
    st.image(
        png,
        caption=f"{ctx.labels.get(layer, lm_.label)}: {lm_.channels} channels sorted by {SORT_LABELS[by]}, "
        "each rescaled to its own min..max"
        + (
            f", shown at 1/{lm_.tile_factor} size (the zoom below is full size)"
            if lm_.tile_factor > 1
            else ""
        ),
        width="stretch",
    )
    st.plotly_chart(
        viz.colour_bar(
            scale,
            0.0,
            1.0,
            "Montage colour (each channel rescaled on its own)",
            ("channel's lowest activation", "channel's highest"),
        ),
        key=f"{key}_bar",
        config={"displayModeBar": False},
    )
    c1, c2 = st.columns(2)
    c1.download_button(
        "Montage as PNG",
        png,
        file_name=f"{ctx.lm.arch}_{layer}_montage.png",
        mime="image/png",
        on_click="ignore",
        key=f"{key}_png",
    )
    c2.download_button(
        "Activations as .npy (float16)",
        lambda: viz.npy_bytes(lm_.values),
        file_name=f"{ctx.lm.arch}_{layer}_activations.npy",
        mime="application/octet-stream",
        on_click="ignore",
        key=f"{key}_npy",
    )


def layer_detail(ctx: ViewContext) -> None:
    """One layer: the montage of all channels, statistics, and one channel at full size."""
    url, res, names = ctx.url, ctx.res, ctx.names
    c1, c2, c3 = st.columns([3, 2, 2])
    url.bind("layer", "fm_layer", default=names[len(names) // 3], valid=names, url=ctx.layer_tokens)
    layer = c1.selectbox("Layer", names, key="fm_layer", format_func=ctx.labels.get)
    url.bind("sort", "fm_sort", default="mean", valid=SORT_KEYS)
    by = c2.selectbox("Sort channels by", SORT_KEYS, key="fm_sort", format_func=SORT_LABELS.get)
    url.bind("scale", "fm_scale", default=DEFAULT_SCALE, valid=list(viz.COLOUR_SCALES))
    scale = c3.selectbox("Colour scale", list(viz.COLOUR_SCALES), key="fm_scale")
    m = res.maps.get(layer)
    if m.note:
        st.caption(f"{m.name}: {m.note}.")
    layer_montage(ctx, layer, by, scale, "fm_detail")

    ov = layer_overview(m.stats)
    s1, s2, s3 = st.columns(3)
    s1.metric("Mean activation", f"{ov.mean:.4g}")
    s2.metric(
        "Share of zeros" + (" (after ReLU)" if ov.nonnegative else " (values <= 0)"),
        f"{ov.zero_share:.0%}",
    )
    s3.metric(
        "Dead channels",
        f"{ov.dead} of {ov.channels}",
        help="Channels that are never positive on this image (zero everywhere after a ReLU).",
    )
    st.plotly_chart(
        viz.stats_figure(m.stats.mean, m.stats.zero_frac, res.order(layer, by), m.stats.dead),
        key="fm_stats_fig",
    )
    _one_channel(ctx, layer, by, scale)


def _one_channel(ctx: ViewContext, layer: str, by: str, scale: str) -> None:
    """One channel at full size (click a unit: its receptive field) and laid over the input."""
    st.markdown("**One channel, full size**")
    m, mi = ctx.res.maps.get(layer), ctx.mi
    order = ctx.res.order(layer, by)
    ctx.url.bind("channel", "fm_channel", default=int(order[0]), valid=range(m.channels))
    z1, z2 = st.columns([1, 1])
    ch = z1.number_input(
        f"Channel (0 to {m.channels - 1})",
        min_value=0,
        max_value=m.channels - 1,
        step=1,
        key="fm_channel",
    )
    ctx.url.keep("fm_alpha", 0.6, lambda v: isinstance(v, float) and 0.0 <= v <= 1.0)
    alpha = z2.slider("Overlay opacity", 0.0, 1.0, step=0.05, key="fm_alpha")
    _looks_for_button(ctx, layer, int(ch))
    values = m.values[int(ch)].astype(np.float32)
    rank = int(np.flatnonzero(order == int(ch))[0])
    left, right = st.columns(2)
    zoom = viz.channel_figure(
        values, f"{ctx.name_of(layer)}, channel {ch} (rank {rank + 1} by {SORT_LABELS[by]})", scale
    )
    left.plotly_chart(
        add_click_targets(zoom, *values.shape),
        key="fm_zoom",
        on_select=unit_clicked,
        selection_mode="points",
    )
    left.caption("Click a unit to see what it sees: its receptive field on the input.")
    factor = max(1, 384 // mi.view.shape[1])
    right.image(
        viz.enlarge(viz.overlay(mi.view, values, alpha=alpha, scale="inferno"), 384),
        width="stretch",
        caption=f"Channel {ch} stretched to the model's input ({values.shape[0]} x {values.shape[1]} -> "
        f"{mi.view.shape[0]} x {mi.view.shape[1]}, bilinear) and laid over it"
        + (
            f"; then drawn {factor} x larger with square pixels, so each input pixel shows "
            "as a block"
            if factor > 1
            else ""
        )
        + ". Colours (inferno): dark = the channel's lowest activation, bright yellow = "
        "its highest.",
    )
    right.plotly_chart(
        viz.colour_bar(
            "inferno",
            float(values.min()),
            float(values.max()),
            f"Overlay colour: activation of channel {ch} (layer output units)",
        ),
        key="fm_overlay_bar",
        config={"displayModeBar": False},
    )


def _open_looks_for(layer: str, channel: int) -> None:
    """The button's click: "What it looks for" on this layer and channel (one-channel mode). The
    view binds these keys to the URL (view, lf, layer, channel), so the address follows."""
    st.session_state.update(
        fm_view=LOOKS_FOR, fm_lf_mode="channel", fm_lf_layer=layer, fm_lf_channel=channel
    )


def _looks_for_button(ctx: ViewContext, layer: str, channel: int) -> None:
    """The button "What does this channel look for?" (the input that excites it most), for a
    layer with a spatial output (the only ones that view optimises); other layers say why not."""
    if len(ctx.res.maps.get(layer).shape) != 3:
        st.caption(
            f"{ctx.name_of(layer)} has no spatial output, so 'What it looks for' has no channel "
            "of it to optimise."
        )
        return
    st.button(
        "What does this channel look for?",
        key="fm_channel_looks",
        on_click=_open_looks_for,
        args=(layer, channel),
        help=f"Opens 'What it looks for' on {ctx.name_of(layer)}, channel {channel}: the input "
        "made by gradient ascent to excite it most, beside the dataset images that do.",
    )
