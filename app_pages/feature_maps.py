"""Feature maps: what every layer of a CNN sees in an image, its filters, and receptive fields.

The model runs once per (model, weights, image); every widget below only slices the cached
result (explorer.ui.image_results; the models come from explorer.ui.weight_sources).
"""

from __future__ import annotations

import streamlit as st

from explorer.data.samples import DEFAULT_SAMPLE, get_sample, list_samples, load_sample
from explorer.models import catalog, get_spec
from explorer.models.download import format_progress
from explorer.models.weights import WeightsError, download_pretrained
from explorer.ui import feature_maps_sections as sections
from explorer.ui import image_results as ir
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

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]

url = PageState("feature-maps")
projector = projector_on()
sections.page_header(url, projector)

# --------------------------------------------------------------------------- 1. image and model

specs = catalog(kind="cnn")
keys = [s.key for s in specs] + own_keys()  # and this browser's imported models
samples = list_samples()
sample_names = [s.name for s in samples]
bound = sections.bind_inputs(url, keys, sample_names)
mine, kinds = bound.mine, bound.kinds

with sections.inputs_box(projector, bound):
    col_image, col_model = st.columns(2, gap="large")
with col_image:
    st.subheader("1. Image")
    source = st.radio("Image from", sections.SOURCES, horizontal=True, key="fm_source")
    image, image_error = None, None
    kept = st.session_state.get("_fm_kept_upload")
    if source == "Upload":
        up = st.file_uploader("Image file: PNG, JPEG, WebP, BMP or GIF", type=UPLOAD_TYPES, key="fm_upload")
        if up is not None:
            image, image_error = sections.decoded_upload(up.getvalue(), f"up:{up.file_id}:{up.size}", up.name)
        elif kept is not None:
            image = kept[0]
            st.caption("Your last upload is kept until you upload another image.")
            st.text(f"Your upload: {kept[1]}")
    elif source == "Camera":
        shot = st.camera_input("Take a picture", key="fm_camera")
        if shot is not None:
            image, image_error = sections.decoded_upload(shot.getvalue(), f"cam:{shot.file_id}:{shot.size}", "camera")
    if source == "Sample":
        name = st.selectbox("Sample image", sample_names, key="fm_sample", format_func=lambda n: get_sample(n).title)
        image = load_sample(name)
        st.caption(f"{get_sample(name).description} {get_sample(name).credit}.")
    if image_error:
        st.error(image_error)
    if image is None:
        fallback = DEFAULT_SAMPLE if DEFAULT_SAMPLE in sample_names else sample_names[0]
        image = load_sample(fallback)
        st.info(f"Showing the sample '{get_sample(fallback).title}' until an image is "
                f"{'taken' if source == 'Camera' else 'uploaded'}.")
    st.image(image.display, width=min(360, max(64, image.size[0])))
    st.caption(f"{image.format} image, {image.size[0]} x {image.size[1]} pixels (width x height)")
    for note in image.notes:
        st.caption(f"Decoding: {note}.")

with col_model:
    own_model_section("fm", heading="2. Model and weights")  # the heading, then "Your own model"
    arch = st.selectbox("Architecture", keys, key="fm_arch", on_change=sections.arch_changed,
                        format_func=lambda k: get_spec(k).dated_title)
    spec = get_spec(arch)
    kind = st.radio("Weights", kinds, key="fm_kind", format_func=ws.WEIGHT_KINDS.get)
    ref, data, download, download_error = "", None, False, ""
    if kind == "user":
        ref = st.selectbox("My model", [m.name for m in mine], key="fm_user_model")
    elif kind == "upload":
        ck = st.file_uploader(f"Checkpoint for {spec.title} (.safetensors)", type=["safetensors"],
                              key="fm_ckpt")
        data = ck.getvalue() if ck is not None else None
    elif kind == "imagenet" and not ws.pretrained_cached(arch):
        st.caption("The ImageNet weights are not on this machine yet.")
        if st.button("Download the ImageNet weights (needs a network)", key="fm_download"):
            bar = st.progress(0.0, text="Connecting...")
            try:  # streamed, hash-checked; the cache gets the file only when it is whole and right
                download_pretrained(spec, progress=lambda done, total: bar.progress(
                    min(1.0, done / total) if total else 0.0, text=f"Downloading {format_progress(done, total)}"))
                download = True
            except WeightsError as err:
                download_error = str(err)
            bar.empty()
    try:
        if download_error:
            raise ws.ModelLoadError(download_error)
        if kind == "upload" and data is None:
            raise ws.ModelLoadError("Upload a .safetensors checkpoint for this architecture.")
        if kind == "imagenet" and not download and not ws.pretrained_cached(arch):
            raise ws.ModelLoadError(
                f"The ImageNet weights of {spec.title} are not in the local cache, and nothing is "
                "downloaded without your click. Click the button above when a network is available.")
        lm = ws.load_model(arch, kind, ref=ref, data=data, download=download)
    except ws.ModelLoadError as err:  # may quote a file's metadata: shown as text, never Markdown
        st.warning(escape_text(str(err), limit=800))
        lm = ws.load_model(arch, "random")
    st.success("Weights in use: " + escape_text(lm.label, limit=300))
    st.caption(f"{spec.idea} " + escape_text(lm.detail, limit=300))
if projector and lm.kind != kind:  # the fallback must be visible with the inputs folded: one line, in sight
    asked = ws.WEIGHT_KINDS.get(kind, kind).split(" (")[0]
    st.warning(f"{asked} are not available here: " + escape_text(lm.label, limit=300) + " in use instead.")

# --------------------------------------------------------------------------- 3. preprocessing

res = None
with st.spinner("Running the model once and keeping every layer's maps..."):
    try:
        res = ir.feature_result(lm, image)
    except RuntimeError as err:  # e.g. an input too small for a deep model
        st.error(f"{spec.title} could not process this input: {str(err).splitlines()[0]}")
if res is None:
    st.stop()
mi = res.model_input

with st.expander(f"3. Preprocessing: {image.size[1]} x {image.size[0]} x 3 (H x W x C) -> "
                 f"{' x '.join(map(str, mi.x.shape))} (N x C x H x W)", expanded=False):
    left, right = st.columns([2, 1])
    left.markdown("\n".join(f"{i + 1}. {step}" for i, step in enumerate(mi.steps)))
    right.image(mi.view, caption=f"What the model sees ({mi.view.shape[0]} x {mi.view.shape[1]})",
                width=min(224, mi.view.shape[1] * max(1, 224 // mi.view.shape[1])))
if mi.grey_model and not image.was_grey:
    st.caption("This model takes grey images: the colour image was converted to 1 channel.")
elif image.was_grey and not mi.grey_model:
    st.caption("The image is grey: its channel was repeated 3 times for this colour model.")

# --------------------------------------------------------------------------- 4. views

names = res.maps.names()
if not names:
    st.warning("This model has no feature-map layers to show.")
    st.stop()
layer_tokens = sections.layer_tokens_of(lm, names)
labels = {m.name: paper_label(m, layer_tokens) for m in res.maps.layers}  # "relu_C3 (ReLU) - 16 x 10 x 10"


url.bind("view", "fm_view", default=FEATURE_VIEWS[DEFAULT_VIEW].label, valid=view_labels(), url=url_tokens())
view = st.radio("View", view_labels(), horizontal=True, key="fm_view", label_visibility="collapsed")
view_for(view).draw(ViewContext(url=url, lm=lm, res=res, spec=spec, image=image, names=names, labels=labels,
                                layer_tokens=layer_tokens, catalog_keys=keys))
url.done()
