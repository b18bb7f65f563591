"""Unit shading and selectivity: each character's shade is the unit's value at that step; the
scores find a unit built to follow a character class."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.probe.selectivity import char_class_masks, rank_units, unit_scores
from explorer.viz.unit_text import text_grid, unit_text_figure, value_bounds

TEXT = 'He said "go 42 now".\nThen he went.'


def test_each_character_is_shaded_by_the_unit_value_at_its_step():
    values = np.linspace(-1, 1, len(TEXT))
    fig = unit_text_figure(list(TEXT), values, width=8)
    z = np.asarray(fig.data[0].z, dtype=float)
    text = fig.data[0].text
    shaded = [
        (text[r][c], z[r, c])
        for r in range(z.shape[0])
        for c in range(z.shape[1])
        if not np.isnan(z[r, c])
    ]
    assert [v for _, v in shaded] == pytest.approx(values.tolist())
    assert "".join(ch for ch, _ in shaded) == TEXT.replace(" ", "\u2423").replace("\n", "\u21b5")
    assert fig.data[0].zmid == 0.0


def test_rows_break_at_newlines_and_width():
    z, text = text_grid(list("abcdef\ngh"), range(9), width=4)
    assert (
        text[0] == ["a", "b", "c", "d"]
        and text[1][:3] == ["e", "f", "\u21b5"]
        and text[2][:2] == ["g", "h"]
    )
    assert np.isnan(z[1, 3]) and z[2, 1] == 8


def test_masks_mark_the_classes():
    m = char_class_masks(list('a "b c" 1\nD'))
    assert m["inside quotes"].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert (
        m["digit"].tolist()[8] == 1
        and m["uppercase"].tolist()[-1] == 1
        and m["line start"].tolist()[-1] == 1
    )


def test_scores_rank_a_quote_unit_first():
    chars = list(TEXT * 3)
    rng = np.random.default_rng(0)
    values = rng.normal(0, 0.1, (len(chars), 5))
    values[:, 3] = char_class_masks(chars)["inside quotes"] * 2 - 1  # unit 3 follows the quotes
    scores = unit_scores(values, chars)
    assert rank_units(scores["correlation: inside quotes"])[0] == 3
    assert scores["correlation: inside quotes"][3] == pytest.approx(1.0)
    assert rank_units(scores["variance over time"])[0] == 3
    with pytest.raises(ValueError, match="T x H"):
        unit_scores(values[:5], chars)


def test_bounds_are_symmetric_for_signed_values_and_from_zero_for_gates():
    assert value_bounds(np.array([-0.2, 0.5])) == (-0.5, 0.5)
    assert value_bounds(np.array([0.1, 0.9])) == (0.0, 0.9)
