"""The Feature maps page's sections and the helpers they share: the page
(app_pages/feature_maps.py) calls them in order, so it reads as a table of contents."""

from __future__ import annotations

import logging

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.data.decode import ImageInputError, decode_image
from explorer.probe.names import layer_names
from explorer.probe.sources import best_kind, bundled_dataset, suited_sample
from explorer.ui import weight_sources as ws
from explorer.ui.registry import user_models
from explorer.ui.state import PageState

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
