"""The "What it looks for" view of Feature maps: the input that excites one channel most
(gradient ascent with the regularisation of Olah et al., "Feature Visualization", Distill 2017)
beside its dataset examples (Zeiler & Fergus 2014), a hierarchy grid of a few channels of an
early, a middle and a late convolution, and the feature space (explorer.ui.feature_views.space).

The engine is :mod:`explorer.probe.feature_vis`. One channel or the grid runs on request (a
button) as a background job of this browser with a progress bar, a preview and Stop (``vis_job``);
models the job workers cannot rebuild run a bounded number of steps in the page with a progress
bar. Results are kept for this session under the engine's cache key (model + weights + layer +
channel + settings), so revisiting costs nothing; a complete one of a process-wide model (random,
bundled or ImageNet weights) is kept for every session of the server too
(:mod:`explorer.probe.shared_results`), never one of the user's own model.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import streamlit as st

from explorer.models.catalog import CATALOG
from explorer.probe import feature_vis as fv
from explorer.probe import shared_results
from explorer.probe.dataset_examples import matching_dataset
from explorer.probe.feature_vis_job import HIERARCHY_TARGET, TARGET
from explorer.ui.common import fold_inputs, projector_on
from explorer.ui.feature_views import vis_job
from explorer.ui.feature_views.context import ViewContext, bounded_index
from explorer.ui.feature_views.examples_panel import KEPT, examples_panel
from explorer.ui.feature_views.space import feature_space_panel
from explorer.ui.state import escape_text
from explorer.viz.feature_space import hierarchy_figure, hierarchy_montage
from explorer.viz.montage import enlarge

LOOKS_FOR = "What it looks for"
MODES = {"channel": "One channel", "hierarchy": "Hierarchy grid", "space": "Feature space"}
STEPS = (16, 32, 64, 128, 256)
MAX_SIDE = 128  # ImageNet models are optimised at 128 px (their global pooling allows it)


def _settings(ctx: ViewContext, steps: int) -> tuple[fv.VisSettings, tuple[int, ...]]:
    shape = tuple(int(v) for v in ctx.mi.x.shape[1:])
    side = shape[-1] if shape[-1] <= MAX_SIDE else MAX_SIDE
    prep = ctx.lm.prep
    settings = fv.VisSettings(
        steps=steps, size=side, preview_every=max(1, steps // 4), mean=prep.mean, std=prep.std
    )
    return settings, shape


def _store() -> OrderedDict:
    return st.session_state.setdefault("fm_lf_results", OrderedDict())


def _remember(key: str, value: object, shared: bool = False) -> None:
    """Keep a result in this session; a ``shared`` one (nobody's own) for every session too."""
    store = _store()
    store[key] = value
    while len(store) > KEPT:
        store.popitem(last=False)
    if shared:
        shared_results.SHARED.put(key, value)


def _lookup(ctx: ViewContext, key: str) -> object | None:
    """This session's result under ``key``, else another session's when it is nobody's own."""
    return shared_results.lookup(_store(), key, shared_results.shareable(ctx.lm.kind))


def _run(ctx: ViewContext, events, total: int, label: str) -> list:
    """Drive an optimisation with a progress bar; the final events (one per row or channel set)."""
    bar = st.progress(0.0, text=label)
    finals = []
    done = 0
    with ctx.lm.lock:  # the model is shared: one optimisation at a time switches it to eval mode
        for item in events:
            event = item[1] if isinstance(item, tuple) else item
            done += 1
            bar.progress(
                min(1.0, done / total), text=f"{label}: step {event.step} of {event.steps}"
            )
            if event.done:
                finals.append(item)
    bar.empty()
    return finals


def _spatial_layers(ctx: ViewContext) -> list[str]:
    return [n for n in ctx.names if len(ctx.res.maps.get(n).shape) == 3]


def looks_for(ctx: ViewContext) -> None:
    """One channel's optimised input, or the early/middle/late hierarchy grid."""
    mode = ctx.url.bind("lf", "fm_lf_mode", default="channel", valid=list(MODES))
    steps = None
    if mode != "space":
        steps = ctx.url.bind("lfsteps", "fm_lf_steps", default=64, valid=STEPS)
    # projector mode: the settings fold into one line, so the pictures reach the first screen
    steps_text = f", {steps} optimisation steps" if steps else ""
    fold = fold_inputs(f"{MODES[mode]}{steps_text} (open to change)")
    mode = st.radio("Show", list(MODES), key="fm_lf_mode", format_func=MODES.get, horizontal=True)
    if mode == "space":
        fold.close()
        feature_space_panel(ctx, matching_dataset(tuple(ctx.mi.x.shape[1:])), _store(), _remember)
        return
    if steps is None:  # the radio has just left the feature space
        ctx.url.bind("lfsteps", "fm_lf_steps", default=64, valid=STEPS)
    steps = int(st.select_slider("Optimisation steps", STEPS, key="fm_lf_steps"))
    st.caption(
        "Gradient ascent on the input, with the regularisation of Olah et al., 'Feature "
        "Visualization' (Distill 2017): a Fourier-space image scaled by 1/frequency, ImageNet's "
        "colour decorrelation (colour models) and small random shifts, scalings and rotations "
        "every step. More steps give clearer pictures and take longer."
    )
    fold.close()
    if mode == "hierarchy":
        _hierarchy(ctx, steps)
    else:
        _one_channel(ctx, steps)


def _pick_channel(ctx: ViewContext) -> tuple[str, int] | None:
    """The layer and channel pickers (both in the URL); None when no layer has a spatial output."""
    layers = _spatial_layers(ctx)
    if not layers:
        st.info("No layer of this model has a spatial output to optimise.")
        return None
    ctx.url.bind(
        "layer",
        "fm_lf_layer",
        default=layers[min(len(layers) - 1, len(layers) // 2)],
        valid=layers,
        url=ctx.layer_tokens,
    )
    layer = st.selectbox("Layer", layers, key="fm_lf_layer", format_func=ctx.labels.get)
    n = ctx.res.maps.get(layer).shape[0]
    bounded_index("fm_lf_channel", n - 1)
    ctx.url.bind("channel", "fm_lf_channel", default=0, valid=range(n))
    channel = int(st.number_input(f"Channel (0 to {n - 1})", 0, n - 1, step=1, key="fm_lf_channel"))
    return layer, channel


def _optimise_channel(ctx: ViewContext, layer: str, channel: int, steps: int, key: str) -> bool:
    """Start the optimisation as a job (the page reruns), or run it here; False on a problem
    (its message shown)."""
    settings, shape = _settings(ctx, steps)
    shared = shared_results.shareable(ctx.lm.kind)
    try:
        fv.check_target(ctx.lm.model, layer, [channel], shape)
        if ctx.lm.arch in CATALOG:  # a job rebuilds it from the catalog
            kwargs = {"layer": layer, "channels": [channel], "input_shape": shape}
            title = f"What {ctx.name_of(layer)}, channel {channel} looks for"
            kwargs["settings"] = settings
            problem = vis_job.start(ctx, TARGET, kwargs, key, title, shared=shared)
            if problem:
                st.error(escape_text(problem))
                return False
            st.rerun()
        events = fv.optimise(ctx.lm.model, layer, channel, shape, settings)
        finals = _run(ctx, events, steps, f"{ctx.name_of(layer)}, channel {channel}")
    except fv.FeatureVisError as err:
        st.error(escape_text(str(err)))
        return False
    _remember(key, finals[-1], shared)
    return True


def _one_channel(ctx: ViewContext, steps: int) -> None:
    picked = _pick_channel(ctx)
    if picked is None:
        return
    layer, channel = picked
    key = fv.cache_key(ctx.lm.arch, ctx.lm.token, layer, channel, _settings(ctx, steps)[0])
    if vis_job.live(_remember):
        return
    event = _lookup(ctx, key)
    if event is None and st.button("Optimise this channel", key="fm_lf_go", type="primary"):
        if not _optimise_channel(ctx, layer, channel, steps, key):
            return
        event = _lookup(ctx, key)
    if event is None:
        st.info("Press the button to find the input that excites this channel most.")
        return
    _show_channel(ctx, layer, channel, event, key)


def _show_channel(ctx: ViewContext, layer: str, channel: int, event: fv.VisEvent, key: str) -> None:
    """The optimised picture, a note when it was stopped early, and the dataset examples."""
    img = event.images[0]
    left, right = st.columns([2, 3])
    left.image(
        enlarge(np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img, 256),
        caption=f"{ctx.name_of(layer)}, channel {channel}: mean activation {event.objective:.3g} "
        f"after {event.step} steps",
        width="stretch",
    )
    if event.step < event.steps:
        left.caption(
            f"Stopped after {event.step} of {event.steps} steps: this is the picture as it was then."
        )
        if left.button(f"Run all {event.steps} steps", key="fm_lf_again"):
            _store().pop(key, None)
            st.rerun()
    right.markdown(
        "This picture is not an image from any dataset: it was *made*, pixel by pixel, to "
        "excite this channel as much as possible. Early layers look for edges and colours, "
        "later ones for textures and parts."
    )
    with right:
        examples_panel(ctx, layer, channel, _store())


def _hierarchy(ctx: ViewContext, steps: int) -> None:
    try:
        rows = fv.hierarchy(ctx.lm.model, tuple(int(v) for v in ctx.mi.x.shape[1:]), per_layer=4)
    except fv.FeatureVisError as err:
        st.info(escape_text(str(err)))
        return
    key = fv.cache_key(
        ctx.lm.arch,
        ctx.lm.token,
        "|".join(r.layer for r in rows),
        [c for r in rows for c in r.channels],
        _settings(ctx, steps)[0],
    )
    if vis_job.live(_remember):
        return
    if _lookup(ctx, key) is None and st.button(
        "Draw the hierarchy grid", key="fm_lf_grid", type="primary"
    ):
        _draw_grid(ctx, rows, steps, key)
    images = _lookup(ctx, key)
    if images is None:
        st.info(
            f"Press the button to optimise {sum(len(r.channels) for r in rows)} channels of "
            f"{len(rows)} layers ({steps} steps each)."
        )
        return
    rows = rows[: len(images)]  # a stopped grid has only its finished rows
    titles = fv.hierarchy_titles(ctx.lm.model, rows, ctx.lm.arch)
    cols = [[f"channel {c}" for c in r.channels] for r in rows]
    # projector mode: a compact grid (channel numbers beside the tiles) under the folded settings,
    # without plotly's tool bar, which would cover the top row's last tile on hover
    projector = projector_on()
    fig = hierarchy_figure(images, titles, cols, projector=projector)
    st.plotly_chart(fig, key="fm_lf_grid_fig", config={"displayModeBar": not projector})
    st.download_button(
        "Download the grid (PNG)",
        _png(hierarchy_montage(images)),
        "hierarchy.png",
        mime="image/png",
        key="fm_lf_png",
    )
    st.caption(
        "Rows: an early, a middle and a late convolution of this model; columns: channels "
        "spread over each layer. With trained weights, edges and colours give way to textures "
        "and parts; with random weights there is nothing to find, only noise."
    )


def _draw_grid(ctx: ViewContext, rows: list[fv.HierarchyRow], steps: int, key: str) -> None:
    """Start the grid as a job (the page reruns), or optimise it here and keep the images."""
    settings, shape = _settings(ctx, steps)
    shared = shared_results.shareable(ctx.lm.kind)
    if ctx.lm.arch in CATALOG:  # a job rebuilds it from the catalog
        kwargs = {
            "rows": [(r.depth, r.layer, r.channels) for r in rows],
            "input_shape": shape,
            "settings": settings,
        }
        problem = vis_job.start(
            ctx, HIERARCHY_TARGET, kwargs, key, "Hierarchy grid", shared=shared, rows=len(rows)
        )
        if problem:
            st.error(escape_text(problem))
            return
        st.rerun()
    events = fv.optimise_hierarchy(ctx.lm.model, rows, shape, settings)
    finals = _run(ctx, events, steps * len(rows), "Hierarchy grid")
    _remember(key, [event.images for _, event in finals], shared)


def _png(img: np.ndarray) -> bytes:
    from explorer.viz.montage import png_bytes

    return png_bytes(img)
