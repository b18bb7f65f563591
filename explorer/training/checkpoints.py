"""A finished run's checkpoint metadata. The format itself is :mod:`explorer.models.checkpoint`
(a checkpoint belongs to no training run; reading and writing live next to the weights)."""

from __future__ import annotations

from typing import Any

from explorer.models.checkpoint import CheckpointMeta


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
