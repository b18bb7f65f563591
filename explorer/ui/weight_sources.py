"""Weight sources of the Feature maps page: which copy of a model each session gets.

The models themselves (LoadedModel, the random / ImageNet / bundled / user / upload builders,
the offline defaults) are built by :mod:`explorer.probe.sources` and re-exported here. This
module keeps what is per process and per session:

- Read-only catalog models (random init with seed 0, ImageNet, bundled) are process-wide, in
  ONE ``st.cache_resource`` keyed by (arch, source, version) and bounded by one budget
  (``SHARED_MODEL_BUDGET``): the same ImageNet weights are loaded once, whoever asks (a
  download click included). Each model carries a lock: hooks are registered on the module
  itself, so two sessions capturing at the same time on one shared model would fill each
  other's dictionaries. The lock serialises forward passes on a shared model.
- Models that belong to one user (trained on the Training page, uploaded checkpoints) live in
  ``st.session_state``, bounded, so nobody sees another user's model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.models import get_spec
from explorer.models.weights import WeightsError
from explorer.probe import sources as src
from explorer.probe.sources import (  # re-exported (see __all__): their home is the engine
    PREFERRED_BUNDLED,
    RANDOM_SEED,
    SHARED_KINDS,
    WEIGHT_KINDS,
    LoadedModel,
    ModelLoadError,
    bundled_available,
    pretrained_cached,
)

log = logging.getLogger(__name__)

__all__ = [
    "PREFERRED_BUNDLED",
    "RANDOM_SEED",
    "SHARED_KINDS",
    "WEIGHT_KINDS",
    "LoadedModel",
    "ModelLoadError",
    "bundled_available",
    "model_with_weights",
    "pretrained_cached",
]

# Read-only catalog models kept process-wide, all sources together: a VGG-16 is 528 MB, so the
# budget caps them near 2 GB of (GPU) memory however many users pick models.
SHARED_MODEL_BUDGET = 4
# A user's own models (trained, uploaded) per session: the one shown and the one compared.
PRIVATE_MODELS_PER_SESSION = 2
# Refusal messages of uploaded checkpoints per session, so a rerun does not read the file again.
REFUSED_PER_SESSION = 4

_PRIVATE_KEY = "_fm_private_models"
_REFUSED_KEY = "_fm_refused_uploads"


# --------------------------------------------------------------------------- shared models


@st.cache_resource(max_entries=SHARED_MODEL_BUDGET, show_spinner=False)
def _shared_model(arch: str, kind: str, version: str, _download: bool = False) -> LoadedModel:
    """The one process-wide copy of (arch, kind, version); ``_download`` (left out of the key)
    lets a missing ImageNet file be fetched first. A failure raises and is not cached."""
    if kind == "imagenet":
        return src.imagenet_model(arch, _download)
    if kind == "bundled":
        return src.bundled_model(arch, version)
    return src.random_model(arch)


def _load_random(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    return _shared_model(arch, "random", str(RANDOM_SEED))


def _load_imagenet(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    try:
        return _shared_model(arch, "imagenet", str(get_spec(arch).weights), _download=download)
    except WeightsError as err:
        raise ModelLoadError(str(err)) from err


def _load_bundled(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    version = src.bundled_version(arch)  # ModelLoadError when there is no file
    try:
        return _shared_model(arch, "bundled", version)
    except (WeightsError, ImportError, ValueError, KeyError) as err:
        raise ModelLoadError(str(err)) from err


# --------------------------------------------------------------------------- a user's own models


def _private_store() -> BoundedStore[str, LoadedModel]:
    return st.session_state.setdefault(
        _PRIVATE_KEY, BoundedStore(PRIVATE_MODELS_PER_SESSION, "private models")
    )


def _load_user(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    from explorer.ui.registry import get_user_model

    um = get_user_model(ref)
    if um is None:
        raise ModelLoadError(f"No trained model called {ref!r} in this session.")
    token = src.user_token(um, ref)
    if token not in _private_store():
        _private_store()[token] = src.user_loaded_model(um, ref)
    return _private_store()[token]


def _load_upload(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    """An uploaded checkpoint (:func:`explorer.probe.sources.uploaded_model`), kept in the
    session; a refusal is remembered by the file's digest, so a rerun does not read it again."""
    data = data or b""
    token = src.upload_token(arch, data)
    if token in _private_store():
        return _private_store()[token]
    refused = st.session_state.setdefault(
        _REFUSED_KEY, BoundedStore(REFUSED_PER_SESSION, "refused uploads")
    )
    if token in refused:
        raise ModelLoadError(refused[token])
    try:
        lm = src.uploaded_model(arch, data)
    except ModelLoadError as err:
        refused[token] = str(err)
        raise
    _private_store()[token] = lm
    return lm


_Loader = Callable[[str, str, "bytes | None", bool], LoadedModel]
# One loader per weight source (the keys of WEIGHT_KINDS): adding a source touches this table.
_LOADERS: dict[str, _Loader] = {
    "random": _load_random,
    "imagenet": _load_imagenet,
    "bundled": _load_bundled,
    "user": _load_user,
    "upload": _load_upload,
}


def model_with_weights(
    arch: str, kind: str, *, ref: str = "", data: bytes | None = None, download: bool = False
) -> LoadedModel:
    """The model for one weight source; ModelLoadError with the message to show otherwise.

    ``ref`` names the user's trained model, ``data`` is an uploaded checkpoint, ``download``
    lets missing ImageNet weights be fetched (only after the user's click)."""
    loader = _LOADERS.get(kind)
    if loader is None:
        raise ModelLoadError(f"Unknown weight source {kind!r}.")
    return loader(arch, ref, data, download)
