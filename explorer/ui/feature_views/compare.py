"""The Compare view of Feature maps: two layers of this model side by side, or one layer of this
model beside a layer of a second model (another catalog entry, other weights, or one of the
user's trained models) on the same image."""

from __future__ import annotations

import streamlit as st

from explorer.models import get_spec
from explorer.ui.feature_views.context import ViewContext
from explorer.ui.image_results import feature_result
from explorer.ui.registry import user_models
from explorer.ui.weight_sources import (
    PREFERRED_BUNDLED,
    WEIGHT_KINDS,
    LoadedModel,
    ModelLoadError,
    bundled_available,
    load_model,
    pretrained_cached,
)


def compare(ctx: ViewContext) -> None:
    """Two montages side by side, in the sort order and colour scale of Layer detail."""
    mode = st.radio("Compare", ["Two layers of this model", "This layer in two models"], horizontal=True,
                    key="fm_cmp_mode")
    by = st.session_state.get("fm_sort", "mean")
    scale = st.session_state.get("fm_scale", "viridis")
    if mode.startswith("Two layers"):
        _two_layers(ctx, by, scale)
    else:
        _two_models(ctx, by, scale)


def _two_layers(ctx: ViewContext, by: str, scale: str) -> None:
    names, labels, res = ctx.names, ctx.labels, ctx.res
    if st.session_state.get("fm_cmp_b") not in names:
        st.session_state["fm_cmp_b"] = names[min(len(names) - 1, 2 * len(names) // 3)]
    if st.session_state.get("fm_cmp_a") not in names:
        st.session_state["fm_cmp_a"] = names[0]
    left, right = st.columns(2)
    with left:
        la = st.selectbox("Left layer", names, key="fm_cmp_a", format_func=labels.get)
        st.image(res.montage_png(la, by, scale), width="stretch", caption=labels[la])
    with right:
        lb = st.selectbox("Right layer", names, key="fm_cmp_b", format_func=labels.get)
        st.image(res.montage_png(lb, by, scale), width="stretch", caption=labels[lb])


def _second_model(ctx: ViewContext) -> LoadedModel:
    """The second model: any catalog entry or one of the user's trained models; by default a
    different, trained one (the same model twice compares nothing)."""
    arch, lm = ctx.lm.arch, ctx.lm
    my_models = {f"user:{m.name}": m for m in user_models(kind="cnn")}
    other_archs = list(ctx.catalog_keys) + list(my_models)
    trained_others = [k for k in PREFERRED_BUNDLED if k in bundled_available() and k != arch]
    default_b = next(iter(k for k in my_models if my_models[k].arch != arch or lm.kind != "user"), None) \
        or (trained_others[0] if trained_others else next(k for k in ctx.catalog_keys if k != arch))
    if st.session_state.get("fm_cmp_arch") not in other_archs:
        st.session_state["fm_cmp_arch"] = default_b
    c1, c2 = st.columns(2)
    pick_b = c1.selectbox("Second model", other_archs, key="fm_cmp_arch",
                          format_func=lambda k: f"My model: {my_models[k].name}" if k in my_models
                          else get_spec(k).dated_title)
    if pick_b in my_models:
        arch_b, kind_b, ref_b = my_models[pick_b].arch, "user", my_models[pick_b].name
        c2.caption(f"Weights: your trained {get_spec(arch_b).title}")
    else:
        arch_b, ref_b = pick_b, ""
        kinds_b = (["imagenet"] if pretrained_cached(arch_b) else []) + \
            (["bundled"] if arch_b in bundled_available() else []) + ["random"]
        if st.session_state.get("fm_cmp_kind") not in kinds_b:
            st.session_state["fm_cmp_kind"] = next(
                (k for k in kinds_b if arch_b != arch or k != lm.kind), kinds_b[0])
        kind_b = c2.radio("Its weights", kinds_b, key="fm_cmp_kind", format_func=WEIGHT_KINDS.get,
                          horizontal=True)
    try:
        return load_model(arch_b, kind_b, ref=ref_b)
    except ModelLoadError as err:
        st.warning(str(err))
        return load_model(arch_b, "random")


def _two_models(ctx: ViewContext, by: str, scale: str) -> None:
    names, res = ctx.names, ctx.res
    lm_b = _second_model(ctx)
    with st.spinner("Running the second model..."):
        res_b = feature_result(lm_b, ctx.image)
    names_b = res_b.maps.names()
    labels_b = {m.name: m.label for m in res_b.maps.layers}
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{ctx.lm.label}**")
        ctx.url.bind("layer", "fm_layer", default=names[len(names) // 3], valid=names, url=ctx.layer_tokens)
        la = st.selectbox("Layer", names, key="fm_layer", format_func=ctx.labels.get)
        st.image(res.montage_png(la, by, scale), width="stretch")
    with right:
        st.markdown(f"**{lm_b.label}**")
        if st.session_state.get("fm_cmp_layer_b") not in names_b:
            st.session_state["fm_cmp_layer_b"] = la if la in names_b else names_b[len(names_b) // 3]
        lb = st.selectbox("Layer", names_b, key="fm_cmp_layer_b", format_func=labels_b.get)
        st.image(res_b.montage_png(lb, by, scale), width="stretch")
    st.caption("Same image, same preprocessing recipe for each model. Trained filters give smooth, "
               "structured maps (edges, textures, parts); random ones give noisy copies of the image.")
