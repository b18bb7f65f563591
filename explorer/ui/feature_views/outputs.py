"""The output views of Feature maps: the model's top predictions, and attribution maps (which
input pixels a prediction rests on, by captum's methods), priced before a long run starts."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import streamlit as st

from explorer.probe.attribution import (
    DEFAULT_STEPS,
    MAX_STEPS,
    METHODS,
    MIN_STEPS,
    AttributionError,
    bfloat16_is_fast,
)
from explorer.probe.erf import top_k
from explorer.ui.feature_views.context import ViewContext
from explorer.ui.image_results import (
    AUTO_SECONDS,
    attribution_estimate,
    attribution_map,
    cached_attribution,
)
from explorer.ui.state import escape_text
from explorer.viz import maps as viz

DEVICE_NAMES = {"cpu": "CPU", "cuda": "GPU", "mps": "Apple GPU"}


def predictions(ctx: ViewContext) -> None:
    """The five most probable classes, with a warning where they mean nothing."""
    lm = ctx.lm
    preds = top_k(ctx.res.maps.output, lm.classes, k=5, task=lm.task)
    if not lm.head_meaningful:
        st.info(
            "These weights are random: the output layer has learned nothing, so these 'predictions' "
            "are meaningless. Choose trained weights to see real ones."
        )
    fig = viz.predictions_figure(
        [p.label for p in preds],
        [p.probability for p in preds],
        title=f"Top {len(preds)}: {lm.label}",
    )
    st.plotly_chart(fig, key="fm_pred_fig")
    if lm.classes is None:
        st.caption("This model has no class names: outputs are numbered.")
    elif lm.head_meaningful and lm.kind in ("bundled", "user", "upload") and len(lm.classes) < 1000:
        st.caption(
            f"This model knows only these classes: {', '.join(escape_text(c) for c in lm.classes)}. "
            "On an image of something else it still picks the class the image resembles most."
        )


def _method_and_class(ctx: ViewContext, preds: list) -> tuple[str, int]:
    """The attribution method and which of the top classes to explain (its rank), side by side,
    each bound to the link."""
    a1, a2 = st.columns(2)
    ctx.url.bind("method", "fm_attr_method", default=next(iter(METHODS)), valid=list(METHODS))
    method = a1.radio(
        "Method", list(METHODS), format_func=lambda k: METHODS[k].title, key="fm_attr_method"
    )
    ctx.url.bind("target", "fm_attr_target", default=0, valid=range(len(preds)))
    pick = a2.selectbox(
        "Explain the class",
        range(len(preds)),
        key="fm_attr_target",
        format_func=lambda i: f"{preds[i].label} ({preds[i].probability:.1%})",
    )
    return method, pick


def _path_steps(ctx: ViewContext, multi: bool) -> int:
    """Steps along the path for a multi-pass method (a slider bound to the link), else the
    default, unused."""
    if not multi:
        return DEFAULT_STEPS
    ctx.url.bind(
        "steps", "fm_attr_steps", default=DEFAULT_STEPS, valid=range(MIN_STEPS, MAX_STEPS + 1)
    )
    return st.slider(
        "Steps along the path (more steps: closer to the exact integral, and slower)",
        MIN_STEPS,
        MAX_STEPS,
        key="fm_attr_steps",
    )


def _attribution_figure(ctx: ViewContext, heat: np.ndarray, title: str) -> None:
    """The input beside its attribution map, with the overlay's opacity slider."""
    # Cosmetic: not in links.
    ctx.url.keep("fm_heat_alpha", 0.6, lambda v: isinstance(v, float) and 0.0 <= v <= 1.0)
    alpha = st.slider("Overlay opacity", 0.0, 1.0, step=0.05, key="fm_heat_alpha")
    # one figure, two panels: the same size and the same square-pixel enlargement
    st.plotly_chart(
        viz.field_pair(ctx.mi.view, heat, ("What the model sees", title), alpha=alpha),
        key="fm_attr_fig",
    )
    st.caption(
        "Colours: each pixel's attribution magnitude divided by the largest one, square-root "
        "scaled (the colour bar), blended over the input with the opacity above."
    )


