"""The feature space of the "What it looks for" view: the layer before the classifier, for the
test images of the offline dataset that matches the model's input, projected to 2-D beside the
same network at random initialisation, each with its linear-probe accuracy ("automatic feature
extractor + classifier": do the classes separate where the classifier reads them?).

The engine is :mod:`explorer.probe.feature_space`; results are kept in the view's session store
and drawn by :func:`explorer.ui.feature_space_panel.show_spaces` (a click on a point shows its image).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

import streamlit as st

from explorer.probe import feature_space as fs
from explorer.probe.feature_vis import FeatureVisError
from explorer.training.feature_space_job import SpaceResult, spaces, thumbnails
from explorer.ui.feature_space_panel import METHOD_LABELS, show_spaces
from explorer.ui.feature_views.context import ViewContext
from explorer.ui.state import escape_text

N_SPACE_IMAGES = 500


def feature_space_panel(
    ctx: ViewContext, dataset: str | None, store: dict, remember: Callable
) -> None:
    """Two scatters (this model, random init) of the penultimate features, with probe accuracies."""
    if dataset is None:
        st.info(
            "The feature space needs an offline dataset of this model's input size; none matches "
            "(ImageNet-size models: use a compact model)."
        )
        return
    ctx.url.bind("proj", "fm_lf_proj", default="pca", valid=fs.methods())
    method = st.radio(
        "Projection", fs.methods(), key="fm_lf_proj", format_func=METHOD_LABELS.get, horizontal=True
    )
    key = f"space|{ctx.lm.token}|{dataset}|{method}"
    if key not in store and st.button(
        "Compute the feature space", key="fm_lf_space", type="primary"
    ):
        try:
            with st.spinner(f"Features of {N_SPACE_IMAGES} test images of '{dataset}', twice"):
                remember(key, _compute(ctx, dataset, method))
        except FeatureVisError as err:
            st.error(escape_text(str(err)))
            return
    result = store.get(key)
    if result is None:
        st.info(
            f"Press the button to project {N_SPACE_IMAGES} test images of '{dataset}' (this model and "
            "the same network at random initialisation)."
        )
        return
    show_spaces("fm_lf", result, ctx.name_of)


def _compute(ctx: ViewContext, dataset: str, method: str) -> SpaceResult:
    from explorer.probe.dataset_examples import dataset_images

    x, y, classes = dataset_images(dataset, n=N_SPACE_IMAGES)
    models = [("These weights", ctx.lm.model)]
    if ctx.lm.kind != "random":
        # an imported model has no catalog builder to re-draw: no twin
        with suppress(KeyError, TypeError, ValueError):
            models.append(("Random initialisation", fs.random_twin(ctx.lm.arch, ctx.lm.build)))
    kw = {"method": method, "seed": 0, "mean": ctx.lm.prep.mean, "std": ctx.lm.prep.std}
    with ctx.lm.lock:
        return SpaceResult(spaces(models, x, y, classes, **kw), thumbnails(x))
