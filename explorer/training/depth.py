"""Deep plain nets against their residual twins: two effects that the course must not confuse.

1. **Vanishing gradients.** With PyTorch's default initialisation and no batch norm, the gradient
   that reaches the first layer of the 20-layer plain net is about 1e-7 of the last layer's, at
   initialisation: its first layers cannot learn. He initialisation alone, batch norm, or the
   shortcuts bring the ratio near 1 (:func:`init_gradient_table`, measured, not typed).
2. **Degradation** (He et al. 2016, sec. 4.1). Their plain nets use batch norm and their gradients
   are healthy, yet the deeper plain net trains *worse* than the shallower one, "unlikely to be
   caused by vanishing gradients": an optimisation difficulty, which the residual twin removes.

:func:`run_depth` trains one such net (depth, shortcuts, batch norm, initialisation) as a job
target for the Experiments page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Any, Literal

import torch
from torch import nn

Init = Literal["default", "he"]

HE2016_SEC41 = (
    "We argue that this optimization difficulty is unlikely to be caused by vanishing gradients. These "
    "plain networks are trained with BN, which ensures forward propagated signals to have non-zero "
    "variances. We also verify that the backward propagated gradients exhibit healthy norms with BN. "
    "So neither forward nor backward signals vanish."
)
HE2016 = "He, Zhang, Ren, Sun. Deep residual learning for image recognition. CVPR 2016, sec. 4.1."


@torch.no_grad()
def he_init_(model: nn.Module, seed: int) -> nn.Module:
    """He et al.'s (2015) initialisation, as torchvision's ResNet: every convolution N(0, 2 / fan_out),
    zero conv biases; dense layers and batch norm keep torch's rule. Drawn from a local generator."""
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=g)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def depth_model(
    blocks: int = 9,
    *,
    residual: bool = False,
    batch_norm: bool = False,
    init: Init = "default",
    seed: int = 0,
    in_channels: int = 3,
    num_classes: int = 10,
    image_size: int = 32,
) -> nn.Module:
    """The plain net (or its residual twin) with 2 x ``blocks`` + 2 weight layers, seeded."""
    from explorer.models import cnn
    from explorer.models.init import build_seeded

    builder = cnn.residual_deep if residual else cnn.plain_deep
    model = build_seeded(
        lambda: builder(in_channels, num_classes, image_size, blocks=blocks, batch_norm=batch_norm),
        seed,
    )
    return he_init_(model, seed) if init == "he" else model


def first_last_gradient_ratio(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Norm of the loss gradient at the first weight layer over the norm at the last one, for one
    batch (training mode, as in the first step of training)."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    model.train()
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    first, last = (float(w.grad.norm()) for w in (weights[0], weights[-1]))
    model.zero_grad()
    return first / last if last > 0 else float("inf")


# (label, blocks, residual, batch norm, init) of the rows of the table, in teaching order.
TABLE_ROWS: tuple[tuple[str, int, bool, bool, Init], ...] = (
    ("plain 20, default init, no BN", 9, False, False, "default"),
    ("plain 20, He init, no BN", 9, False, False, "he"),
    ("plain 20, He init + BN", 9, False, True, "he"),
    ("plain 56, He init + BN", 27, False, True, "he"),
    ("residual 20, default init, no BN", 9, True, False, "default"),
    ("residual 56, He init + BN", 27, True, True, "he"),
)


def regime(ratio: float) -> str:
    """'vanishing' below 1e-3, 'larger at the first layer (not vanishing)' above 100, else 'healthy'."""
    if ratio < 1e-3:
        return "vanishing"
    return "larger at the first layer (not vanishing)" if ratio > 1e2 else "healthy"


@functools.lru_cache(maxsize=2)
def init_gradient_table(seed: int = 0, batch: int = 64) -> tuple[dict[str, Any], ...]:
    """First-/last-layer gradient norm ratio at initialisation of each configuration of
    :data:`TABLE_ROWS`, on one batch of the printed digits (3 x 32 x 32). Small: a few forward and
    backward passes, computed once per process."""
    from explorer.data.datasets import load_dataset

    data = load_dataset("digits", seed=seed, sizes=(batch, 8, 8))
    x, y = data.x_train[:batch], data.y_train[:batch]
    rows = []
    for label, blocks, residual, bn, init in TABLE_ROWS:
        model = depth_model(
            blocks,
            residual=residual,
            batch_norm=bn,
            init=init,
            seed=seed,
            in_channels=x.shape[1],
            num_classes=len(data.classes),
            image_size=x.shape[-1],
        )
        ratio = first_last_gradient_ratio(model, x, y)
        rows.append(
            {
                "network": label,
                "first / last layer gradient norm": f"{ratio:.2g}",
                "regime": regime(ratio),
            }
        )
    return tuple(rows)


def run_depth(
    settings: Any,
    blocks: int = 9,
    residual: bool = False,
    batch_norm: bool = True,
    init: Init = "he",
    should_stop: Callable[[], bool] | None = None,
) -> Generator[Any, None, Any]:
    """Train one plain / residual net of this depth (``settings``: a TrainSettings for the dataset,
    optimiser and schedule); the events and result of :func:`explorer.training.fit.fit`."""
    from explorer.data.datasets import load_dataset
    from explorer.training.events import Preparing
    from explorer.training.fit import fit

    settings.check()
    yield Preparing("Preparing the data...")
    data = load_dataset(
        settings.dataset,
        seed=settings.seed,
        difficulty=settings.difficulty,
        sizes=(settings.train_samples, settings.val_samples, max(settings.val_samples, 500)),
    )
    c, h, _ = data.x_train.shape[1:]
    model = depth_model(
        blocks,
        residual=residual,
        batch_norm=batch_norm,
        init=init,
        seed=settings.seed,
        in_channels=c,
        num_classes=len(data.classes),
        image_size=h,
    )
    result = yield from fit(model, data, settings, should_stop=should_stop, arch=settings.model)
    result.model = result.model.cpu().eval()
    return result
