"""The Training page's URL accepts exactly what the engine accepts, field by field (issue 23: the
URL allowed 100 epochs against the engine's 200, 200,000 training images against 60,000 and
50,000 validation images against 10,000). Each side is probed at the other's bounds, so changing
either one alone fails here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from explorer.training.settings import CHECKS, CHOICES, LIMITS, TrainSettings
from explorer.ui.state import _is_valid
from explorer.ui.training_url import FIELDS, URL_FIELDS

# Room for every single-field probe: a batch of 4096 fits 60000 images, 16 images fit a batch of 8.
BASE = TrainSettings(batch_size=8, train_samples=60000)


def _engine_accepts(field: str, value: Any) -> bool:
    """The engine's own verdict: every check of the settings, with only ``field`` changed (the
    memory estimate, a limit on several fields together, is left to its own tests)."""
    settings = replace(BASE, **{field: value})
    return not [problem for check in CHECKS if (problem := check(settings))]


def _probes(field: str, valid: Any) -> list[Any]:
    """Values at and just beyond the engine's bounds and the URL side's own (when it is a range)."""
    values: list[Any] = []
    if field in LIMITS:
        lo, hi = LIMITS[field].low, LIMITS[field].high
        step = 1 if LIMITS[field].whole else 1e-6
        values += [
            lo - step,
            lo,
            lo + step,
            (lo + hi) / 2 if step < 1 else (lo + hi) // 2,
            hi - step,
            hi,
            hi + step,
        ]
        values += [float(lo + 1), float("nan")] if step == 1 else [float("inf"), float("nan")]
    if field in CHOICES:
        values += [*CHOICES[field], "bogus"]
    if isinstance(getattr(BASE, field), bool):
        values += [False, True]
    if isinstance(valid, range):
        values += [valid.start - 1, valid.start, valid.stop - 1, valid.stop]
    elif isinstance(valid, tuple | list):
        values += list(valid)
    return values


@pytest.mark.parametrize("key", sorted(URL_FIELDS))
def test_url_bounds_equal_the_engines(key: str) -> None:
    field = FIELDS[key]
    valid = URL_FIELDS[key][1]
    probes = _probes(field, valid)
    assert len(probes) >= 2
    disagree = [
        (v, _is_valid(v, valid), _engine_accepts(field, v))
        for v in probes
        if _is_valid(v, valid) != _engine_accepts(field, v)
    ]
    assert not disagree, f"{key} ({field}): (value, URL accepts, engine accepts) {disagree}"


def test_the_bounds_the_issue_named() -> None:
    assert URL_FIELDS["tr_epochs"][1] == range(1, 201)
    assert URL_FIELDS["tr_train"][1] == range(16, 60001)
    assert URL_FIELDS["tr_val"][1] == range(8, 10001)


def test_every_url_field_is_a_settings_field() -> None:
    names = {f for f in TrainSettings.__dataclass_fields__}
    assert {FIELDS[k] for k in URL_FIELDS} <= names
    assert len({name for name, _ in URL_FIELDS.values()}) == len(URL_FIELDS)
