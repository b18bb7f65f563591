"""Where weights come from: torchvision's ImageNet files, the bundled checkpoints, uploads.

Offline first: ImageNet weights are read from torch's hub cache (``$TORCH_HOME``) and
downloaded only when the caller asks for it. Every failure is a :class:`WeightsError`
subclass with a message for the page; nothing here unpickles untrusted data
(``torch.load(weights_only=True)``, safetensors for everything the project writes).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from explorer.models.catalog import get_spec
from explorer.models.catalog_types import ArchSpec

# The one error hierarchy and strict loader live with the checkpoint format; re-exported here.
from explorer.models.checkpoint import CheckpointMeta, model_from_checkpoint
from explorer.models.checkpoint import CheckpointMismatchError as CheckpointMismatchError
from explorer.models.checkpoint import WeightsError as WeightsError
from explorer.models.checkpoint import load_state_strict as load_state_strict
from explorer.models.download import (
    DEFAULT_TIMEOUT_S,
    DownloadError,
    Progress,
    download_file,
    mirrored,
)

ASSETS = Path(__file__).resolve().parents[2] / "assets"
BUNDLED_DIR = ASSETS / "weights"


class WeightsUnavailableError(WeightsError):
    """The weights are neither cached nor downloadable right now (e.g. offline)."""


def _weights_enum(spec: ArchSpec):
    if spec.weights is None:
        raise WeightsUnavailableError(
            f"{spec.title} has no published ImageNet weights in torchvision."
        )
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
            download_pretrained(spec)
        except DownloadError as err:
            raise WeightsUnavailableError(
                f"Could not download the ImageNet weights of {spec.title}: {err} "
                f"Without a network, copy {path.name} into {path.parent}."
            ) from err
        return load_pretrained(spec)
    else:
        raise WeightsUnavailableError(
            f"The ImageNet weights of {spec.title} are not in the local cache ({path}). "
            "Download them (about {:.0f} MB) when a network is available, or use another weight source.".format(
                weights.meta.get("_file_size", 0)
            )
        )
    model = spec.build()
    if not any(k.startswith("aux") for k in model.state_dict()):
        state = {
            k: v for k, v in state.items() if not k.startswith("aux")
        }  # GoogLeNet's training heads
    load_state_strict(model, state)
    if spec.key == "googlenet":
        model.transform_input = True  # torchvision's weights expect its input re-normalisation
    return model.eval()


def download_pretrained(
    spec: ArchSpec | str, *, progress: Progress | None = None, timeout: float = DEFAULT_TIMEOUT_S
) -> Path:
    """Download the ImageNet weights of a catalog entry into torch's hub cache; its path.

    Streamed and hash-checked (explorer.models.download): the cache gets the file only when it
    is whole and right; ``progress(bytes, total)`` follows the transfer. Cached: no request.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    weights = _weights_enum(spec)
    path = pretrained_cache_path(spec)
    if path.is_file():
        return path
    return download_file(mirrored(weights.url), path.parent, progress=progress, timeout=timeout)


def bundled_path(key: str) -> Path:
    return BUNDLED_DIR / f"{key}.safetensors"


def bundled_keys() -> list[str]:
    """Catalog keys that have bundled weights in assets/weights."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.safetensors")) if BUNDLED_DIR.is_dir() else []


def load_bundled(key: str) -> tuple[nn.Module, CheckpointMeta]:
    """A compact model with the weights the project trained and ships (see scripts/).

    Read by the same validated reader as an upload, and refused if saved for another entry.
    """
    path = bundled_path(key)
    if not path.is_file():
        raise WeightsUnavailableError(
            f"No bundled weights for {get_spec(key).title} (expected {path.name})."
        )
    return model_from_checkpoint(path.read_bytes(), arch=key)
