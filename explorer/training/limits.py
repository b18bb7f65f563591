"""Per-job memory limit: how much one training step will need, estimated before anything exists.

The model is built on the ``meta`` device (shapes, no storage) and one forward pass there
measures every layer's output; from that, one step costs about

    fixed      = parameters x 4 bytes x (weights + gradients + optimiser state per weight)
    per image  = (input + every layer's output) x 4 bytes x 2   (kept for backward, and its gradient)
    step       = fixed + batch x per image

A setting whose step exceeds ``EXPLORER_JOB_MEMORY_MB`` (default 2048) is refused before the
job starts, with the largest batch that fits. The factor 2 is deliberately generous: measured
peaks on CPU stay below the estimate (see docs/architecture.md, "Jobs").
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

log = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 2048
OPTIMIZER_STATES = {"sgd": 1, "adam": 2, "adamw": 2}  # tensors kept per weight by the optimiser
BYTES = 4  # float32


def memory_limit_mb() -> float:
    """The per-job memory limit in MB (``EXPLORER_JOB_MEMORY_MB``; bad values fall back)."""
    raw = os.environ.get("EXPLORER_JOB_MEMORY_MB", str(DEFAULT_MEMORY_MB))
    try:
        return max(16.0, float(raw))
    except ValueError:
        _warn_bad_limit(raw)
        return float(DEFAULT_MEMORY_MB)


@lru_cache(maxsize=8)
def _warn_bad_limit(raw: str) -> None:  # once per bad value: settings are checked on every rerun
    log.warning("EXPLORER_JOB_MEMORY_MB=%r is not a number: using %s MB", raw, DEFAULT_MEMORY_MB)


@dataclass(frozen=True)
class StepMemory:
    """Estimated bytes of one training step: a fixed part and a part per image of the batch."""

    parameters: int
    fixed_bytes: int
    per_image_bytes: int

    def total(self, batch: int) -> int:
        return self.fixed_bytes + batch * self.per_image_bytes

    def largest_batch(self, limit_bytes: float) -> int:
        """The largest batch whose step fits in ``limit_bytes`` (0 if not even one image fits)."""
        return max(int((limit_bytes - self.fixed_bytes) // max(self.per_image_bytes, 1)), 0)


def step_memory(
    model: nn.Module, input_shape: tuple[int, int, int], optimizer: str = "adam"
) -> StepMemory:
    """Estimate one step of ``model`` (on any device; a meta model costs nothing) for C x H x W input."""
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    fixed = BYTES * (params + trainable * (1 + OPTIMIZER_STATES.get(optimizer, 2)))
    outputs = [0]

    def count(_module: nn.Module, _inp: object, out: object) -> None:
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                outputs[0] += t.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            device = next(iter(model.parameters()), torch.empty(0, device="meta")).device
            model(torch.zeros(1, *input_shape, device=device))  # 1 x C x H x W
    finally:
        for h in handles:
            h.remove()
    per_image = BYTES * 2 * (outputs[0] + int(torch.Size(input_shape).numel()))
    return StepMemory(params, fixed, per_image)


@lru_cache(maxsize=256)
def model_step_memory(arch: str, dataset: str, optimizer: str = "adam") -> StepMemory:
    """The estimate for a catalog model sized for a dataset, built on the meta device."""
    from explorer.data.datasets import get_dataset_info
    from explorer.models import get_spec

    info = get_dataset_info(dataset)
    c, h, _ = info.input_shape
    num_classes = 1 if info.task == "binary" else len(info.classes)
    with torch.device("meta"):
        model = get_spec(arch).build(in_channels=c, num_classes=num_classes, image_size=h)
    return step_memory(model, tuple(info.input_shape), optimizer)


@lru_cache(maxsize=64)
def imagenet_transfer_memory(arch: str, num_classes: int, optimizer: str, mode: str) -> StepMemory:
    """The estimate for fine-tuning ``arch``'s ImageNet definition (new head, 3 x 224 x 224 input)
    in freeze ``mode``: frozen weights need no gradient or optimiser state, and with only the head
    training nothing below it is kept for a backward pass (activations counted once, not twice)."""
    from explorer.models import get_spec
    from explorer.training.freezing import apply_freeze

    with torch.device("meta"):
        model = get_spec(arch).build(num_classes=num_classes)
    apply_freeze(model, mode)
    est = step_memory(model, (3, 224, 224), optimizer)
    if mode == "head":
        est = StepMemory(est.parameters, est.fixed_bytes, est.per_image_bytes // 2)
    return est


def memory_problems(
    arch: str,
    dataset: str,
    optimizer: str,
    batch_size: int,
    train_samples: int,
    estimate: StepMemory | None = None,
) -> list[str]:
    """Sentences refusing a setting whose training step would not fit the per-job memory limit
    (``estimate``: a step other than a catalog model trained on ``dataset``, e.g. a transfer)."""
    limit_mb = memory_limit_mb()
    est = estimate or model_step_memory(arch, dataset, optimizer)
    batch = min(batch_size, train_samples)
    mb = 1024 * 1024
    if est.fixed_bytes > limit_mb * mb:
        return [
            f"This model needs about {est.fixed_bytes / mb:,.0f} MB for its weights, gradients and "
            f"optimiser state alone, above the per-job memory limit of {limit_mb:,.0f} MB "
            "(EXPLORER_JOB_MEMORY_MB): choose a smaller model."
        ]
    if est.total(batch) <= limit_mb * mb:
        return []
    return [
        f"A batch of {batch} needs about {est.total(batch) / mb:,.0f} MB per training step "
        f"({est.per_image_bytes / mb:.2f} MB per image), above the per-job memory limit of "
        f"{limit_mb:,.0f} MB (EXPLORER_JOB_MEMORY_MB): the largest batch size allowed is "
        f"{est.largest_batch(limit_mb * mb)}."
    ]
