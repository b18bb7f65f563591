"""Weight sources: one model per (architecture, weights), ready to probe, with what a page says
about it.

Pure (no Streamlit): the builders for random initialisation, ImageNet, bundled weights, a
user's own model and an uploaded checkpoint, and the offline defaults (which weights, which
model, which sample suit each other). Which copies are shared process-wide and which stay in one
session is the ui's business (:mod:`explorer.ui.weight_sources`). Here in ``probe`` and not in
``models`` because a loaded model carries its input preprocessing (``data``) and class names
(``probe.inputs``), and ``models`` imports neither.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from explorer.data.datasets import DATASETS
from explorer.data.images import Preprocessing
from explorer.models import CATALOG, get_spec
from explorer.models.imported_entry import ENTRIES, OWN_PREFIX
from explorer.models.init import build_seeded
from explorer.models.plan import built_title
from explorer.models.user_model import UserModel
from explorer.models.weights import (
    bundled_keys,
    bundled_path,
    load_bundled,
    load_pretrained,
    pretrained_available,
)
from explorer.probe.inputs import class_names_for, preprocessing_for

log = logging.getLogger(__name__)

RANDOM_SEED = 0  # the same "random" model on every rerun and for every user
# Weight sources whose models are process-wide: the same for every user, so what they compute
# on a shared image is shared too (explorer.ui.image_results).
SHARED_KINDS = frozenset({"random", "imagenet", "bundled"})
# Compact models with bundled weights, the most telling first (a default model, a second one to compare).
PREFERRED_BUNDLED = (
    "resnet_small",
    "vgg_small",
    "alexnet_small",
    "lenet5",
    "nin_small",
    "googlenet_small",
)

WEIGHT_KINDS = {
    "imagenet": "ImageNet weights (torchvision)",
    "bundled": "Bundled weights (trained by this project, offline)",
    "user": "My trained model (this session)",
    "random": "Random initialisation (untrained)",
    "upload": "Uploaded checkpoint (.safetensors)",
}


def weights_label(kind: str, arch: str) -> str:
    """The picker's label of weight source ``kind`` for ``arch``: an imported model's own weights
    name the file they came from (the file name is the user's: show it as text, escaped)."""
    if kind == "user" and arch.startswith(OWN_PREFIX):
        entry = ENTRIES.get(arch)
        if entry is not None and entry.file_name:
            return f"Weights from your file ({entry.file_name})"
    return WEIGHT_KINDS.get(kind, kind)


class ModelLoadError(ValueError):
    """A model could not be provided; ``str(err)`` is the message for the page."""


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready to probe, with everything a page says about it."""

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
    except Exception:
        log.warning(
            "Cannot tell whether the ImageNet weights of %r are cached", arch, exc_info=True
        )
        return False


def bundled_available() -> list[str]:
    """Catalog keys with bundled weights in assets/weights."""
    try:
        return [k for k in bundled_keys() if k in CATALOG]
    except OSError:  # an unreadable assets folder: no bundled option; the log says why
        log.warning("Cannot list the bundled weights", exc_info=True)
        return []


def best_kind(arch: str, has_user_model: bool = False) -> str:
    """The most telling weights available offline for ``arch``: ImageNet if cached, bundled,
    the user's own trained model (``has_user_model``), else random."""
    if pretrained_cached(arch):
        return "imagenet"
    if arch in bundled_available():
        return "bundled"
    return "user" if has_user_model else "random"


def default_arch() -> str:
    """A model that shows learned features offline: ImageNet if cached, bundled, else random."""
    if pretrained_cached("resnet18"):
        return "resnet18"
    bundled = bundled_available()
    return next(
        (k for k in PREFERRED_BUNDLED if k in bundled), bundled[0] if bundled else "resnet18"
    )


def bundled_dataset(arch: str) -> str | None:
    """The dataset the bundled weights of ``arch`` were trained on (from their metadata)."""
    from explorer.models.checkpoint import read_meta

    try:
        return str(read_meta(bundled_path(arch).read_bytes()).dataset or "") or None
    except Exception:
        log.warning("No dataset recorded for the bundled weights of %s", arch, exc_info=True)
        return None


def suited_sample(arch: str, kind: str, dataset: str | None, current: str | None) -> str | None:
    """A sample that suits the model: a digit for digit models, shapes for shape models, a photo
    for ImageNet models; None keeps ``current``. ``dataset``: what bundled weights were trained on."""
    suited = DATASETS[dataset].sample if dataset in DATASETS else None
    if suited is None and get_spec(arch).input_shape[0] == 1:
        return "digit"
    if suited is not None:
        return suited
    if kind == "imagenet" or not get_spec(arch).compact:
        return "cat" if current in ("digit", "shapes") else None
    return None


def to_device(model: nn.Module) -> nn.Module:
    """``model`` on the chosen device, or left on the CPU (logged) when that device refuses it."""
    from explorer.device import DeviceUnavailableError, pick_device

    try:
        return model.to(pick_device())
    except (DeviceUnavailableError, RuntimeError):
        log.warning("Model kept on the CPU: the chosen device refused it", exc_info=True)
        return model


# --------------------------------------------------------------------------- builders


def random_model(arch: str) -> LoadedModel:
    """``arch`` with seeded random weights (a local generator: the global RNG is untouched)."""
    spec = get_spec(arch)
    model = build_seeded(spec.build, RANDOM_SEED)
    build = spec.build_kwargs
    return LoadedModel(
        model=to_device(model.eval()),
        arch=arch,
        kind="random",
        label=f"{spec.title} - random initialisation (untrained, seed {RANDOM_SEED})",
        token=f"{arch}|random|{RANDOM_SEED}",
        prep=preprocessing_for(spec, build),
        classes=class_names_for(spec),
        head_meaningful=False,
        task=spec.task,
        build=build,
        detail="These weights were never trained: the maps show what random filters do to the image.",
    )


def imagenet_model(arch: str, download: bool) -> LoadedModel:
    """``arch`` with torchvision's ImageNet weights; WeightsUnavailableError if not cached."""
    spec = get_spec(arch)
    model = load_pretrained(spec, download=download)
    return LoadedModel(
        model=to_device(model.eval()),
        arch=arch,
        kind="imagenet",
        label=f"{spec.title} - ImageNet weights (torchvision {spec.weights})",
        token=f"{arch}|imagenet|{spec.weights}",
        prep=preprocessing_for(spec),
        classes=class_names_for(spec),
        head_meaningful=True,
        task=spec.task,
        detail="Trained on ImageNet (1.28 M photos, 1000 classes) by the torchvision team.",
    )


def bundled_model(arch: str, mtime: str) -> LoadedModel:
    """``arch`` with the project's bundled weights (``mtime`` versions the token)."""
    model, meta = load_bundled(arch)
    spec = get_spec(arch)
    build = dict(meta.build or {})
    dataset = str(meta.dataset or "") or "the project's offline data"
    acc = dict(meta.metrics or {}).get("test_accuracy")
    acc_text = f", test accuracy {float(acc):.1%}" if isinstance(acc, (int, float)) else ""
    return LoadedModel(
        model=to_device(model.eval()),
        arch=arch,
        kind="bundled",
        label=f"{spec.title} - bundled weights (trained on {dataset}{acc_text})",
        token=f"{arch}|bundled|{mtime}",
        prep=preprocessing_for(spec, build),
        classes=tuple(meta.classes) or None,
        head_meaningful=True,
        task=spec.task,
        build=build,
        detail=f"Trained by scripts/ on {dataset}, offline{acc_text}.",
    )


def bundled_version(arch: str) -> str:
    """The version of ``arch``'s bundled weights (the file's mtime); ModelLoadError if none."""
    path = bundled_path(arch)
    if not path.is_file():
        raise ModelLoadError(
            f"No bundled weights for {get_spec(arch).title} yet (expected assets/weights/{path.name}, "
            "written by the training script in scripts/)."
        )
    return str(path.stat().st_mtime)


def user_token(um: UserModel, ref: str) -> str:
    """The cache token of a user's model ``um`` registered as ``ref``."""
    return f"{um.arch}|user|{ref}|{um.created}"


def user_loaded_model(um: UserModel, ref: str) -> LoadedModel:
    """A user's own model, rebuilt from its weights; ModelLoadError if they do not fit."""
    try:
        model = um.instantiate()
    except Exception as err:  # CheckpointMismatchError and friends: keep the page alive
        raise ModelLoadError(str(err)) from err
    spec = get_spec(um.arch)
    acc = (um.metrics or {}).get("test_accuracy") or (um.metrics or {}).get("accuracy")
    acc_text = f", accuracy {float(acc):.1%}" if isinstance(acc, (int, float)) else ""
    return LoadedModel(
        model=to_device(model),
        arch=um.arch,
        kind="user",
        label=f"{built_title(um.arch, um.build)} - my model {ref!r} ({um.source}{acc_text})",
        token=user_token(um, ref),
        prep=preprocessing_for(spec, um.build),
        classes=tuple(um.classes) or None,
        head_meaningful=True,
        task=spec.task,
        build=dict(um.build),
        detail=f"Dataset: {um.dataset or 'unknown'}{acc_text}.",
    )


def upload_token(arch: str, data: bytes) -> str:
    """The cache token of an uploaded checkpoint: architecture and the file's digest."""
    return f"{arch}|upload|{hashlib.sha256(data).hexdigest()[:16]}"


def uploaded_model(arch: str, data: bytes) -> LoadedModel:
    """An uploaded checkpoint through the one validated reader (explorer.models.checkpoint).

    A plain safetensors file without the app's metadata is read as weights for ``arch``. Every
    check (header, build arguments, size on the meta device, shapes) runs before any tensor is
    read; ModelLoadError with the message to show otherwise.
    """
    from explorer.models.checkpoint import (
        CheckpointError,
        CheckpointFormatError,
        model_from_checkpoint,
    )

    token = upload_token(arch, data)
    digest = token.rpartition("|")[2]
    try:
        model, meta = model_from_checkpoint(data, arch=arch)
    except CheckpointError as err:
        message = str(err)
        if isinstance(err, CheckpointFormatError):
            message += " Upload a .safetensors file saved from this app or with safetensors.torch.save_file."
        raise ModelLoadError(message) from None
    spec = get_spec(arch)
    build = dict(meta.build) or spec.build_kwargs
    return LoadedModel(
        model=to_device(model),
        arch=arch,
        kind="upload",
        label=f"{built_title(arch, build)} - uploaded checkpoint ({digest[:8]})",
        token=token,
        prep=preprocessing_for(spec, build),
        classes=tuple(meta.classes) or class_names_for(spec),
        head_meaningful=True,
        task=spec.task,
        build=build,
        detail="Weights from the uploaded file: checked before building (arguments, size, "
        "every key and shape, finite values).",
    )
