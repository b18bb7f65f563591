"""The dataset-examples pass as a job target: the same top-k as the direct pass; Stop keeps nothing."""

from __future__ import annotations

import pytest
import torch

from explorer.data.images import Preprocessing
from explorer.models.weights import load_bundled
from explorer.probe import dataset_examples as de
from explorer.probe import dataset_examples_job as job
from explorer.probe.feature_vis import FeatureVisError
from explorer.probe.feature_vis_job import model_payload
from explorer.training.backends.base import JobSpec
from explorer.training.events import drain

BUILD = {"image_size": 28, "in_channels": 1, "num_classes": 10}
PREP = Preprocessing(size=28, channels=1)


@pytest.fixture(scope="module")
def lenet() -> torch.nn.Module:
    return load_bundled("lenet5")[0]


def _kwargs(lenet: torch.nn.Module, **extra) -> dict:
    kwargs = {
        "model": model_payload("lenet5", BUILD, lenet),
        "layer": "3",
        "source": "data:digits",
        "prep": PREP,
        "shape": (1, 28, 28),
        "n": 300,
        "k": 5,
    }
    return kwargs | extra


def test_the_job_gives_the_direct_passs_top_examples(lenet: torch.nn.Module) -> None:
    events, (top, x, phrase) = drain(
        JobSpec(job.TARGET, _kwargs(lenet)).open(should_stop=lambda: False)
    )
    images, _, _ = de.dataset_images("digits", n=300)
    direct = de.compute(de.top_examples(lenet, images, "3", k=5))
    assert [(e.done, e.total) for e in events] == [(256, 300), (300, 300), (300, 300)]
    assert all(e.result is None for e in events)  # progress only; the result is the return value
    assert torch.equal(top.indices, direct.indices) and torch.equal(top.positions, direct.positions)
    assert torch.allclose(top.values, direct.values)
    assert x.dtype == torch.uint8 and torch.equal(x, (images * 255).round().to(torch.uint8))
    assert phrase == "test images of 'digits' (of 300)"


def test_stop_or_close_half_way_ends_the_pass_with_nothing(lenet: torch.nn.Module) -> None:
    events, result = drain(JobSpec(job.TARGET, _kwargs(lenet)).open(should_stop=lambda: True))
    assert [e.done for e in events] == [256] and result is None  # a stopped pass keeps nothing
    gen = job.run_dataset_examples(**_kwargs(lenet))
    assert next(gen).done == 256
    gen.close()  # a cancelled job: the generator ends at once
    with pytest.raises(StopIteration):
        next(gen)


def test_my_image_set_needs_its_folder() -> None:
    with pytest.raises(FeatureVisError, match="Your image set has expired or was cleared"):
        job.source_images("own", PREP, (1, 28, 28), 10, folder=None)