def attribution(ctx: ViewContext) -> None:
    """One attribution map for a chosen method and class, over the model's input."""
    lm = ctx.lm
    if not lm.head_meaningful:
        st.info(
            "These weights are random: no class has evidence to point at, so the maps below show "
            "only the network's wiring. Choose trained weights to see what a prediction rests on."
        )
    preds = top_k(ctx.res.maps.output, lm.classes, k=5, task=lm.task)
    method, pick = _method_and_class(ctx, preds)
    st.caption(METHODS[method].explanation)
    if lm.task == "binary":
        st.caption(
            "A binary model has one output: the map explains the evidence for the positive class."
        )
    target = 0 if lm.task == "binary" else preds[pick].index
    multi = METHODS[method].multi_pass
    steps = _path_steps(ctx, multi)
    precision = _precision(ctx) if multi else "float32"
    heat = cached_attribution(ctx.res, method, target, steps, precision)
    if heat is None and _may_run(ctx, method, target, steps, precision):
        heat = _run(ctx, method, target, steps, precision)
    if heat is not None:
        _attribution_figure(ctx, heat, f"{METHODS[method].title}: {preds[pick].label}")


def _precision(ctx: ViewContext) -> str:
    """float32, or bfloat16 where this device computes it fast (CPUs with bf16 instructions,
    recent GPUs): about twice as fast, the map the same to 2 or 3 digits."""
    device = next(ctx.lm.model.parameters()).device
    if not bfloat16_is_fast(device):
        return "float32"
    ctx.url.bind(
        "precision",
        "fm_attr_precision",
        default="float32",
        valid=["float32", "bfloat16"],
        url={"float32": "fp32", "bfloat16": "bf16"},
    )
    return st.radio(
        "Arithmetic",
        ["float32", "bfloat16"],
        horizontal=True,
        key="fm_attr_precision",
        format_func={
            "float32": "float32 (exact)",
            "bfloat16": "bfloat16 (about 2x faster, 2-3 digits)",
        }.get,
        help="bfloat16 keeps 8 bits of mantissa: the map looks the same, its values agree to about 1%.",
    )


def _may_run(
    ctx: ViewContext, method: str, target: int, steps: int, precision: str = "float32"
) -> bool:
    """A one-pass method runs at once; a multi-pass one too when its price is a few seconds,
    else the price and a Compute button are shown (True on the click)."""
    if not METHODS[method].multi_pass:
        return True
    lm = ctx.lm
    try:
        with st.spinner("Timing one forward and backward pass to price the run..."):
            estimate = attribution_estimate(lm, ctx.res, method, steps, target, precision)
    except RuntimeError as err:  # e.g. out of memory on a small GPU
        st.error(f"{ctx.spec.title} could not run a backward pass here: {str(err).splitlines()[0]}")
        st.stop()
    device_name = DEVICE_NAMES.get(next(lm.model.parameters()).device.type, "device")
    price = estimate.text(device_name)
    if estimate.seconds <= AUTO_SECONDS:
        return True
    ask = st.empty()  # the price and the button go away once the run starts
    with ask.container():
        if st.session_state.get("fm_attr_stop"):
            st.caption("Stopped before it finished; nothing was kept. Fewer steps cost less.")
        st.markdown(f"{METHODS[method].title} for this image: {price}.")
        run_now = st.button(f"Compute ({price.split(':')[0]})", key="fm_attr_go", type="primary")
    if run_now:
        ask.empty()
    return run_now


def _progress_bar(title: str, unit: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress bar that says how much is left; (update(done, total), remove())."""
    bar = st.progress(0.0, text=f"{title}: starting...")
    started = time.perf_counter()

    def update(done: int, total: int) -> None:
        left_s = (time.perf_counter() - started) / done * (total - done) if done else None
        tail = f", about {left_s:.0f} s left" if left_s is not None and done < total else ""
        bar.progress(done / max(1, total), text=f"{title}: {done} of {total} {unit}{tail}")

    return update, bar.empty


def _run(
    ctx: ViewContext, method: str, target: int, steps: int, precision: str = "float32"
) -> np.ndarray | None:
    """Compute the attribution with a progress bar (and a Stop button for multi-pass methods)."""
    multi = METHODS[method].multi_pass
    stop_slot = st.empty()
    if multi:  # a click reruns the page; the running pass ends at its next batch
        stop_slot.button("Stop", key="fm_attr_stop")
    update, remove = _progress_bar(METHODS[method].title, "steps" if multi else "pass")
    try:
        return attribution_map(
            ctx.lm, ctx.res, method, target, steps, progress=update, precision=precision
        )
    except AttributionError as err:
        st.error(escape_text(str(err), limit=800))
        return None
    finally:
        remove()
        stop_slot.empty()
