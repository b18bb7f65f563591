"""The views of the Feature maps page as data: one function per view, registered in
``FEATURE_VIEWS`` (name -> label, draw function, the URL parameters it binds). The page draws
the radio and the chosen view from this mapping, and the tests iterate over it; adding a view
touches this table plus its own function and test.

Each draw function takes a :class:`ViewContext` (the model, its result on the image, the
page's URL state) and draws with Streamlit; the computing is in ``explorer`` and the caches in
``explorer.ui.image_results``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from explorer.ui.feature_views.compare import compare
from explorer.ui.feature_views.context import (
    LAYER_DETAIL,
    RECEPTIVE_FIELD,
    ViewContext,
    paper_label,
)
from explorer.ui.feature_views.fields import receptive_field
from explorer.ui.feature_views.filters import filters
from explorer.ui.feature_views.layers import layer_detail, overview
from explorer.ui.feature_views.looks_for import LOOKS_FOR, looks_for
from explorer.ui.feature_views.outputs import attribution, predictions


@dataclass(frozen=True)
class FeatureView:
    """One view: what the user sees on its tab, how to draw it, and its address."""

    label: str  # the option in the page's view picker (and the value in session state)
    draw: Callable[[ViewContext], None]
    url_params: tuple[str, ...] = ()  # URL parameters the view always binds, beside the page's own
    sometimes: tuple[
        str, ...
    ] = ()  # ... and those it binds in some states (a mode, a kind of layer)


# name (the URL's ?view= token) -> view, in the order of the picker.
FEATURE_VIEWS: dict[str, FeatureView] = {
    "overview": FeatureView("Overview", overview),
    "layer": FeatureView(LAYER_DETAIL, layer_detail, ("layer", "sort", "scale", "channel")),
    # Compare: two layers of this model, or "this layer in two models" (a second model and its weights)
    "compare": FeatureView(
        "Compare", compare, ("cmp",), ("left", "right", "layer", "model2", "weights2", "layer2")
    ),
    "filters": FeatureView(
        "Filters", filters, ("conv",), ("in",)
    ),  # an input channel for k x k kernels
    "rf": FeatureView(RECEPTIVE_FIELD, receptive_field, ("layer", "unit")),
    "predictions": FeatureView("Predictions", predictions),
    # Attribution: steps and arithmetic for multi-pass methods (an opacity is remembered, not linked)
    "attribution": FeatureView(
        "Attribution", attribution, ("method", "target"), ("steps", "precision")
    ),
    # What it looks for: one channel's optimised input (layer, channel), the hierarchy grid, the feature space (proj)
    "looks": FeatureView(LOOKS_FOR, looks_for, ("lf",), ("lfsteps", "layer", "channel", "proj")),
}
DEFAULT_VIEW = "overview"


def view_labels() -> list[str]:
    """The picker's options, in order."""
    return [v.label for v in FEATURE_VIEWS.values()]


def url_tokens() -> dict[str, str]:
    """Label -> the short name written to the URL."""
    return {v.label: name for name, v in FEATURE_VIEWS.items()}


def view_for(label: str) -> FeatureView:
    """The view whose picker option is ``label``."""
    return next(v for v in FEATURE_VIEWS.values() if v.label == label)


__all__ = [
    "DEFAULT_VIEW",
    "FEATURE_VIEWS",
    "FeatureView",
    "ViewContext",
    "paper_label",
    "url_tokens",
    "view_for",
    "view_labels",
]
