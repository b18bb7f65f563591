"""The dataset-examples pass as a background job: an importable target with plain arguments.

Like the optimised input (:mod:`explorer.probe.feature_vis_job`), the job machinery
(explorer.training.job_manager) runs it in a worker process, so the model travels as its payload
(:func:`explorer.probe.feature_vis_job.model_payload`) and the image set as a description
(:func:`source_images`): an offline dataset's key, the sample photos, or the folder of the
asking browser's own image set (the page resolves it; never another browser's). Stop ends the
pass between two batches and returns None: a stopped pass keeps nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from explorer.data.images import Preprocessing
from explorer.probe import dataset_examples as de
from explorer.probe.feature_vis import FeatureVisError
from explorer.probe.feature_vis_job import _rebuild

TARGET = "explorer.probe.dataset_examples_job:run_dataset_examples"
SAMPLES = "samples"
OWN = "own"


def progress(event: de.ExamplesProgress | None) -> tuple[float, str]:
    """A pass's progress bar: (fraction done, a sentence), from its newest event (None: none yet)."""
    if event is None:
        return 0.0, "Dataset examples: loading the images."
    return event.done / event.total, f"Dataset examples: {event.done} of {event.total} images."


def source_images(
    source: str, prep: Preprocessing, shape: Sequence[int], n: int, folder: str | None = None
) -> tuple[torch.Tensor, str]:
    """(N x C x H x W images in [0, 1], a caption phrase) of ``source`` for a model with
    preprocessing ``prep`` and input ``shape`` (C x H x W): ``data:<key>`` (its first ``n``
    test images), ``samples`` or ``own`` (the image set in ``folder``)."""
    if source.startswith("data:"):
        key = source.removeprefix("data:")
        x, _, _ = de.dataset_images(key, n=n)
        return x, f"test images of '{key}' (of {len(x)})"
    if source == SAMPLES:
        x, _ = de.sample_images(prep)
        return x, f"sample photos (of {len(x)})"
    if source == OWN and folder is not None:
        x = de.own_images(folder, int(shape[0]), int(shape[-1]), n=n)
        return x, f"images of your image set (of {len(x)})"
    raise FeatureVisError("Your image set has expired or was cleared: add it again on Training.")


def run_dataset_examples(
    model: dict[str, Any],
    layer: str,
    source: str,
    prep: Preprocessing,
    shape: Sequence[int],
    n: int,
    k: int,
    folder: str | None = None,
    device: str = "cpu",
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[de.ExamplesProgress]:
    """Job target: rebuild the model, search ``source`` (:func:`source_images`) for every channel's top ``k`` of
    ``layer``, yield progress per batch (without the result); return (TopExamples, the images as
    uint8 for the crops, a caption phrase), or None when stopped half-way."""
    net = _rebuild(model, device)
    x, phrase = source_images(source, prep, shape, n, folder)
    top = None
    for event in de.top_examples(net, x, layer, k=k, mean=prep.mean, std=prep.std):
        if event.result is not None:
            top = event.result
        yield de.ExamplesProgress(event.done, event.total)
        if should_stop is not None and should_stop():
            return None
    if top is None:
        raise FeatureVisError("The dataset pass ended without a result.")
    return top, (x.clamp(0, 1) * 255).round().to(torch.uint8), phrase
