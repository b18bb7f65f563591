"""The feature space of the "What it looks for" view: the layer before the classifier, for the
test images of the offline dataset that matches the model's input, projected to 2-D beside the
same network at random initialisation, each with its linear-probe accuracy ("automatic feature
extractor + classifier": do the classes separate where the classifier reads them?).

The engine is :mod:`explorer.probe.feature_space`; results are kept in the view's session store.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from explorer.probe import feature_space as fs
from explorer.probe.feature_vis import FeatureVisError
from explorer.ui.feature_views.context import ViewContext
from explorer.ui.state import escape_text
from explorer.viz.feature_space import feature_scatter

N_SPACE_IMAGES = 500
_METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def methods() -> list[str]:
    """The projections offered here: PCA, t-SNE, and UMAP where umap-learn is installed."""
    return ["pca", "tsne"] + (["umap"] if fs.umap_available() else [])


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
    options = methods()
    ctx.url.bind("proj", "fm_lf_proj", default="pca", valid=options)
    method = st.radio(
        "Projection", options, key="fm_lf_proj", format_func=_METHOD_LABELS.get, horizontal=True
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
    spaces = result
    cols = st.columns(len(spaces))
    for col, (title, space) in zip(cols, spaces, strict=True):
        col.plotly_chart(
            feature_scatter(
                space.points,
                space.labels,
                space.classes,
                method=space.method,
                title=f"{title}: probe {space.probe_accuracy:.0%}",
                height=420,
            ),
            key=f"fm_lf_space_{title[:6]}",
        )
    st.caption(
        f"Each point is one test image, placed by the features of {ctx.name_of(spaces[0][1].layer)} (the "
        "classifier's input), coloured by its class. The linear probe is a logistic regression "
        "trained on 70% of these features and scored on the other 30%: how separable the classes "
        "are for a linear classifier."
    )


def _compute(ctx: ViewContext, dataset: str, method: str) -> list[tuple[str, fs.FeatureSpace]]:
    from explorer.probe.dataset_examples import dataset_images

    x, y, classes = dataset_images(dataset, n=N_SPACE_IMAGES)
    kw = {"method": method, "seed": 0, "mean": ctx.lm.prep.mean, "std": ctx.lm.prep.std}
    with ctx.lm.lock:
        mine = fs.feature_space(ctx.lm.model, x, y, classes, **kw)
    out = [("These weights", mine)]
    if ctx.lm.kind != "random":
        try:
            twin = fs.random_twin(ctx.lm.arch, ctx.lm.build, seed=0)
        except (
            KeyError,
            TypeError,
            ValueError,
        ):  # an imported model: no catalog builder to re-draw
            return out
        out.append(
            ("Random initialisation", fs.feature_space(twin, x, y, classes, layer=mine.layer, **kw))
        )
    return out
