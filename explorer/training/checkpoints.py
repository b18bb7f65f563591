"""A finished run as a checkpoint: its metadata. The format itself is explorer.models.checkpoint.

The names below are re-exported for older imports; new code imports
``explorer.models.checkpoint`` directly (a checkpoint belongs to no training run).
"""

from __future__ import annotations

from typing import Any

from explorer.models.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    CheckpointError,
    CheckpointMeta,
    load_checkpoint,
    load_state_strict,
    model_from_checkpoint,
    read_meta,
    save_checkpoint,
)

__all__ = [
    "MAX_CHECKPOINT_BYTES", "CheckpointError", "CheckpointMeta", "load_checkpoint", "load_state_strict",
    "meta_from_result", "model_from_checkpoint", "read_meta", "save_checkpoint",
]  # fmt: skip


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
