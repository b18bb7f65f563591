"""The Compare view of Feature maps: two layers of this model side by side, or one layer of this
model beside a layer of a second model (another catalog entry, other weights, or one of the
user's trained models) on the same image."""

from __future__ import annotations

import streamlit as st

from explorer.models import get_spec
from explorer.probe.names import readable_names
from explorer.ui.common import InputFold, fold_inputs
from explorer.ui.feature_views.context import ViewContext, paper_label
from explorer.ui.image_results import feature_result
from explorer.ui.registry import user_models
from explorer.ui.state import escape_text
from explorer.ui.weight_sources import (
    PREFERRED_BUNDLED,
    WEIGHT_KINDS,
    LoadedModel,
    ModelLoadError,
    bundled_available,
    model_with_weights,
    pretrained_cached,
)
from explorer.viz.result_pngs import result_montage_png

MODES = ["Two layers of this model", "This layer in two models"]
MODE_TOKENS = {
    MODES[0]: "layers",
    MODES[1]: "models",
}  # ?cmp=models: a course step's trained vs random


def compare(ctx: ViewContext) -> None:
    """Two montages side by side, in the sort order and colour scale of Layer detail."""
    now = ctx.url.bind("cmp", "fm_cmp_mode", default=MODES[0], valid=MODES, url=MODE_TOKENS)
    # projector mode: the mode and the second model's pickers in one line, the montages on the first screen
    fold = fold_inputs(f"Compare: {now[0].lower() + now[1:]}  (open to change)")
    mode = st.radio("Compare", MODES, horizontal=True, key="fm_cmp_mode")
    by = st.session_state.get("fm_sort", "mean")
    scale = st.session_state.get("fm_scale", "viridis")
    if mode.startswith("Two layers"):
        fold.close()
        _two_layers(ctx, by, scale)
    else:
        _two_models(ctx, by, scale, fold)


def _two_layers(ctx: ViewContext, by: str, scale: str) -> None:
    names, labels, res = ctx.names, ctx.labels, ctx.res
    left, right = st.columns(2)
    with left:
        ctx.url.bind("left", "fm_cmp_a", default=names[0], valid=names, url=ctx.layer_tokens)
        la = st.selectbox("Left layer", names, key="fm_cmp_a", format_func=labels.get)
        st.image(result_montage_png(res, la, by, scale), width="stretch", caption=labels[la])
    with right:
        ctx.url.bind(
            "right",
            "fm_cmp_b",
            default=names[min(len(names) - 1, 2 * len(names) // 3)],
            valid=names,
            url=ctx.layer_tokens,
        )
        lb = st.selectbox("Right layer", names, key="fm_cmp_b", format_func=labels.get)
        st.image(result_montage_png(res, lb, by, scale), width="stretch", caption=labels[lb])


def _second_model(ctx: ViewContext) -> LoadedModel:
    """The second model: any catalog entry or one of the user's trained models; by default a
    different, trained one (the same model twice compares nothing)."""
    arch, lm = ctx.lm.arch, ctx.lm
    my_models = {f"user:{m.name}": m for m in user_models(kind="cnn")}
    other_archs = list(ctx.catalog_keys) + list(my_models)
    trained_others = [k for k in PREFERRED_BUNDLED if k in bundled_available() and k != arch]
    default_b = next(
        iter(k for k in my_models if my_models[k].arch != arch or lm.kind != "user"), None
    ) or (trained_others[0] if trained_others else next(k for k in ctx.catalog_keys if k != arch))
    # A trained model of this browser cannot travel: the link names its architecture instead.
    ctx.url.bind(
        "model2",
        "fm_cmp_arch",
        default=default_b,
        valid=other_archs,
        fmt=lambda k: my_models[k].arch if k in my_models else k,
    )
    c1, c2 = st.columns(2)
    pick_b = c1.selectbox(
        "Second model",
        other_archs,
        key="fm_cmp_arch",
        format_func=lambda k: (
            f"My model: {my_models[k].name}" if k in my_models else get_spec(k).dated_title
        ),
    )
    if pick_b in my_models:
        arch_b, kind_b, ref_b = my_models[pick_b].arch, "user", my_models[pick_b].name
        c2.caption(f"Weights: your trained {get_spec(arch_b).title}")
        ctx.url.not_in_link(
            f'your trained model "{escape_text(ref_b)}" (the link opens {get_spec(arch_b).title} '
            "with its default weights in its place)"
        )
    else:
        arch_b, ref_b = pick_b, ""
        kinds_b = (
            (["imagenet"] if pretrained_cached(arch_b) else [])
            + (["bundled"] if arch_b in bundled_available() else [])
            + ["random"]
        )
        ctx.url.bind(
            "weights2",
            "fm_cmp_kind",
            default=next((k for k in kinds_b if arch_b != arch or k != lm.kind), kinds_b[0]),
            valid=kinds_b,
        )
        kind_b = c2.radio(
            "Its weights", kinds_b, key="fm_cmp_kind", format_func=WEIGHT_KINDS.get, horizontal=True
        )
    try:
        return model_with_weights(arch_b, kind_b, ref=ref_b)
    except ModelLoadError as err:  # may quote a checkpoint's metadata or a model's name
        st.warning(escape_text(str(err), limit=800))
        return model_with_weights(arch_b, "random")


def _two_models(ctx: ViewContext, by: str, scale: str, fold: InputFold) -> None:
    names, res = ctx.names, ctx.res
    lm_b = _second_model(ctx)
    fold.close()
    with st.spinner("Running the second model..."):
        res_b = feature_result(lm_b, ctx.image)
    names_b = res_b.maps.names()
    named_b = readable_names(lm_b.model, lm_b.arch)  # paper-style names, as for the first model
    labels_b = {m.name: paper_label(m, named_b) for m in res_b.maps.layers}
    left, right = st.columns(2)
    with left:
        st.markdown("**" + escape_text(ctx.lm.label, limit=300) + "**")
        ctx.url.bind(
            "layer", "fm_layer", default=names[len(names) // 3], valid=names, url=ctx.layer_tokens
        )
        la = st.selectbox("Layer", names, key="fm_layer", format_func=ctx.labels.get)
        st.image(result_montage_png(res, la, by, scale), width="stretch")
    with right:
        st.markdown("**" + escape_text(lm_b.label, limit=300) + "**")
        ctx.url.bind(
            "layer2",
            "fm_cmp_layer_b",
            default=la if la in names_b else names_b[len(names_b) // 3],
            valid=names_b,
        )
        lb = st.selectbox("Layer", names_b, key="fm_cmp_layer_b", format_func=labels_b.get)
        st.image(result_montage_png(res_b, lb, by, scale), width="stretch")
    st.caption(
        "Same image, same preprocessing recipe for each model. Trained filters give smooth, "
        "structured maps (edges, textures, parts); random ones give noisy copies of the image."
    )
