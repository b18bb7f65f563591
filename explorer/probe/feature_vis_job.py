"""The optimised input as a background job: an importable target with plain, picklable arguments.

The job machinery (explorer.training.job_manager) runs ``JobSpec(target, kwargs)`` in a worker process
(or on Ray), so no live model crosses the boundary: the model travels as its catalog key, build
arguments and state dict, and is rebuilt in the worker. Stop (``should_stop``) ends the run
between two steps with the picture as it is; the return value is the last event, without its
raw tensor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch

from explorer.probe.feature_vis import FeatureVisError, VisEvent, VisSettings, optimise

TARGET = "explorer.probe.feature_vis_job:run_feature_vis"


def model_payload(
    arch: str, build: Mapping[str, Any], model: torch.nn.Module, *, imagenet: bool = False
) -> dict[str, Any]:
    """What a job needs to rebuild ``model`` in another process: catalog key, build arguments
    and a CPU copy of its state dict (``imagenet``: none; the worker reads torchvision's cached file)."""
    if imagenet:
        return {"arch": arch, "build": dict(build), "imagenet": True}
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return {"arch": arch, "build": dict(build), "state": state}


def complete(result: object, rows: int | None) -> bool:
    """Whether a finished job's result ran in full (not stopped half-way): every step of one
    channel (a :class:`VisEvent`), every one of the hierarchy grid's ``rows`` (its images per row)."""
    if isinstance(result, VisEvent):
        return result.step >= result.steps
    return rows is not None and isinstance(result, list) and len(result) == rows


def progress(event: VisEvent | None) -> tuple[float, str]:
    """An optimisation's progress bar: (fraction done, a sentence), from its newest event."""
    if event is None:
        return 0.0, ""
    return (
        event.step / event.steps,
        f"Step {event.step} of {event.steps}, mean activation {event.objective:.3g}.",
    )


def _rebuild(payload: Mapping[str, Any], device: str) -> torch.nn.Module:
    """The catalog model, built and loaded strictly by the checkpoint reader's own function."""
    if payload.get("imagenet"):
        from explorer.models.weights import load_pretrained

        return load_pretrained(payload["arch"]).to(device).eval()
    from explorer.models.checkpoint import model_from_state

    return model_from_state(payload["arch"], payload["build"], payload["state"]).to(device).eval()


def run_feature_vis(
    model: Mapping[str, Any],
    layer: str,
    channels: Sequence[int],
    input_shape: Sequence[int],
    settings: VisSettings,
    device: str = "cpu",
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[VisEvent]:
    """Job target: rebuild the model, optimise, yield every :class:`VisEvent`; return the last one."""
    net = _rebuild(model, device)
    last = None
    for event in optimise(
        net, layer, list(channels), input_shape, settings, should_stop=should_stop
    ):
        last = event
        yield dataclasses.replace(event, raw=None)
    if last is None:
        raise FeatureVisError("The optimisation yielded nothing.")
    return dataclasses.replace(last, raw=None)


HIERARCHY_TARGET = "explorer.probe.feature_vis_job:run_hierarchy"


def run_hierarchy(
    model: Mapping[str, Any],
    rows: Sequence[tuple[str, str, Sequence[int]]],
    input_shape: Sequence[int],
    settings: VisSettings,
    device: str = "cpu",
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[VisEvent]:
    """Job target for the hierarchy grid: every row's channels (rows as (depth, layer, channels)),
    row after row. Events count steps over the whole grid; Stop ends the current row with its
    pictures so far and skips the rest. Returns the images per finished row."""
    net = _rebuild(model, device)
    images: list[tuple] = []
    n, steps = len(rows), settings.steps
    for i, (_depth, layer, channels) in enumerate(rows):
        for event in optimise(
            net, layer, list(channels), input_shape, settings, should_stop=should_stop
        ):
            yield dataclasses.replace(
                event,
                step=i * steps + event.step,
                steps=n * steps,
                raw=None,
                done=event.done and i == n - 1,
            )
            if event.done:
                images.append(event.images)
        if should_stop is not None and should_stop():
            break
    return images
