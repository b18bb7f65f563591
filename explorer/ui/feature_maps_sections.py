"""The Feature maps page's sections and the helpers they share: the page
(app_pages/feature_maps.py) calls them in order, so it reads as a table of contents."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.data.decode import DecodedImage, ImageInputError, decode_image
from explorer.data.samples import DEFAULT_SAMPLE, get_sample, load_sample
from explorer.models import get_spec
from explorer.models.catalog_types import ArchSpec
from explorer.models.download import format_progress
from explorer.models.weights import WeightsError, download_pretrained
from explorer.probe.names import layer_names
from explorer.probe.results import FeatureResult
from explorer.probe.sources import (
    best_kind,
    bundled_dataset,
    default_arch,
    suited_sample,
    weights_label,
)
from explorer.ui import image_results as ir
from explorer.ui import weight_sources as ws
from explorer.ui.registry import user_models
from explorer.ui.state import PageState, escape_text

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
SOURCES = ["Sample", "Upload", "Camera"]
UPLOADS_DECODED = 1  # one decoded upload (or camera shot) per session: the one on screen
LAYER_NAMINGS = 1  # paper-style layer names of the model on screen only (cheap to redo)
log = logging.getLogger(__name__)


def page_header(url: PageState, projector: bool) -> None:
    """Title, the copy-link button beside it, and the page's one-line introduction."""
    title_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
    title_col.title("Feature maps")
    with link_col:
        url.copy_link()
    if not projector:
        st.caption(
            "Upload an image (or take a sample) and see what every layer of a CNN makes of it: "
            "the channels it lights up, its filters, and which pixels each unit can see."
        )


# --------------------------------------------------------------------------- defaults


def best_kind_of(arch: str) -> str:
    """The best weights for ``arch`` here (a model of this browser's counts)."""
    return best_kind(arch, any(m.arch == arch for m in user_models(kind="cnn")))


_bundled_dataset = st.cache_data(max_entries=32, show_spinner=False)(bundled_dataset)


def _suited_sample(arch: str, kind: str) -> str | None:
    dataset = _bundled_dataset(arch) if kind == "bundled" else None
    return suited_sample(arch, kind, dataset, st.session_state.get("fm_sample"))


def arch_changed() -> None:
    """A new model: its best weights, and a sample it was made for (a link's choice stays)."""
    arch = st.session_state["fm_arch"]
    kind = best_kind_of(arch)
    st.session_state["fm_kind"] = kind
    sample = _suited_sample(arch, kind)
    if sample and st.session_state.get("fm_source", "Sample") == "Sample":
        st.session_state["fm_sample"] = sample


def decoded_upload(data: bytes, file_id: str, name: str) -> tuple[object, str | None]:
    """Decode an upload once per file (kept in the session until replaced, also across pages);
    (image or None, error message)."""
    cache = st.session_state.setdefault(
        "_fm_decoded", BoundedStore(UPLOADS_DECODED, "decoded uploads")
    )
    if file_id not in cache:
        try:
            cache[file_id] = (decode_image(data), None)
            st.session_state["_fm_kept_upload"] = (cache[file_id][0], name)
        except ImageInputError as err:
            cache[file_id] = (None, str(err))
    return cache[file_id]


def layer_tokens_of(lm_: ws.LoadedModel, layer_names_: list[str]) -> dict[str, str]:
    """Module path -> paper-style name for the URL (kept per model for the session)."""
    cache = st.session_state.setdefault(
        "_fm_layer_tokens", BoundedStore(LAYER_NAMINGS, "layer names")
    )
    if lm_.token not in cache:
        try:
            cache[lm_.token] = layer_names(lm_.model, lm_.arch)
        except Exception:
            log.warning(
                "No paper-style layer names for %s: the URL uses module paths",
                lm_.arch,
                exc_info=True,
            )
            cache[lm_.token] = {}
    pretty = cache[lm_.token]
    tokens = {n: pretty[n] for n in layer_names_ if n in pretty}
    return tokens if len(set(tokens.values())) == len(tokens) else {}


# --------------------------------------------------------------------------- 1. image and model


@dataclass(frozen=True)
class BoundInputs:
    """What the link and this session say before the widgets are drawn: the image source, the
    model, this browser's models of it, and the weight kinds it offers."""

    source: str
    arch: str
    spec: ArchSpec
    mine: list  # this browser's trained models of ``arch`` (explorer.ui.registry)
    kinds: list[str]
    kind: str


