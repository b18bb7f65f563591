"""Samples exist offline, decode to RGB tensors, carry a credit, and are cached."""

from __future__ import annotations

import pytest
import torch

from explorer.data.samples import DEFAULT_SAMPLE, list_samples, load_sample


def test_samples_listed_with_credit() -> None:
    samples = list_samples()
    names = [s.name for s in samples]
    assert len(names) == len(set(names))
    # The project's own drawings are always there; skimage ships these photos in its wheel.
    assert {"shapes", "patterns", "digit"} <= set(names)
    assert {"cat", "coffee", "astronaut", "rocket"} <= set(names)
    assert DEFAULT_SAMPLE in names
    for s in samples:
        assert s.title and s.credit and s.kind in ("photo", "generated")
        assert "CC0" in s.credit or "public domain" in s.credit or "MIT" in s.credit


@pytest.mark.parametrize("name", [s.name for s in list_samples()])
def test_every_sample_decodes(name: str) -> None:
    d = load_sample(name)
    c, h, w = d.tensor.shape
    assert c == 3 and h >= 64 and w >= 64 and d.tensor.dtype == torch.float32
    assert float(d.tensor.min()) >= 0.0 and float(d.tensor.max()) <= 1.0
    assert float(d.tensor.std()) > 0.05  # not a blank picture
    assert d.display.size == (w, h) and d.display.mode == "RGB"


def test_known_photo_sizes() -> None:
    # Reference sizes of scikit-image's files (width x height).
    assert load_sample("cat").size == (451, 300)
    assert load_sample("astronaut").size == (512, 512)


def test_grey_sample_is_marked_grey() -> None:
    d = load_sample("camera")
    assert d.was_grey and torch.equal(d.tensor[0], d.tensor[2])


def test_cached_and_unknown_name() -> None:
    assert load_sample("shapes") is load_sample("shapes")
    with pytest.raises(KeyError, match="No sample image called 'nope'"):
        load_sample("nope")


def test_digit_is_light_on_dark_and_centred() -> None:
    t = load_sample("digit").tensor[0]  # H x W
    ink = t > 0.5
    assert float(t[0, 0]) == 0.0 and 0.02 < float(ink.float().mean()) < 0.4
    ys, xs = torch.nonzero(ink, as_tuple=True)
    h, w = t.shape
    assert abs(float(ys.float().mean()) - h / 2) < h * 0.15
    assert abs(float(xs.float().mean()) - w / 2) < w * 0.15
    assert 0.6 * h <= int(ys.max() - ys.min()) + 1 <= 0.75 * h  # about 70% of the height, as MNIST
