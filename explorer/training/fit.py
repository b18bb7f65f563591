"""``fit``: train a model on in-memory tensors, yielding progress events as it goes.

The loop is a generator so that any caller (a background job, a script, a notebook, a test)
decides what to do with the events; it knows nothing of the UI. Instrumentation is kept
cheap: losses and accuracies accumulate on the device and are read once per ``log_every``
steps together with the per-layer gradient norms (one ``torch._foreach_norm`` call, one
host transfer), and snapshots of filters and feature maps are taken about once a second.
Inputs are images in [0, 1] without mean/std normalisation, so a trained model takes the
same tensors the app shows. The loop itself (one run's state, steps, read-backs, snapshots and
evaluations) is :class:`explorer.training.loop.TrainingRun`; its errors are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer.data.datasets import Splits, load_dataset
from explorer.device import pick_device
from explorer.models.init import build_seeded
from explorer.training.events import Event, Preparing
from explorer.training.loop import (
    DivergedError,
    OutOfMemoryTrainingError,
    TrainingError,
    TrainingRun,
)
from explorer.training.settings import TrainSettings

# The errors a run stops with live beside the loop; callers import them from here.
__all__ = [
    "DivergedError",
    "FitResult",
    "OutOfMemoryTrainingError",
    "TrainingError",
    "build_model",
    "fit",
    "run_training",
]


@dataclass
class FitResult:
    """What a finished run leaves behind (the model is trained in place and returned here)."""

    model: nn.Module
    metrics: dict[str, float]
    classes: tuple[str, ...]
    stopped_early: bool
    settings: TrainSettings | None = None
    arch: str | None = None
    build: dict[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    # A model built from a declarative spec (a fine-tuned imported model): the spec's JSON, which
    # rebuilds it anywhere (``arch`` then names the imported entry it came from).
    spec_json: str = ""


# -- building blocks ---------------------------------------------------------------------------


def build_model(
    arch: str, in_channels: int, num_classes: int, image_size: int, seed: int | None = None
) -> tuple[nn.Module, dict]:
    """A fresh catalog model sized for the dataset; returns it and its build kwargs.

    With a ``seed``, the initial weights are drawn from a local generator (the same seed gives
    the same weights; torch's global random stream is neither read nor reseeded).
    """
    from explorer.models import get_spec

    build = {"in_channels": in_channels, "num_classes": num_classes, "image_size": image_size}
    spec = get_spec(arch)
    if seed is None:
        return spec.build(**build), build
    return build_seeded(lambda: spec.build(**build), seed), build


def fit(
    model: nn.Module,
    data: Splits,
    settings: TrainSettings,
    *,
    device: torch.device | str | None = None,
    should_stop: Callable[[], bool] | None = None,
    log_every: int | None = None,
    snapshot_every_s: float = 1.0,
    instrument: bool = True,
    param_groups: list[dict[str, Any]] | None = None,
    arch: str | None = None,
) -> Generator[Event, None, FitResult]:
    """Train ``model`` on ``data`` with ``settings``; yield events; return a :class:`FitResult`.

    ``should_stop`` is polled every step: when it turns true the run evaluates and returns
    (a polite stop). ``log_every`` (default: about 25 points per epoch) sets how often
    metrics and gradient norms are read back; ``snapshot_every_s`` how often filters and
    feature maps are captured; ``instrument=False`` leaves only the per-epoch events;
    ``param_groups`` (optimiser groups with their own ``lr``) replace "every trainable parameter";
    ``arch`` (a catalog key) picks the paper's layer names for gradient norms and snapshots.
    Raises :class:`DivergedError` on a NaN/inf loss and :class:`OutOfMemoryTrainingError`
    when the device runs out of memory.
    """
    settings.check()
    device = torch.device(device) if device is not None else pick_device(settings.device)
    model.to(device)
    options = dict(
        should_stop=should_stop,
        log_every=log_every,
        snapshot_every_s=snapshot_every_s,
        instrument=instrument,
        param_groups=param_groups,
        arch=arch,
    )
    run = TrainingRun(model, data.to(device), settings, device, options)
    yield from run.clock.hand_over(run.started())
    if instrument:
        yield from run.snapshot(1)
    last_val: tuple[int, float, float] = (-1, math.nan, math.nan)
    model.train()
    try:
        for epoch in range(1, settings.epochs + 1):
            yield from run.train_epoch(epoch)
            last_val = yield from run.end_epoch(epoch)
            if run.stopped:
                break
        finished, metrics = run.finish(last_val)
        yield from run.clock.hand_over(finished)
    except torch.cuda.OutOfMemoryError as err:  # also covers the final evaluation
        _free_cuda(device)
        raise OutOfMemoryTrainingError(
            f"The {device.type.upper()} device ran out of memory with batch size {run.bs}. "
            f"Try batch size {max(1, run.bs // 2)} (or a smaller model)."
        ) from err
    metrics["train_seconds"] = round(run.clock.elapsed(), 2)
    return FitResult(model, metrics, tuple(data.classes), run.stopped, settings)


def _free_cuda(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_training(
    settings: TrainSettings,
    should_stop: Callable[[], bool] | None = None,
    data: Splits | None = None,
    **fit_kwargs: Any,
) -> Generator[Event, None, FitResult]:
    """Build the dataset and the model from ``settings``, then ``fit``; the model ends on the CPU.

    This is what a background job runs: all heavy set-up happens inside the generator, so
    the caller returns at once.
    """
    settings.check()
    from explorer.data.datasets import get_dataset_info

    info = get_dataset_info(settings.dataset)
    if data is None:
        yield Preparing(f"Preparing {info.title}...")
        data = load_dataset(
            settings.dataset,
            seed=settings.seed,
            difficulty=settings.difficulty,
            download=settings.download,
            sizes=(settings.train_samples, settings.val_samples, max(settings.val_samples, 500)),
        )
    c, h, _ = data.x_train.shape[1:]
    yield Preparing("Building the model...")
    num_classes = 1 if data.info.task == "binary" else len(data.classes)
    model, build = build_model(
        settings.model, c, num_classes, h, seed=settings.seed
    )  # same seed, same weights
    fit_kwargs.setdefault("arch", settings.model)
    result = yield from fit(model, data, settings, should_stop=should_stop, **fit_kwargs)
    result.model = result.model.cpu().eval()
    result.arch, result.build, result.dataset = settings.model, build, settings.dataset
    return result
