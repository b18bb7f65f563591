"""Feature maps: what every layer of a CNN sees in an image, its filters, and receptive fields.

The model runs once per (model, weights, image); every widget below only slices the cached
result (explorer.ui.image_results; the models come from explorer.ui.weight_sources). The page
reads as a table of contents: its sections live in explorer/ui/feature_maps_sections.py.
"""

from __future__ import annotations

import streamlit as st

from explorer.data.samples import list_samples
from explorer.models import catalog
from explorer.ui import feature_maps_sections as sections
from explorer.ui import weight_sources as ws
from explorer.ui.common import projector_on
from explorer.ui.feature_views import (
    DEFAULT_VIEW,
    FEATURE_VIEWS,
    ViewContext,
    paper_label,
    url_tokens,
    view_for,
    view_labels,
)
from explorer.ui.own_model import own_keys, own_model_section
from explorer.ui.state import PageState, escape_text

url = PageState("feature-maps")
projector = projector_on()
sections.page_header(url, projector)

# --------------------------------------------------------------------------- 1. image and model

specs = catalog(kind="cnn")
keys = [s.key for s in specs] + own_keys()  # and this browser's imported models
samples = list_samples()
sample_names = [s.name for s in samples]
bound = sections.bind_inputs(url, keys, sample_names)

with sections.inputs_box(projector, bound):
    col_image, col_model = st.columns(2, gap="large")
with col_image:
    image = sections.image_section(sample_names)
with col_model:
    own_model_section("fm", heading="2. Model and weights")  # the heading, then "Your own model"
    lm, kind, spec = sections.model_section(keys, bound)
if (
    projector and lm.kind != kind
):  # the fallback must be visible with the inputs folded: one line, in sight
    asked = ws.WEIGHT_KINDS.get(kind, kind).split(" (")[0]
    st.warning(
        f"{asked} are not available here: " + escape_text(lm.label, limit=300) + " in use instead."
    )

# --------------------------------------------------------------------------- 3. preprocessing

res = sections.preprocessing_section(
    lm, image, spec
)  # ends the page if the model cannot take the image

# --------------------------------------------------------------------------- 4. views

names = res.maps.names()
if not names:
    st.warning("This model has no feature-map layers to show.")
    st.stop()
layer_tokens = sections.layer_tokens_of(lm, names)
labels = {
    m.name: paper_label(m, layer_tokens) for m in res.maps.layers
}  # "relu_C3 (ReLU) - 16 x 10 x 10"


url.bind(
    "view",
    "fm_view",
    default=FEATURE_VIEWS[DEFAULT_VIEW].label,
    valid=view_labels(),
    url=url_tokens(),
)
view = st.radio("View", view_labels(), horizontal=True, key="fm_view", label_visibility="collapsed")
view_for(view).draw(
    ViewContext(
        url=url,
        lm=lm,
        res=res,
        spec=spec,
        image=image,
        names=names,
        labels=labels,
        layer_tokens=layer_tokens,
        catalog_keys=keys,
    )
)
url.done()
