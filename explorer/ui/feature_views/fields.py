"""The Receptive field view of Feature maps: which input pixels one unit of a layer can see
(the theoretical box from the layer arithmetic, and on request the effective field from one
backward pass), picked by number or by a click on the channel's map."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from explorer.basics import first_layer_unit, is_first_layer_field
from explorer.probe import Field
from explorer.ui.feature_views.context import ViewContext, unit_clicked
from explorer.ui.image_results import effective_field, field_summary
from explorer.viz import maps as viz
from explorer.viz.cell_grid import add_click_targets


def _choose_unit(ctx: ViewContext, rf_names: list[str]) -> tuple[str, int, int, bool, Any]:
    """The layer and the unit (row, column) whose field is drawn, and whether to compute the
    effective field; each bound to the link. Returns them and the column the overlay's opacity
    slider goes in."""
    ctx.url.bind(
        "layer",
        "fm_rf_layer",
        default=rf_names[min(len(rf_names) - 1, len(rf_names) // 2)],
        valid=rf_names,
        url=ctx.layer_tokens,
    )
    layer = st.selectbox("Layer", rf_names, key="fm_rf_layer", format_func=ctx.labels.get)
    _, h, w = ctx.res.maps.get(layer).shape
    c1, c2, c3 = st.columns(3)
    ctx.url.bind(
        "unit",
        ("fm_rf_row", "fm_rf_col"),
        default=(h // 2, w // 2),
        valid=lambda u: len(u) == 2 and 0 <= u[0] < h and 0 <= u[1] < w,
    )
    row = int(c1.number_input(f"Row (0 to {h - 1})", 0, h - 1, step=1, key="fm_rf_row"))
    col = int(c2.number_input(f"Column (0 to {w - 1})", 0, w - 1, step=1, key="fm_rf_col"))
    ctx.url.keep("fm_rf_erf", True, (True, False))
    show_erf = c3.checkbox("Effective field (one backward pass)", key="fm_rf_erf")
    return layer, row, col, show_erf, c3


def _describe_field(
    ctx: ViewContext, layer: str, f: Field, unit: tuple[int, int], box: tuple[float, ...]
) -> None:
    """What the unit sees, in words: the field's size and place, the units' spacing, and a
    warning when the field runs past the image's border (into zero padding)."""
    row, col = unit
    rows, cols = ctx.mi.view.shape[:2]
    past_border = box[0] < 0 or box[1] < 0 or box[2] > rows - 1 or box[3] > cols - 1
    st.markdown(
        f"Unit ({row}, {col}) of **{ctx.name_of(layer)}** sees **{f.size[0]:g} x {f.size[1]:g}** input pixels "
        f"(rows {box[0]:g} to {box[2]:g}, columns {box[1]:g} to {box[3]:g}); neighbouring units are "
        f"**{f.jump[0]:g}** pixels apart. "
        + (
            "The field runs past the border (dashed): there the unit reads zero padding, so it "
            "sees less of the image than the box suggests."
            if past_border
            else ""
        )
    )


def _effective_field(
    ctx: ViewContext,
    layer: str,
    unit: tuple[int, int],
    box: tuple[float, ...],
    centre: tuple[float, float],
    slider_col: Any,
    col: Any,
) -> None:
    """The effective field (one backward pass): |gradient| of the unit over the input, overlaid
    on the image at an opacity chosen in ``slider_col``, drawn in ``col``."""
    heat = effective_field(ctx.lm, ctx.res, layer, unit[0], unit[1], None)
    with slider_col:
        alpha = st.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="fm_heat_alpha")
    with col:
        st.plotly_chart(
            viz.field_figure(
                ctx.mi.view,
                box,
                centre,
                heat=heat,
                alpha=alpha,
                title="Effective field: |gradient| of the unit",
            ),
            key="fm_erf_fig",
        )
        st.caption(
            "Brightness = how much each input pixel changes this unit (all its channels "
            "summed), square-root scaled. It fills the centre of the theoretical field."
        )


def receptive_field(ctx: ViewContext) -> None:
    """One unit's receptive field on the model's input."""
    lm, mi = ctx.lm, ctx.mi
    summary = field_summary(lm.arch, tuple(sorted(lm.build.items())), tuple(mi.x.shape[1:]))
    rf_names = [n for n in ctx.names if n in summary.fields and not summary.fields[n].is_global]
    if not rf_names:
        st.info("No layer of this model has a local receptive field to draw.")
        return
    layer, row, col, show_erf, slider_col = _choose_unit(ctx, rf_names)
    f = summary.fields[layer]
    box = f.box(row, col)
    centre = (f.start[0] + row * f.jump[0], f.start[1] + col * f.jump[1])
    _describe_field(ctx, layer, f, (row, col), box)
    left, right = st.columns(2)
    left.plotly_chart(
        viz.field_figure(mi.view, box, centre, title="Theoretical receptive field"), key="fm_rf_fig"
    )
    if show_erf:
        _effective_field(ctx, layer, (row, col), box, centre, slider_col, right)
    _pick_and_sum(ctx, layer, f, row, col)


def _pick_and_sum(ctx: ViewContext, layer: str, f: Field, row: int, col: int) -> None:
    """The channel's map to click a unit on; for a first-layer unit, its value as one sum."""
    m = ctx.res.maps.get(layer)
    _, h, w = m.shape
    ch_rf = int(st.session_state.get("fm_channel", 0) or 0)
    ch_rf = ch_rf if 0 <= ch_rf < m.channels else int(ctx.res.order(layer, "mean")[0])
    pick, sums = st.columns(2)
    pick_fig = viz.channel_figure(
        m.values[ch_rf].astype(np.float32), f"{ctx.name_of(layer)}, channel {ch_rf}: click a unit"
    )
    pick.plotly_chart(
        add_click_targets(pick_fig, h, w, (row, col)),
        key="fm_rf_pick",
        on_select=unit_clicked,
        selection_mode="points",
    )
    if not is_first_layer_field(ctx.lm.model, f.size, f.jump):
        return
    unit = first_layer_unit(ctx.lm.model, ctx.mi.x, ch_rf, row, col)
    if unit is not None:
        sums.markdown(
            "**A first-layer unit is one sum**: the filter's weights times the input patch it "
            "sees (the model's normalised input), summed over every input channel, plus the "
            "bias, as on the Convolution basics page."
        )
        sums.code(
            unit.text(("red", "green", "blue") if unit.per_channel.numel() == 3 else None),
            language=None,
        )
