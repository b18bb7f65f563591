"""Offline datasets: shapes, ranges, reproducibility by seed, class balance, learnable content."""

from __future__ import annotations

import pytest
import torch

from explorer.data.synthetic import (
    DIGIT_CLASSES,
    SHAPE_CLASSES,
    _shape_distance,
    digit_glyphs,
    make_digits,
    make_shapes,
)


def test_shapes_have_documented_shape_range_and_labels():
    x, y = make_shapes(300, seed=1)
    assert x.shape == (300, 3, 32, 32) and x.dtype == torch.float32
    assert y.shape == (300,) and y.dtype == torch.int64
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert set(y.tolist()) == set(range(len(SHAPE_CLASSES)))


def test_same_seed_same_data_other_seed_other_data():
    a, ya = make_shapes(64, seed=7)
    b, yb = make_shapes(64, seed=7)
    c, _ = make_shapes(64, seed=8)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    assert not torch.equal(a, c)
    d1, l1 = make_digits(64, seed=3)
    d2, l2 = make_digits(64, seed=3)
    assert torch.equal(d1, d2) and torch.equal(l1, l2)


def test_binary_task_is_64x64_colour_with_two_classes():
    x, y = make_shapes(100, classes=("circle", "square"), size=64, seed=0)
    assert x.shape == (100, 3, 64, 64)
    assert set(y.tolist()) == {0, 1}


def test_shape_geometry_in_the_unit_frame():
    # Points in the shape's own frame (radius units): inside < 0 < outside.
    pts = {"centre": (0.0, 0.0), "edge_x": (0.9, 0.0), "diag": (0.75, 0.75), "far": (1.2, 0.0)}
    u = torch.tensor([p[0] for p in pts.values()])
    v = torch.tensor([p[1] for p in pts.values()])
    inside = {k: (_shape_distance(k, u, v) < 0).tolist() for k in SHAPE_CLASSES}
    assert inside["circle"] == [True, True, False, False]
    assert inside["square"] == [True, False, True, False]
    assert inside["ring"] == [False, True, False, False]
    assert inside["cross"] == [True, True, False, False]
    assert inside["bar"] == [True, True, False, False]
    assert inside["triangle"][0] and not inside["triangle"][3]


def test_rendered_shape_pixels_take_the_foreground_colour_at_the_centre():
    x, _ = make_shapes(50, classes=("circle", "square"), size=64, difficulty=0.0, seed=0)
    # Corners are background, the centre region is foreground: they differ clearly.
    corner = x[:, :, :3, :3].mean((2, 3))
    centre = x[:, :, 30:34, 30:34].mean((2, 3))
    assert bool(((centre - corner).abs().amax(1) > 0.15).all())


def test_digits_are_grey_28x28_white_on_black():
    x, y = make_digits(200, seed=0)
    assert x.shape == (200, 1, 28, 28)
    assert set(y.tolist()) == set(range(10))
    # Background dark, strokes bright: the border is darker than the centre on average.
    border = torch.cat([x[..., 0, :], x[..., -1, :]], -1).mean()
    centre = x[..., 10:18, 10:18].mean()
    assert centre > border + 0.1


def test_glyph_bank_has_every_digit_for_every_font_and_differs_between_digits():
    bank = digit_glyphs(28)
    assert bank.shape[1:] == (10, 28, 28) and bank.shape[0] >= 1
    assert len(DIGIT_CLASSES) == 10
    # Each glyph has ink, and "1" has less ink than "8" in the built-in font.
    ink = bank[0].sum((1, 2))
    assert bool((ink > 5).all()) and ink[1] < ink[8]


def test_difficulty_is_validated():
    with pytest.raises(ValueError, match=r"difficulty must lie in \[0, 1\]"):
        make_shapes(4, difficulty=1.5)
    with pytest.raises(KeyError, match="Unknown shape 'blob'"):
        make_shapes(4, classes=("circle", "blob"))


def test_nearest_centroid_beats_chance_on_digits():
    # The generated digits carry their label: even a nearest-class-mean rule on pixels is
    # far above the 10% of chance.
    x, y = make_digits(2000, difficulty=0.3, seed=0)
    xt, yt = make_digits(500, difficulty=0.3, seed=1)
    means = torch.stack([x[y == k].mean(0).flatten() for k in range(10)])
    pred = torch.cdist(xt.flatten(1), means).argmin(1)
    assert (pred == yt).float().mean() > 0.5