def bind_inputs(url: PageState, keys: list[str], sample_names: list[str]) -> BoundInputs:
    """Bind image source, model, weights and sample from the link or this session; say in the
    link's popover what a link cannot carry (your model, checkpoint, upload or picture)."""
    if url.arriving("sample"):
        st.session_state["fm_source"] = "Sample"  # a link shows its sample, not an old upload
    source = url.keep("fm_source", "Sample", SOURCES)
    newest_mine = (
        url.arriving("weights") and st.query_params.get("weights") == "user"
    )  # the sidebar's link
    arch_now = url.bind("arch", "fm_arch", default=default_arch(), valid=keys)
    mine = [m for m in user_models(kind="cnn") if m.arch == arch_now]
    if newest_mine and mine:
        st.session_state["fm_user_model"] = mine[-1].name  # registered last: the run just finished
    spec_now = get_spec(arch_now)
    kinds = (
        (["imagenet"] if spec_now.weights else [])
        + (["bundled"] if arch_now in ws.bundled_available() else [])
        + (["user"] if mine else [])
        + ["random", "upload"]
    )
    # Your trained model or checkpoint cannot travel: the link names the best shared weights instead.
    shared_kind = next(
        k
        for k in ("imagenet", "bundled", "random")
        if k in kinds and (k != "imagenet" or ws.pretrained_cached(arch_now))
    )
    kind_now = url.bind(
        "weights",
        "fm_kind",
        default=best_kind_of(arch_now),
        valid=kinds,
        fmt=lambda k: shared_kind if k in ("user", "upload") else k,
    )
    if kind_now in ("user", "upload"):
        url.not_in_link(
            f"your {'trained model' if kind_now == 'user' else 'checkpoint'} (the link opens "
            f"{spec_now.title} with {ws.WEIGHT_KINDS[shared_kind].split(' (')[0].lower()} in its place)"
        )
    # The cat on first open (the page's picture); a model switch picks a suited sample instead.
    default_sample = DEFAULT_SAMPLE if DEFAULT_SAMPLE in sample_names else sample_names[0]
    if source == "Sample":
        url.bind("sample", "fm_sample", default=default_sample, valid=sample_names)
    else:
        url.keep("fm_sample", default_sample, sample_names)
        url.not_in_link(
            f"your {'uploaded image' if source == 'Upload' else 'camera picture'} (the link opens "
            f'with the sample "{get_sample(default_sample).title}")'
        )
    url.keep("fm_user_model", mine[0].name if mine else "", [m.name for m in mine] or None)
    return BoundInputs(source, arch_now, spec_now, mine, kinds, kind_now)


def inputs_box(projector: bool, bound: BoundInputs) -> Any:
    """Where sections 1 and 2 go: projector mode folds them into one line above the figure."""
    if not projector:
        return st.container()
    source = bound.source
    what = (
        get_sample(st.session_state["fm_sample"]).title
        if source == "Sample"
        else f"your {source.lower()}"
    )
    # the summary names the weights really in use: asked-for ImageNet weights that are not cached fall back
    in_use = (
        "random"
        if bound.kind == "imagenet" and not ws.pretrained_cached(bound.arch)
        else bound.kind
    )
    return st.expander(
        f"Image: {what}  |  Model: {bound.spec.title}  |  Weights: "
        f"{escape_text(weights_label(in_use, bound.arch), limit=160)}  (open to change)"
    )


def image_section(sample_names: list[str]) -> DecodedImage:
    """1. Image: a sample, an upload (kept until replaced) or a camera picture; a bad file gets its
    message and the default sample stands in. Returns the image the model will see."""
    st.subheader("1. Image")
    source = st.radio("Image from", SOURCES, horizontal=True, key="fm_source")
    image, image_error = None, None
    kept = st.session_state.get("_fm_kept_upload")
    if source == "Upload":
        up = st.file_uploader(
            "Image file: PNG, JPEG, WebP, BMP or GIF", type=UPLOAD_TYPES, key="fm_upload"
        )
        if up is not None:
            image, image_error = decoded_upload(
                up.getvalue(), f"up:{up.file_id}:{up.size}", up.name
            )
        elif kept is not None:
            image = kept[0]
            st.caption("Your last upload is kept until you upload another image.")
            st.text(f"Your upload: {kept[1]}")
    elif source == "Camera":
        shot = st.camera_input("Take a picture", key="fm_camera")
        if shot is not None:
            image, image_error = decoded_upload(
                shot.getvalue(), f"cam:{shot.file_id}:{shot.size}", "camera"
            )
    if source == "Sample":
        name = st.selectbox(
            "Sample image", sample_names, key="fm_sample", format_func=lambda n: get_sample(n).title
        )
        image = load_sample(name)
        st.caption(f"{get_sample(name).description} {get_sample(name).credit}.")
    if image_error:
        st.error(image_error)
    if image is None:
        fallback = DEFAULT_SAMPLE if DEFAULT_SAMPLE in sample_names else sample_names[0]
        image = load_sample(fallback)
        st.info(
            f"Showing the sample '{get_sample(fallback).title}' until an image is "
            f"{'taken' if source == 'Camera' else 'uploaded'}."
        )
    st.image(image.display, width=min(360, max(64, image.size[0])))
    st.caption(f"{image.format} image, {image.size[0]} x {image.size[1]} pixels (width x height)")
    for note in image.notes:
        st.caption(f"Decoding: {note}.")
    return image


