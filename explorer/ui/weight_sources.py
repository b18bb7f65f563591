"""Weight sources of the Feature maps page: one model per (architecture, weights), ready to probe.

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

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from torch import nn

from explorer.data.images import Preprocessing
from explorer.models import CATALOG, get_spec
from explorer.models.init import build_seeded
from explorer.models.plan import built_title
from explorer.models.weights import (
    WeightsError,
    bundled_keys,
    bundled_path,
    load_bundled,
    load_pretrained,
    pretrained_available,
)
from explorer.probe.inputs import class_names_for, preprocessing_for
from explorer.ui.bounded import BoundedStore

log = logging.getLogger(__name__)

# Read-only catalog models kept process-wide, all sources together: a VGG-16 is 528 MB, so the
# budget caps them near 2 GB of (GPU) memory however many users pick models.
SHARED_MODEL_BUDGET = 4
# A user's own models (trained, uploaded) per session: the one shown and the one compared.
PRIVATE_MODELS_PER_SESSION = 2
# Refusal messages of uploaded checkpoints per session, so a rerun does not read the file again.
REFUSED_PER_SESSION = 4

_PRIVATE_KEY = "_fm_private_models"
_REFUSED_KEY = "_fm_refused_uploads"
RANDOM_SEED = 0  # the same "random" model on every rerun and for every user
# Weight sources whose models are process-wide (`_shared_model`): the same for every user, so
# what they compute on a shared image is shared too (explorer.ui.image_results).
SHARED_KINDS = frozenset({"random", "imagenet", "bundled"})
# Compact models with bundled weights, the most telling first (a default model, a second one to compare).
PREFERRED_BUNDLED = ("resnet_small", "vgg_small", "alexnet_small", "lenet5", "nin_small", "googlenet_small")

WEIGHT_KINDS = {
    "imagenet": "ImageNet weights (torchvision)",
    "bundled": "Bundled weights (trained by this project, offline)",
    "user": "My trained model (this session)",
    "random": "Random initialisation (untrained)",
    "upload": "Uploaded checkpoint (.safetensors)",
}


class ModelLoadError(ValueError):
    """A model could not be provided; ``str(err)`` is the message for the page."""


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready for the page, with everything the page says about it."""

    model: nn.Module
    arch: str
    kind: str  # a key of WEIGHT_KINDS
    label: str  # e.g. "ResNet-18 - random initialisation (untrained)"
    token: str  # identifies model + weights in cache keys
    prep: Preprocessing
    classes: tuple[str, ...] | None
    head_meaningful: bool  # False for random weights: the "predictions" mean nothing
    task: str = "multiclass"
    build: dict[str, Any] = field(default_factory=dict)
    detail: str = ""  # accuracy, dataset...
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def in_channels(self) -> int:
        return self.prep.channels


# --------------------------------------------------------------------------- what is offered


def pretrained_cached(arch: str) -> bool:
    """ImageNet weights of ``arch`` are on disk (loading them needs no network)."""
    try:
        return pretrained_available(get_spec(arch))
    except Exception:  # noqa: BLE001 - the option is not offered; the log says why
        log.warning("Cannot tell whether the ImageNet weights of %r are cached", arch, exc_info=True)
        return False


def bundled_available() -> list[str]:
    """Catalog keys with bundled weights in assets/weights."""
    try:
        return [k for k in bundled_keys() if k in CATALOG]
    except OSError:  # an unreadable assets folder: no bundled option; the log says why
        log.warning("Cannot list the bundled weights", exc_info=True)
        return []


def _to_device(model: nn.Module) -> nn.Module:
    from explorer.device import DeviceUnavailableError, pick_device

    try:
        return model.to(pick_device())
    except (DeviceUnavailableError, RuntimeError):
        log.warning("Model kept on the CPU: the chosen device refused it", exc_info=True)
        return model


# --------------------------------------------------------------------------- shared models


