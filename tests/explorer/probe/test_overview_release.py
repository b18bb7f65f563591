"""A shared overview must not keep its model alive once its full maps are captured: the loader
(which holds the model) is dropped, so a model evicted from its cache can be freed."""

from __future__ import annotations

import gc
import weakref

import torch
from torch import nn

from explorer.probe.overview import compute_overview


def test_the_loader_and_its_model_are_released_after_the_full_capture() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3)).eval()
    ov = compute_overview(model, torch.rand(1, 3, 12, 12))
    ref = weakref.ref(model)
    full = ov.full()
    assert full.names() == [m.name for m in ov.layers]
    del model
    gc.collect()
    assert ref() is None  # nothing but the loader held it
    assert ov.full() is full  # and the maps stay
