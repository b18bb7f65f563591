"""Checkpoints: safetensors weights plus an "explorer" JSON entry in the file's metadata.

Format (docs/interfaces.md): the safetensors header's string metadata holds key ``explorer``
= JSON of :class:`CheckpointMeta` (``arch``, ``build``, ``classes``, ``dataset``, ``settings``,
``metrics``, ``format``). Safetensors holds only raw tensors, so loading an untrusted file
never runs code (no pickle). The same format is used for the bundled weights in assets/.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT_VERSION = 1
META_KEY = "explorer"
MAX_CHECKPOINT_BYTES = 200 * 2**20  # an upload larger than this is refused before parsing


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit; the message says why."""


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about itself (JSON in the safetensors metadata)."""

    arch: str
    build: dict[str, Any] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    dataset: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CheckpointMeta:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CheckpointError(f"The checkpoint's 'explorer' metadata is not valid JSON ({err}).") from None
        if not isinstance(data, dict) or not isinstance(data.get("arch"), str):
            raise CheckpointError("The checkpoint's metadata does not name its architecture ('arch').")
        if int(data.get("format", 0)) > FORMAT_VERSION:
            raise CheckpointError(
                f"This checkpoint uses format {data['format']}, newer than this app reads ({FORMAT_VERSION})."
            )
        try:
            return cls(
                arch=data["arch"],
                build=dict(data.get("build") or {}),
                classes=[str(c) for c in data.get("classes") or []],
                dataset=str(data.get("dataset") or ""),
                settings=dict(data.get("settings") or {}),
                metrics=dict(data.get("metrics") or {}),
                format=int(data.get("format", FORMAT_VERSION)),
            )
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"The checkpoint's metadata has a field of the wrong type ({err}).") from None


def _state_for_saving(model_or_state: nn.Module | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    # safetensors wants contiguous CPU tensors that do not share memory.
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def save_checkpoint(model: nn.Module | dict[str, torch.Tensor], meta: CheckpointMeta) -> bytes:
    """The checkpoint as bytes (for a download button or a file)."""
    from safetensors.torch import save

    return save(_state_for_saving(model), metadata={META_KEY: meta.to_json()})


def save_checkpoint_file(model: nn.Module | dict[str, torch.Tensor], meta: CheckpointMeta, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(save_checkpoint(model, meta))
    return path


def read_meta(data: bytes) -> CheckpointMeta:
    """Only the metadata (reads the header, not the tensors)."""
    return load_checkpoint(data)[1]


def load_checkpoint(data: bytes) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Tensors and metadata of a checkpoint; :class:`CheckpointError` for anything unreadable."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    if not data:
        raise CheckpointError("The checkpoint file is empty.")
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"The checkpoint is {len(data) / 2**20:.0f} MB; the limit is {MAX_CHECKPOINT_BYTES // 2**20} MB."
        )
    try:
        meta_raw = _header_metadata(data)
        state = load(data)
    except (SafetensorError, ValueError, OSError) as err:
        raise CheckpointError(f"This is not a readable safetensors file ({err}).") from None
    if META_KEY not in meta_raw:
        raise CheckpointError(
            "This safetensors file has no 'explorer' metadata, so the app cannot tell which "
            "architecture it belongs to. Save checkpoints from the Training page."
        )
    return state, CheckpointMeta.from_json(meta_raw[META_KEY])


def load_checkpoint_file(path: Path | str) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    return load_checkpoint(Path(path).read_bytes())


def _header_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors header (8-byte little-endian length, then JSON)."""
    if len(data) < 8:
        raise ValueError("file shorter than a safetensors header")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data):
        raise ValueError("header length out of range")
    header = json.loads(data[8 : 8 + n])
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("metadata is not a mapping")
    return {str(k): str(v) for k, v in meta.items()}


def model_from_checkpoint(data: bytes) -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the catalog architecture named in the checkpoint and load its weights strictly."""
    from explorer.models import get_spec

    state, meta = load_checkpoint(data)
    try:
        spec = get_spec(meta.arch)
    except KeyError as err:
        raise CheckpointError(str(err.args[0])) from None
    try:
        model = spec.build(**meta.build)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"Cannot build {meta.arch} with {meta.build}: {err}") from None
    load_state_strict(model, state)
    return model.eval(), meta


def load_state_strict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` into ``model`` strictly (the lead's one implementation in
    ``explorer.models.weights``); a mismatch becomes a :class:`CheckpointError` with the same
    message, naming the first bad key and both shapes."""
    from explorer.models.weights import CheckpointMismatchError
    from explorer.models.weights import load_state_strict as _strict

    try:
        _strict(model, state)
    except CheckpointMismatchError as err:
        raise CheckpointError(str(err)) from None


def meta_from_result(result: Any) -> CheckpointMeta:
    """Checkpoint metadata for a :class:`explorer.training.fit.FitResult` of ``run_training``."""
    settings = result.settings.to_dict() if result.settings is not None else {}
    return CheckpointMeta(
        arch=result.arch or settings.get("model", ""),
        build=dict(result.build),
        classes=list(result.classes),
        dataset=result.dataset or settings.get("dataset", ""),
        settings=settings,
        metrics=dict(result.metrics),
    )
