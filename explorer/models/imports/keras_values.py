"""Checked reading of Keras config values: every wrong type or range is one message."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from explorer.models.imports.errors import CODE_NEVER_RUN, ModelImportError
from explorer.models.spec_args import FUSED_ACTIVATIONS

_ACTIVATION_ALIASES = {"swish": "silu", None: "linear"}


def _bad(c: Any, key: str, what: str) -> ModelImportError:
    return ModelImportError(
        f"Layer {c.name!r}: its {key!r} must be {what}, not {str(c.conf.get(key))[:40]}."
    )


def integer(c: Any, key: str, default: int | None = None) -> int:
    v = c.conf.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 1 << 22:
        raise _bad(c, key, "a whole number")
    return v


def flt(c: Any, key: str, default: float) -> float:
    v = c.conf.get(key, default)
    if v is None:
        v = default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _bad(c, key, "a number")
    return float(v)


def text(c: Any, key: str, default: str = "") -> str:
    v = c.conf.get(key, default)
    if v is None:
        return default
    if not isinstance(v, str):
        raise _bad(c, key, "a text")
    return v


def pair(c: Any, key: str, default: int | None = None) -> tuple[int, int]:
    v = c.conf.get(key, default)
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v, v]
    if not (
        isinstance(v, list)
        and len(v) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 64 for x in v)
    ):
        raise _bad(c, key, "two whole numbers from 1 to 64")
    return (v[0], v[1])


def activation_name(c: Any) -> str:
    """A layer's ``activation`` as one of the spec's fused activations; custom functions refused."""
    v = c.conf.get("activation", "linear")
    if isinstance(
        v, dict
    ):  # {"module": "keras.activations", "class_name": "function", "config": "relu"}
        if v.get("module") not in ("keras.activations", None) or not isinstance(
            v.get("config"), str
        ):
            raise ModelImportError(
                f"Layer {c.name!r} uses a custom activation, which is Python code: {CODE_NEVER_RUN}."
            )
        v = v["config"]
    v = _ACTIVATION_ALIASES.get(v, v) if isinstance(v, str | None) else v
    if not isinstance(v, str) or v not in FUSED_ACTIVATIONS:
        raise ModelImportError(
            f"Layer {c.name!r} uses the activation {str(v)[:40]!r}, which is not supported. "
            f"Supported activations: {', '.join(FUSED_ACTIVATIONS)}."
        )
    return v


def expect(c: Any, i: int, shape: tuple[int, ...] | None) -> np.ndarray:
    """The layer's ``i``-th weight array with exactly ``shape``; ``None``: there must be no ``i``-th."""
    if shape is None:
        if len(c.arrays) > i:
            raise ModelImportError(
                f"Layer {c.name!r} has {len(c.arrays)} weight arrays in the file; its "
                f"configuration needs {i}."
            )
        return np.zeros(0)
    if i >= len(c.arrays):
        raise ModelImportError(
            f"Layer {c.name!r} is missing weight {i + 1} (shape {shape}) in the file."
        )
    got = tuple(c.arrays[i].shape)
    if got != tuple(shape):
        raise ModelImportError(
            f"Layer {c.name!r} has a weight of shape {got} in the file, but its configuration "
            f"needs {tuple(shape)}."
        )
    return c.arrays[i]


def same_pads(
    shape: tuple[int, ...], k: tuple[int, int], s: tuple[int, int], d: tuple[int, int]
) -> list[int]:
    """[left, right, top, bottom] of Keras/TensorFlow 'same' padding (the odd one at bottom/right)."""
    pads = []
    for i in (1, 0):  # width first: [left, right, top, bottom]
        size = shape[1 + i]
        total = max((math.ceil(size / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return pads
