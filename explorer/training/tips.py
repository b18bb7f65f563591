"""The course's tips for a first CNN, each made demonstrable (the Course page links the proofs).

"Normalise the images" is an experiment: the course's Keras CNN trained on pixels in [0, 1]
(divided by 255, as every dataset here is) against the same pixels left at 0-255.
"Use small filters" and "avoid too many dense layers" are read off the architectures themselves
(:func:`dense_share`: the share of a network's parameters in its dense layers).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class Diverged:
    """What a run that diverged returns inside a comparison: its metrics say at which step, so the
    comparison goes on with its other runs (a diverging arm is a result here, not an error)."""

    metrics: dict[str, float]
    message: str


def run_scaled(
    settings: Any,
    scale: float = 255.0,
    should_stop: Callable[[], bool] | None = None,
) -> Generator[Any, None, Any]:
    """Train ``settings.model`` on its dataset with every image multiplied by ``scale`` (255: the
    raw 0-255 pixel values instead of [0, 1]); the events and result of ``run_training``, or a
    :class:`Diverged` when the loss became NaN or infinite."""
    from explorer.data.datasets import Splits, load_dataset
    from explorer.training.events import Preparing
    from explorer.training.fit import DivergedError, run_training

    settings.check()
    yield Preparing("Preparing the data...")
    data = load_dataset(
        settings.dataset,
        seed=settings.seed,
        difficulty=settings.difficulty,
        sizes=(settings.train_samples, settings.val_samples, max(settings.val_samples, 500)),
    )
    scaled = {k: getattr(data, k) * scale for k in ("x_train", "x_val", "x_test")}
    data = Splits(
        data.info,
        y_train=data.y_train,
        y_val=data.y_val,
        y_test=data.y_test,
        meta=dict(data.meta),
        **scaled,
    )
    steps = 0
    gen = run_training(settings, should_stop, data=data)
    try:
        while True:
            event = next(gen)
            steps = max(steps, int(getattr(event, "step", 0) or 0))
            yield event
    except StopIteration as done:
        return done.value
    except DivergedError as err:
        yield Preparing(f"Diverged: {err}")
        return Diverged({"diverged_after_step": float(steps)}, str(err))


def dense_share(model: nn.Module) -> tuple[int, int]:
    """(parameters of the dense layers, all parameters) of ``model`` (works on the meta device)."""
    dense = sum(
        p.numel()
        for m in model.modules()
        if isinstance(m, nn.Linear)
        for p in m.parameters(recurse=False)
    )
    return dense, sum(p.numel() for p in model.parameters())