def _random(arch: str) -> LoadedModel:
    spec = get_spec(arch)
    model = build_seeded(spec.build, RANDOM_SEED)  # a local generator: the global RNG is untouched
    build = spec.build_kwargs
    return LoadedModel(
        model=_to_device(model.eval()), arch=arch, kind="random",
        label=f"{spec.title} - random initialisation (untrained, seed {RANDOM_SEED})",
        token=f"{arch}|random|{RANDOM_SEED}", prep=preprocessing_for(spec, build),
        classes=class_names_for(spec), head_meaningful=False, task=spec.task, build=build,
        detail="These weights were never trained: the maps show what random filters do to the image.",
    )  # fmt: skip


def _imagenet(arch: str, download: bool) -> LoadedModel:
    spec = get_spec(arch)
    model = load_pretrained(spec, download=download)  # raises WeightsUnavailableError (not cached)
    return LoadedModel(
        model=_to_device(model.eval()), arch=arch, kind="imagenet",
        label=f"{spec.title} - ImageNet weights (torchvision {spec.weights})", token=f"{arch}|imagenet|{spec.weights}",
        prep=preprocessing_for(spec), classes=class_names_for(spec), head_meaningful=True, task=spec.task,
        detail="Trained on ImageNet (1.28 M photos, 1000 classes) by the torchvision team.",
    )  # fmt: skip


def _bundled(arch: str, mtime: str) -> LoadedModel:
    model, meta = load_bundled(arch)
    spec = get_spec(arch)
    build = dict(meta.build or {})
    dataset = str(meta.dataset or "") or "the project's offline data"
    acc = dict(meta.metrics or {}).get("test_accuracy")
    acc_text = f", test accuracy {float(acc):.1%}" if isinstance(acc, (int, float)) else ""
    return LoadedModel(
        model=_to_device(model.eval()), arch=arch, kind="bundled",
        label=f"{spec.title} - bundled weights (trained on {dataset}{acc_text})",
        token=f"{arch}|bundled|{mtime}", prep=preprocessing_for(spec, build), classes=tuple(meta.classes) or None,
        head_meaningful=True, task=spec.task, build=build,
        detail=f"Trained by scripts/ on {dataset}, offline{acc_text}.",
    )  # fmt: skip


@st.cache_resource(max_entries=SHARED_MODEL_BUDGET, show_spinner=False)
def _shared_model(arch: str, kind: str, version: str, _download: bool = False) -> LoadedModel:
    """The one process-wide copy of (arch, kind, version); ``_download`` (left out of the key)
    lets a missing ImageNet file be fetched first. A failure raises and is not cached."""
    if kind == "imagenet":
        return _imagenet(arch, _download)
    if kind == "bundled":
        return _bundled(arch, version)
    return _random(arch)


