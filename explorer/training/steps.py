"""The pieces of one training step, shared by ``fit``, transfer learning and the benchmarks.

The optimiser and the learning-rate schedule built from :class:`TrainSettings`, batch
augmentation, the loss with its count of right answers (one logit + BCE for binary tasks, softmax
cross-entropy otherwise), mixed precision, and evaluation with a confusion matrix. Kept apart from
the loop in ``fit.py`` so that each can be read (and benchmarked) on its own.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from explorer.training.settings import TrainSettings

EVAL_BATCH = 256


def make_optimizer(
    model: nn.Module, s: TrainSettings, param_groups: list[dict[str, Any]] | None = None
) -> torch.optim.Optimizer:
    """The optimiser over the trainable parameters (frozen ones are left out), or over
    ``param_groups`` (e.g. a backbone at a lower learning rate than a new head)."""
    params: Any = (
        param_groups
        if param_groups is not None
        else [p for p in model.parameters() if p.requires_grad]
    )
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
    raise ValueError(f"Unknown optimiser {s.optimizer!r}")


def make_scheduler(
    opt: torch.optim.Optimizer, s: TrainSettings, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Per-step schedule: None (constant), cosine decay to zero, or one-cycle (peak = lr)."""
    if s.schedule == "constant":
        return None
    if s.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))
    if s.schedule == "onecycle":
        # Each group peaks at its own learning rate (a backbone at a fraction of the head's).
        max_lr = [g["lr"] for g in opt.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=max_lr, total_steps=max(total_steps, 1)
        )
    raise ValueError(f"Unknown schedule {s.schedule!r}")


def augment_batch(x: torch.Tensor, hflip: bool, g: torch.Generator | None = None) -> torch.Tensor:
    """Random shifts of up to 1/8 of the side (reflect padding) and optional flips, per sample.

    Vectorised: one gather for all crops, one ``where`` for the flips.
    """
    n, _, h, w = x.shape
    pad = max(1, h // 8)
    xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")  # N x C x (H+2p) x (W+2p)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=g).to(x.device)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=g).to(x.device)
    rows = (torch.arange(h, device=x.device)[None] + oy[:, None])[:, None, :, None]  # N x 1 x H x 1
    cols = (torch.arange(w, device=x.device)[None] + ox[:, None])[:, None, None, :]  # N x 1 x 1 x W
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    out = xp[batch, chan, rows, cols]  # N x C x H x W
    if hflip:
        flip = (torch.rand(n, generator=g) < 0.5).to(x.device)[:, None, None, None]
        out = torch.where(flip, out.flip(-1), out)
    return out


def loss_and_correct(
    logits: torch.Tensor, y: torch.Tensor, binary: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and the number of right answers (a device tensor, no sync)."""
    logits = logits.float()
    if binary:  # N x 1 logits, sigmoid inside the loss (stable form of Keras' sigmoid + BCE)
        z = logits.squeeze(1)
        loss = F.binary_cross_entropy_with_logits(z, y.float())
        correct = ((z > 0).long() == y).sum()
    else:  # N x K logits
        loss = F.cross_entropy(logits, y)
        correct = (logits.argmax(1) == y).sum()
    return loss, correct


def predict(logits: torch.Tensor, binary: bool) -> torch.Tensor:
    return (logits.squeeze(1) > 0).long() if binary else logits.argmax(1)


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """bf16 autocast on ``device`` when ``enabled`` (a no-op context otherwise)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, binary: bool, amp: bool = False
) -> tuple[float, float, torch.Tensor]:
    """Mean loss, accuracy and the predictions of ``model`` on (x, y), in eval mode."""
    was_training = model.training
    model.eval()
    device = x.device
    loss_sum = torch.zeros((), device=device)
    preds = []
    try:
        for i in range(0, len(x), EVAL_BATCH):
            xb, yb = x[i : i + EVAL_BATCH], y[i : i + EVAL_BATCH]
            with autocast(device, amp):
                logits = model(xb)
            loss, _ = loss_and_correct(logits, yb, binary)
            loss_sum += loss * len(xb)
            preds.append(predict(logits.float(), binary))
    finally:
        model.train(was_training)
    pred = torch.cat(preds)
    acc = (pred == y).float().mean()
    loss_v, acc_v = torch.stack([loss_sum / len(x), acc]).tolist()
    return loss_v, acc_v, pred


def confusion_matrix(y: torch.Tensor, pred: torch.Tensor, k: int) -> torch.Tensor:
    """K x K counts: rows are true classes, columns predicted ones."""
    return torch.bincount(y * k + pred, minlength=k * k).reshape(k, k).cpu()
