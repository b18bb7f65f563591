"""The Feature maps page's sections and the helpers they share: the page
(app_pages/feature_maps.py) calls them in order, so it reads as a table of contents."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.data.decode import ImageInputError, decode_image
from explorer.data.samples import DEFAULT_SAMPLE, get_sample
from explorer.models import get_spec
from explorer.models.catalog import ArchSpec
from explorer.probe.names import layer_names
from explorer.probe.sources import best_kind, bundled_dataset, default_arch, suited_sample
from explorer.ui import weight_sources as ws
from explorer.ui.registry import user_models
from explorer.ui.state import PageState

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
        st.caption("Upload an image (or take a sample) and see what every layer of a CNN makes of it: "
                   "the channels it lights up, its filters, and which pixels each unit can see.")


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
    cache = st.session_state.setdefault("_fm_decoded", BoundedStore(UPLOADS_DECODED, "decoded uploads"))
    if file_id not in cache:
        try:
            cache[file_id] = (decode_image(data), None)
            st.session_state["_fm_kept_upload"] = (cache[file_id][0], name)
        except ImageInputError as err:
            cache[file_id] = (None, str(err))
    return cache[file_id]


def layer_tokens_of(lm_: ws.LoadedModel, layer_names_: list[str]) -> dict[str, str]:
    """Module path -> paper-style name for the URL (kept per model for the session)."""
    cache = st.session_state.setdefault("_fm_layer_tokens", BoundedStore(LAYER_NAMINGS, "layer names"))
    if lm_.token not in cache:
        try:
            cache[lm_.token] = layer_names(lm_.model, lm_.arch)
        except Exception:  # noqa: BLE001 - a model the namer does not know: raw paths, and a log line
            log.warning("No paper-style layer names for %s: the URL uses module paths", lm_.arch, exc_info=True)
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
    newest_mine = url.arriving("weights") and st.query_params.get("weights") == "user"  # the sidebar's link
    arch_now = url.bind("arch", "fm_arch", default=default_arch(), valid=keys)
    mine = [m for m in user_models(kind="cnn") if m.arch == arch_now]
    if newest_mine and mine:
        st.session_state["fm_user_model"] = mine[-1].name  # registered last: the run just finished
    spec_now = get_spec(arch_now)
    kinds = (["imagenet"] if spec_now.weights else []) + (["bundled"] if arch_now in ws.bundled_available() else []) \
        + (["user"] if mine else []) + ["random", "upload"]
    # Your trained model or checkpoint cannot travel: the link names the best shared weights instead.
    shared_kind = next(k for k in ("imagenet", "bundled", "random") if k in kinds and (k != "imagenet" or ws.pretrained_cached(arch_now)))
    kind_now = url.bind("weights", "fm_kind", default=best_kind_of(arch_now), valid=kinds,
                        fmt=lambda k: shared_kind if k in ("user", "upload") else k)
    if kind_now in ("user", "upload"):
        url.not_in_link(f"your {'trained model' if kind_now == 'user' else 'checkpoint'} (the link opens "
                        f"{spec_now.title} with {ws.WEIGHT_KINDS[shared_kind].split(' (')[0].lower()} in its place)")
    # The cat on first open (the page's picture); a model switch picks a suited sample instead.
    default_sample = DEFAULT_SAMPLE if DEFAULT_SAMPLE in sample_names else sample_names[0]
    if source == "Sample":
        url.bind("sample", "fm_sample", default=default_sample, valid=sample_names)
    else:
        url.keep("fm_sample", default_sample, sample_names)
        url.not_in_link(f"your {'uploaded image' if source == 'Upload' else 'camera picture'} (the link opens "
                        f"with the sample \"{get_sample(default_sample).title}\")")
    url.keep("fm_user_model", mine[0].name if mine else "", [m.name for m in mine] or None)
    return BoundInputs(source, arch_now, spec_now, mine, kinds, kind_now)


def inputs_box(projector: bool, bound: BoundInputs) -> Any:
    """Where sections 1 and 2 go: projector mode folds them into one line above the figure."""
    if not projector:
        return st.container()
    source = bound.source
    what = get_sample(st.session_state["fm_sample"]).title if source == "Sample" else f"your {source.lower()}"
    # the summary names the weights really in use: asked-for ImageNet weights that are not cached fall back
    in_use = "random" if bound.kind == "imagenet" and not ws.pretrained_cached(bound.arch) else bound.kind
    return st.expander(f"Image: {what}  |  Model: {bound.spec.title}  |  Weights: "
                       f"{ws.WEIGHT_KINDS.get(in_use, in_use)}  (open to change)")
