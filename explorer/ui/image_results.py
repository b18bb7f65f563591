"""Per-image results of the Feature maps page: which session keeps which result.

The results themselves (FeatureResult, compute_result, effective fields, attribution pricing
with its process-wide seconds per pass) are pure engine code in :mod:`explorer.probe.results`,
their pictures in :mod:`explorer.viz.result_pngs`; both are re-exported here. This module keeps
what is per session and per process: each session keeps its results in ``st.session_state``
(bounded). A result that is not personal (a sample image through a process-wide model: random,
bundled or ImageNet weights) is computed once per process and shared by every session that shows
it (a class opening one lecture link): its maps, orders, strips and montage PNGs are one object,
guarded by one lock. An upload, a camera shot or a user's own model is never shared. Effective
fields and attributions (a user's clicks) stay per session.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.data.decode import DecodedImage
from explorer.models import get_spec
from explorer.probe import summarize
from explorer.probe.results import (  # re-exported (see __all__): their home is the engine
    AUTO_SECONDS,
    AttributionEstimate,
    FeatureResult,
    attribution_estimate,
    attribution_key,
    attribution_map,
    cached_attribution,
    compute_result,
    effective_field,
    is_shared,
)
from explorer.probe.sources import LoadedModel
from explorer.viz.result_pngs import DEFAULT_SCALE, draw_strips

log = logging.getLogger(__name__)

__all__ = [
    "AUTO_SECONDS",
    "DEFAULT_SCALE",
    "AttributionEstimate",
    "FeatureResult",
    "attribution_estimate",
    "attribution_key",
    "attribution_map",
    "cached_attribution",
    "compute_result",
    "effective_field",
    "feature_result",
    "field_summary",
    "is_shared",
]

# Results per session: the image shown, the Compare view's second model on it, and one to go back to.
RESULTS_PER_SESSION = 3
# Shared results process-wide (sample images through shared models): a lecture's link or two
# and their Compare partners. A ResNet-18 result with its full maps is ~20 MB, a VGG-16 ~60 MB.
SHARED_RESULTS = 6
# Layer summaries (receptive-field arithmetic) process-wide: one per model build and input size.
FIELD_SUMMARIES = 16

_RESULTS_KEY = "_fm_results"


@st.cache_resource(max_entries=SHARED_RESULTS, show_spinner=False)
def _shared_result(
    token: str, digest: str, _lm: LoadedModel, _image: DecodedImage
) -> FeatureResult:
    """The one result per process for (model + weights, sample image), strips drawn; concurrent
    first asks wait for one computation (Streamlit's per-key lock)."""
    return draw_strips(compute_result(_lm, _image))


def feature_result(lm: LoadedModel, image: DecodedImage) -> FeatureResult:
    """The result for (model + weights, image), computed at most once per session while kept;
    for a sample image through a shared model, at most once per process (see the module doc)."""
    store = st.session_state.setdefault(
        _RESULTS_KEY, BoundedStore(RESULTS_PER_SESSION, "feature results")
    )

    def make() -> FeatureResult:
        if is_shared(lm, image):
            return _shared_result(lm.token, image.digest, lm, image).for_session()
        return draw_strips(compute_result(lm, image))

    return store.get_or_make((lm.token, image.digest), make)


@st.cache_resource(max_entries=FIELD_SUMMARIES, show_spinner=False)
def field_summary(
    arch: str, build_items: tuple[tuple[str, Any], ...], input_shape: tuple[int, ...]
) -> Any:
    """The layer summary (receptive-field arithmetic) of a model build, on the meta device."""
    spec = get_spec(arch)
    build = dict(build_items)
    try:
        return summarize(lambda: spec.build(**build), input_shape)
    except Exception:
        log.info("Summary of %s on real weights (the meta device failed)", arch, exc_info=True)
        return summarize(spec.build(**build), input_shape)