def _weights_source(
    arch: str, spec: ArchSpec, kind: str, mine: list
) -> tuple[str, bytes | None, bool, str]:
    """The widgets of the chosen weight kind: which of my models, a checkpoint upload, or the
    ImageNet download button. Returns (model name, checkpoint bytes, downloaded now, download error)."""
    ref, data, download, download_error = "", None, False, ""
    if kind == "user":
        ref = st.selectbox("My model", [m.name for m in mine], key="fm_user_model")
    elif kind == "upload":
        ck = st.file_uploader(
            f"Checkpoint for {spec.title} (.safetensors)", type=["safetensors"], key="fm_ckpt"
        )
        data = ck.getvalue() if ck is not None else None
    elif kind == "imagenet" and not ws.pretrained_cached(arch):
        st.caption("The ImageNet weights are not on this machine yet.")
        if st.button("Download the ImageNet weights (needs a network)", key="fm_download"):
            bar = st.progress(0.0, text="Connecting...")
            try:  # streamed, hash-checked; the cache gets the file only when it is whole and right
                download_pretrained(
                    spec,
                    progress=lambda done, total: bar.progress(
                        min(1.0, done / total) if total else 0.0,
                        text=f"Downloading {format_progress(done, total)}",
                    ),
                )
                download = True
            except WeightsError as err:
                download_error = str(err)
            bar.empty()
    return ref, data, download, download_error


def model_section(keys: list[str], bound: BoundInputs) -> tuple[ws.LoadedModel, str, ArchSpec]:
    """2. Model and weights (after the heading and "Your own model"): architecture, weight kind
    and its source; weights that cannot load say why and random ones stand in. Returns the loaded
    model, the weight kind asked for, and the architecture's spec."""
    arch = st.selectbox(
        "Architecture",
        keys,
        key="fm_arch",
        on_change=arch_changed,
        format_func=lambda k: get_spec(k).dated_title,
    )
    spec = get_spec(arch)
    # an imported model's weights name its file (the user's text: escaped)
    kind = st.radio(
        "Weights",
        bound.kinds,
        key="fm_kind",
        format_func=lambda k: escape_text(weights_label(k, arch), limit=160),
    )
    ref, data, download, download_error = _weights_source(arch, spec, kind, bound.mine)
    try:
        if download_error:
            raise ws.ModelLoadError(download_error)
        if kind == "upload" and data is None:
            raise ws.ModelLoadError("Upload a .safetensors checkpoint for this architecture.")
        if kind == "imagenet" and not download and not ws.pretrained_cached(arch):
            raise ws.ModelLoadError(
                f"The ImageNet weights of {spec.title} are not in the local cache, and nothing is "
                "downloaded without your click. Click the button above when a network is available."
            )
        lm = ws.model_with_weights(arch, kind, ref=ref, data=data, download=download)
    except ws.ModelLoadError as err:  # may quote a file's metadata: shown as text, never Markdown
        st.warning(escape_text(str(err), limit=800))
        lm = ws.model_with_weights(arch, "random")
    st.success("Weights in use: " + escape_text(lm.label, limit=300))
    st.caption(f"{spec.idea} " + escape_text(lm.detail, limit=300))
    return lm, kind, spec


# --------------------------------------------------------------------------- 3. preprocessing


def preprocessing_section(lm: ws.LoadedModel, image: DecodedImage, spec: ArchSpec) -> FeatureResult:
    """Run the model once (cached) and show 3. Preprocessing: the steps from the image to the
    model's input tensor. An input the model cannot take gets its message and ends the page."""
    res = None
    with st.spinner("Running the model once and keeping every layer's maps..."):
        try:
            res = ir.feature_result(lm, image)
        except RuntimeError as err:  # e.g. an input too small for a deep model
            st.error(f"{spec.title} could not process this input: {str(err).splitlines()[0]}")
    if res is None:
        st.stop()
    mi = res.model_input
    with st.expander(
        f"3. Preprocessing: {image.size[1]} x {image.size[0]} x 3 (H x W x C) -> "
        f"{' x '.join(map(str, mi.x.shape))} (N x C x H x W)",
        expanded=False,
    ):
        left, right = st.columns([2, 1])
        left.markdown("\n".join(f"{i + 1}. {step}" for i, step in enumerate(mi.steps)))
        right.image(
            mi.view,
            caption=f"What the model sees ({mi.view.shape[0]} x {mi.view.shape[1]})",
            width=min(224, mi.view.shape[1] * max(1, 224 // mi.view.shape[1])),
        )
    if mi.grey_model and not image.was_grey:
        st.caption("This model takes grey images: the colour image was converted to 1 channel.")
    elif image.was_grey and not mi.grey_model:
        st.caption("The image is grey: its channel was repeated 3 times for this colour model.")
    return res
