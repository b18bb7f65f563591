"""Where weights come from: torchvision's ImageNet files, the bundled checkpoints, uploads.

Offline first: ImageNet weights are read from torch's hub cache (``$TORCH_HOME``) and
downloaded only when the caller asks for it. Every failure is a :class:`WeightsError`
subclass with a message for the page; nothing here unpickles untrusted data
(``torch.load(weights_only=True)``, safetensors for everything the project writes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.models.catalog import ArchSpec, get_spec

ASSETS = Path(__file__).resolve().parents[2] / "assets"
BUNDLED_DIR = ASSETS / "weights"


class WeightsError(RuntimeError):
    """Base class: weights could not be provided; the message is meant for the user."""


class WeightsUnavailableError(WeightsError):
    """The weights are neither cached nor downloadable right now (e.g. offline)."""


class CheckpointMismatchError(WeightsError):
    """A state dict does not fit the architecture."""


def _weights_enum(spec: ArchSpec):  # noqa: ANN202
    if spec.weights is None:
        raise WeightsUnavailableError(f"{spec.title} has no published ImageNet weights in torchvision.")
    from torchvision.models import get_weight

    return get_weight(spec.weights)


def pretrained_cache_path(spec: ArchSpec) -> Path:
    """Where torchvision keeps (or would keep) this entry's ImageNet weights."""
    weights = _weights_enum(spec)
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def pretrained_available(spec: ArchSpec) -> bool:
    """True when the ImageNet weights are already on disk (no network needed)."""
    return spec.weights is not None and pretrained_cache_path(spec).is_file()


def load_pretrained(spec: ArchSpec | str, *, download: bool = False) -> nn.Module:
    """The model with torchvision's ImageNet weights, from the cache or (if asked) the network."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    weights = _weights_enum(spec)
    path = pretrained_cache_path(spec)
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a truncated download, a foreign file
            raise WeightsUnavailableError(
                f"The cached ImageNet weights at {path} could not be read ({type(err).__name__}). "
                "Delete the file and download it again."
            ) from err
    elif download:
        try:
            state = weights.get_state_dict(progress=False, check_hash=True)
        except Exception as err:  # URLError, socket timeouts, hash mismatch
            raise WeightsUnavailableError(
                f"Could not download the ImageNet weights of {spec.title} ({err.__class__.__name__}: {err}). "
                f"Without a network, copy {path.name} into {path.parent}."
            ) from err
    else:
        raise WeightsUnavailableError(
            f"The ImageNet weights of {spec.title} are not in the local cache ({path}). "
            "Download them (about {:.0f} MB) when a network is available, or use another weight source.".format(
                weights.meta.get("_file_size", 0)
            )
        )
    model = spec.build()
    if not any(k.startswith("aux") for k in model.state_dict()):
        state = {k: v for k, v in state.items() if not k.startswith("aux")}  # GoogLeNet's training heads
    load_state_strict(model, state)
    if spec.key == "googlenet":
        model.transform_input = True  # torchvision's weights expect its input re-normalisation
    return model.eval()


def load_state_strict(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Load ``state_dict`` strictly; a mismatch names the first bad key and both shapes."""
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state_dict:
            raise CheckpointMismatchError(
                f"The checkpoint does not fit this architecture: key {key!r} (shape "
                f"{tuple(tensor.shape)}) is missing from the checkpoint."
            )
        got = state_dict[key]
        if tuple(got.shape) != tuple(tensor.shape):
            raise CheckpointMismatchError(
                f"The checkpoint does not fit this architecture: {key!r} has shape {tuple(got.shape)} "
                f"in the checkpoint but {tuple(tensor.shape)} in the model."
            )
    extra = [k for k in state_dict if k not in expected]
    if extra:
        raise CheckpointMismatchError(
            f"The checkpoint does not fit this architecture: it has an unexpected key {extra[0]!r} "
            f"(shape {tuple(state_dict[extra[0]].shape)}) that the model does not have."
        )
    model.load_state_dict(state_dict, strict=True)


def bundled_path(key: str) -> Path:
    return BUNDLED_DIR / f"{key}.safetensors"


def bundled_keys() -> list[str]:
    """Catalog keys that have bundled weights in assets/weights."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.safetensors")) if BUNDLED_DIR.is_dir() else []


def load_bundled(key: str) -> tuple[nn.Module, Any]:
    """A compact model with the weights the project trained and ships (see scripts/)."""
    from explorer.training.checkpoints import load_checkpoint

    path = bundled_path(key)
    if not path.is_file():
        raise WeightsUnavailableError(f"No bundled weights for {get_spec(key).title} (expected {path.name}).")
    state, meta = load_checkpoint(path.read_bytes())
    model = get_spec(meta.arch).build(**meta.build)
    load_state_strict(model, state)
    return model.eval(), meta
