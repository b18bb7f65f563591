"""JSON from untrusted files (checkpoint headers and metadata), read without surprises.

Every failure (syntax, encoding, nesting deep enough to exhaust the stack) is one
:class:`~explorer.models.errors.CheckpointFormatError`; NaN, Infinity and overflowing numbers
are read as null, and written as null, since JSON has no such numbers.
"""

from __future__ import annotations

import json
import math
from typing import Any

from explorer.models.errors import CheckpointFormatError, first_line

MAX_JSON_DEPTH = 16  # settings and metrics are shallow; deeper JSON is refused, not recursed into


def json_depth(value: Any) -> int:
    """Nesting depth of decoded JSON, iteratively (a deep value must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((v, level + 1) for v in item)
    return deepest


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None  # 1e400 overflows to inf: read as null


def read_json(text: str | bytes, what: str) -> Any:
    """json.loads that turns every failure (syntax, encoding, depth) into one error.

    NaN, Infinity and overflowing numbers (1e400) are read as null, so no float that Python
    cannot print or compare reaches the app; fields that need a number then refuse it.
    """
    try:
        return json.loads(text, parse_constant=lambda _: None, parse_float=_finite_float)
    except RecursionError:
        raise CheckpointFormatError(f"{what} is nested too deeply to be read.") from None
    except (ValueError, TypeError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CheckpointFormatError(f"{what} is not valid JSON ({first_line(err)}).") from None