def _load_random(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    return _shared_model(arch, "random", str(RANDOM_SEED))


def _load_imagenet(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    try:
        return _shared_model(arch, "imagenet", str(get_spec(arch).weights), _download=download)
    except WeightsError as err:
        raise ModelLoadError(str(err)) from err


def _load_bundled(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    path = bundled_path(arch)
    if not path.is_file():
        raise ModelLoadError(
            f"No bundled weights for {get_spec(arch).title} yet (expected assets/weights/{path.name}, "
            "written by the training script in scripts/).")
    try:
        return _shared_model(arch, "bundled", str(path.stat().st_mtime))
    except (WeightsError, ImportError, ValueError, KeyError) as err:
        raise ModelLoadError(str(err)) from err


# --------------------------------------------------------------------------- a user's own models


def _private_store() -> BoundedStore[str, LoadedModel]:
    return st.session_state.setdefault(_PRIVATE_KEY, BoundedStore(PRIVATE_MODELS_PER_SESSION, "private models"))


def _load_user(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    from explorer.ui.registry import get_user_model

    um = get_user_model(ref)
    if um is None:
        raise ModelLoadError(f"No trained model called {ref!r} in this session.")
    token = f"{um.arch}|user|{ref}|{um.created}"
    if token in _private_store():
        return _private_store()[token]
    try:
        model = um.instantiate()
    except Exception as err:  # CheckpointMismatchError and friends: keep the page alive
        raise ModelLoadError(str(err)) from err
    spec = get_spec(um.arch)
    acc = (um.metrics or {}).get("test_accuracy") or (um.metrics or {}).get("accuracy")
    acc_text = f", accuracy {float(acc):.1%}" if isinstance(acc, (int, float)) else ""
    lm = LoadedModel(
        model=_to_device(model), arch=um.arch, kind="user",
        label=f"{built_title(um.arch, um.build)} - my model {ref!r} ({um.source}{acc_text})", token=token,
        prep=preprocessing_for(spec, um.build), classes=tuple(um.classes) or None, head_meaningful=True,
        task=spec.task, build=dict(um.build), detail=f"Dataset: {um.dataset or 'unknown'}{acc_text}.",
    )  # fmt: skip
    _private_store()[token] = lm
    return lm


def _load_upload(arch: str, ref: str, data: bytes | None, download: bool) -> LoadedModel:
    """An uploaded checkpoint through the one validated reader (explorer.models.checkpoint).

    A plain safetensors file without the app's metadata is read as weights for ``arch``. Every
    check (header, build arguments, size on the meta device, shapes) runs before any tensor is
    read; a refusal is remembered by the file's digest, so a rerun does not read it again.
    """
    from explorer.models.checkpoint import (
        CheckpointError,
        CheckpointFormatError,
        model_from_checkpoint,
    )

    data = data or b""
    digest = hashlib.sha256(data).hexdigest()[:16]
    token = f"{arch}|upload|{digest}"
    if token in _private_store():
        return _private_store()[token]
    refused = st.session_state.setdefault(_REFUSED_KEY, BoundedStore(REFUSED_PER_SESSION, "refused uploads"))
    if token in refused:
        raise ModelLoadError(refused[token])
    try:
        model, meta = model_from_checkpoint(data, arch=arch)
    except CheckpointError as err:
        message = str(err)
        if isinstance(err, CheckpointFormatError):
            message += " Upload a .safetensors file saved from this app or with safetensors.torch.save_file."
        refused[token] = message
        raise ModelLoadError(message) from None
    spec = get_spec(arch)
    build = dict(meta.build) or spec.build_kwargs
    lm = LoadedModel(
        model=_to_device(model), arch=arch, kind="upload",
        label=f"{built_title(arch, build)} - uploaded checkpoint ({digest[:8]})", token=token,
        prep=preprocessing_for(spec, build), classes=tuple(meta.classes) or class_names_for(spec),
        head_meaningful=True, task=spec.task, build=build,
        detail="Weights from the uploaded file: checked before building (arguments, size, "
               "every key and shape, finite values).",
    )  # fmt: skip
    _private_store()[token] = lm
    return lm


_Loader = Callable[[str, str, "bytes | None", bool], LoadedModel]
# One loader per weight source (the keys of WEIGHT_KINDS): adding a source touches this table.
_LOADERS: dict[str, _Loader] = {
    "random": _load_random, "imagenet": _load_imagenet, "bundled": _load_bundled,
    "user": _load_user, "upload": _load_upload,
}  # fmt: skip


def load_model(arch: str, kind: str, *, ref: str = "", data: bytes | None = None,
               download: bool = False) -> LoadedModel:
    """The model for one weight source; ModelLoadError with the message to show otherwise.

    ``ref`` names the user's trained model, ``data`` is an uploaded checkpoint, ``download``
    lets missing ImageNet weights be fetched (only after the user's click)."""
    loader = _LOADERS.get(kind)
    if loader is None:
        raise ModelLoadError(f"Unknown weight source {kind!r}.")
    return loader(arch, ref, data, download)
