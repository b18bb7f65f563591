"""What trains in transfer learning: the course's three choices, as ``freeze`` modes.

- ``head``: the feature extractor is frozen; only the new classifier (the last ``Linear``) trains.
- ``last_stage``: the last convolutional block and everything above it train; the rest is frozen.
- ``all``: everything trains (fine-tuning), optionally the backbone at a lower learning rate.

Frozen batch-norm layers stay in inference mode (their running statistics are part of the frozen
features and do not drift with the new data), as Keras does for ``trainable = False``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from explorer.training.transfer_weights import TransferError, head_name, owner_of

FREEZE_MODES = ("head", "last_stage", "all")  # one list: the settings' checks import it from here
FREEZE_TITLES = {
    "head": "Train the new head only (feature extractor frozen)",
    "last_stage": "Unfreeze the last stage (last conv block and the classifier)",
    "all": "Fine-tune everything",
}


class _FrozenStatsBatchNorm(nn.BatchNorm2d):
    """A batch-norm layer that stays in inference mode whatever ``train()`` says (same state)."""

    def train(self, mode: bool = True) -> _FrozenStatsBatchNorm:
        return super().train(False)


def last_stage_start(model: nn.Module) -> str:
    """The top-level child that holds the last convolution: it and everything after it form
    the "last stage" (for a flat Sequential: the last conv layer and the classifier)."""
    children = list(model.named_children())
    start = None
    for name, child in children:
        if isinstance(child, nn.Conv2d) or any(isinstance(m, nn.Conv2d) for m in child.modules()):
            start = name
    return start if start is not None else children[-1][0]


def trainable_names(model: nn.Module, mode: str) -> list[str]:
    """Names of the parameters that train in ``mode``."""
    if mode not in FREEZE_MODES:
        raise TransferError(
            f"Unknown freeze mode {mode!r}: choose one of {', '.join(FREEZE_MODES)}."
        )
    names = [n for n, _ in model.named_parameters()]
    if mode == "all":
        return names
    if mode == "head":
        head = head_name(model)
        return [n for n in names if owner_of(n) == head]
    order = [name for name, _ in model.named_children()]
    first = order.index(last_stage_start(model))
    top = set(order[first:])
    return [n for n in names if n.split(".", 1)[0] in top]


def apply_freeze(model: nn.Module, mode: str) -> int:
    """Set ``requires_grad`` for ``mode`` and keep fully frozen batch norms in inference mode;
    returns the number of trainable parameters."""
    keep = set(trainable_names(model, mode))
    for name, p in model.named_parameters():
        p.requires_grad_(name in keep)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            frozen = all(not p.requires_grad for p in module.parameters(recurse=False))
            module.__class__ = _FrozenStatsBatchNorm if frozen else nn.BatchNorm2d
    model.train(model.training)
    return trainable_parameters(model)


def unfreeze(model: nn.Module) -> nn.Module:
    """Undo :func:`apply_freeze`: every parameter trainable, batch norms ordinary again."""
    for p in model.parameters():
        p.requires_grad_(True)
    for module in model.modules():
        if isinstance(module, _FrozenStatsBatchNorm):
            module.__class__ = nn.BatchNorm2d
    return model


def trainable_parameters(model: nn.Module) -> int:
    """The number of parameters that the optimiser will change."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_by_mode(model: nn.Module) -> dict[str, int]:
    """Trainable parameters in each freeze mode (for the page's table), without changing the model."""
    sizes = dict((n, p.numel()) for n, p in model.named_parameters())
    return {mode: sum(sizes[n] for n in trainable_names(model, mode)) for mode in FREEZE_MODES}


def param_groups(model: nn.Module, lr: float, backbone_factor: float = 1.0) -> list[dict[str, Any]]:
    """Optimiser groups: the head at ``lr`` first, the other trainable parameters at
    ``lr * backbone_factor`` (a smaller step keeps what the backbone learnt)."""
    head = head_name(model)
    head_params = [
        p for n, p in model.named_parameters() if p.requires_grad and owner_of(n) == head
    ]
    body = [p for n, p in model.named_parameters() if p.requires_grad and owner_of(n) != head]
    groups = [{"params": head_params, "lr": lr}]
    if body:
        groups.append({"params": body, "lr": lr * backbone_factor})
    return groups
