"""A finished run's checkpoint metadata. The format itself is :mod:`explorer.models.checkpoint`
(a checkpoint belongs to no training run; reading and writing live next to the weights)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from explorer.models.checkpoint import CheckpointMeta, save_checkpoint


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


def checkpoint_of(result: Any, meta: CheckpointMeta | None = None) -> bytes:
    """A finished run's checkpoint (``meta``: its metadata, :func:`meta_from_result` if None). A
    fine-tuned imported model's (``result.spec_json``) also holds its trained spec, as the
    import's own download does, so it reloads anywhere: its ``own-`` key exists only in the
    process that made it."""
    meta = meta or meta_from_result(result)
    if not getattr(result, "spec_json", ""):
        return save_checkpoint(result.model, meta)
    from explorer.models.spec import ModelSpec
    from explorer.models.spec_modules import SPEC_ARCH, save_spec_checkpoint

    spec = ModelSpec.from_json(result.spec_json)
    scale = float(result.metrics.get("pixel_scale", 1.0))
    # the keys the import's reader takes (title, the kind of source, the pixels the model expects)
    settings = {**meta.settings, "title": spec.title, "source": "fine-tuned"}
    settings["pixel_range"] = [0.0, scale]
    meta = replace(meta, arch=SPEC_ARCH, build={}, settings=settings)
    return save_spec_checkpoint(result.model, spec, meta)
