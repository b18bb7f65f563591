"""Effective receptive field by gradient, and top-k predictions with class names.

The theoretical field (``explorer.probe.summary``) says which input pixels *can* reach a unit;
the effective field says how much each one *does*: the gradient of the unit with respect to
the input (Luo et al., 2016, "Understanding the effective receptive field in deep CNNs").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from explorer.probe.capture import hooked


def effective_receptive_field(
    model: nn.Module,
    x: torch.Tensor,
    layer: str,
    row: int,
    col: int,
    channel: int | None = None,
) -> np.ndarray:
    """|d unit / d input| summed over input channels: an H x W float32 map.

    The unit is ``layer``'s output at (row, col) for ``channel``, or summed over all channels
    when ``channel`` is None. Gradients flow only to the input (no parameter grads are kept).
    Raises IndexError for a position or channel outside the map.
    """
    was_training = model.training
    model.eval()
    xi = x.detach().clone().requires_grad_(True)  # 1 x C x H x W
    try:
        with torch.enable_grad(), hooked(model, [layer], detach=False) as store:
            model(xi)
            out = store[layer]
            if out.dim() != 4:
                raise ValueError(
                    f"Layer {layer!r} is not a feature map (shape {tuple(out.shape)})."
                )
            _, c, h, w = out.shape
            if not (0 <= row < h and 0 <= col < w):
                raise IndexError(f"Unit ({row}, {col}) is outside the {h} x {w} map of {layer!r}.")
            if channel is not None and not 0 <= channel < c:
                raise IndexError(f"Channel {channel} is outside 0..{c - 1} of {layer!r}.")
            unit = out[0, :, row, col].sum() if channel is None else out[0, channel, row, col]
            (grad,) = torch.autograd.grad(unit, xi)
    finally:
        model.train(was_training)
    return grad[0].abs().sum(0).float().cpu().numpy()  # H x W


def support_box(grad: np.ndarray, eps: float = 0.0) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), inclusive, of the positions where ``grad`` > eps; None if none."""
    rows = np.flatnonzero((grad > eps).any(axis=1))
    cols = np.flatnonzero((grad > eps).any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet category names that torchvision ships with its weights' metadata."""
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def top_k(
    logits: np.ndarray | torch.Tensor,
    classes: Sequence[str] | None = None,
    k: int = 5,
    task: str = "multiclass",
) -> list[Prediction]:
    """The k most probable classes: softmax for multiclass, sigmoid of one logit for binary."""
    z = torch.as_tensor(np.asarray(logits, dtype=np.float32)).reshape(-1)
    if task == "binary" or z.numel() == 1:
        p1 = float(torch.sigmoid(z[0]))
        names = (
            list(classes) if classes is not None and len(classes) == 2 else ["class 0", "class 1"]
        )
        preds = [Prediction(1, names[1], p1), Prediction(0, names[0], 1.0 - p1)]
        return sorted(preds, key=lambda p: -p.probability)[:k]
    probs = torch.softmax(z, dim=0)
    values, idx = probs.topk(min(k, probs.numel()))
    out = []
    for v, i in zip(values.tolist(), idx.tolist(), strict=True):
        label = classes[i] if classes is not None and i < len(classes) else f"class {i}"
        out.append(Prediction(int(i), str(label), float(v)))
    return out
