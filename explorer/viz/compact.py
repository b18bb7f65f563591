"""Compact encodings of heatmaps for the browser: what a colour scale can show, and no more.

Plotly 7 serialises numpy arrays as base64 typed arrays (``{"dtype", "bdata", "shape"}``),
so a float32 value costs 4 bytes, a uint8 one byte (plus a third for base64). A colour scale
draws at most 256 colours, so a heatmap whose exact hover values are not needed is sent as
uint8 codes of its colour range (:func:`quantize`), with the colour bar labelled in the real
units (:func:`colorbar_ticks`). Sequences longer than a chart is wide are averaged over
groups of neighbouring steps (:func:`bin_columns`); a short window is sent exactly.

:func:`decode_plotly_array` reverses the wire format (tests and the payload benchmark use it).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import numpy as np

LEVELS = 255  # codes 0..255: the 256 colours a plotly colour scale is sampled into
PLOTLY_DTYPES = {
    "f8": np.float64,
    "f4": np.float32,
    "i4": np.int32,
    "u4": np.uint32,
    "i2": np.int16,
    "u2": np.uint16,
    "i1": np.int8,
    "u1": np.uint8,
}


@dataclass(frozen=True, eq=False)
class Quantized:
    """uint8 codes of values in [lo, hi]: ``code = round((v - lo) / (hi - lo) * 255)``."""

    codes: np.ndarray
    lo: float
    hi: float

    @property
    def step(self) -> float:
        """The value one code stands for; decoding is exact to half of it."""
        return (self.hi - self.lo) / LEVELS

    def decode(self) -> np.ndarray:
        return (self.lo + self.codes.astype(np.float32) * np.float32(self.step)).astype(np.float32)

    def code_of(self, value: float) -> float:
        """The (fractional) code where ``value`` sits on the colour scale."""
        return (value - self.lo) / self.step if self.step else 0.0


def quantize(values: np.ndarray, lo: float, hi: float) -> Quantized:
    """Values to uint8 codes of [lo, hi]; values outside are clipped to the ends (as the
    colour scale itself would draw them)."""
    v = np.asarray(values, dtype=np.float32)
    if not hi > lo:
        return Quantized(np.zeros(v.shape, np.uint8), float(lo), float(lo) + 1.0)
    scaled = (v - np.float32(lo)) * np.float32(LEVELS / (hi - lo))
    codes = np.clip(np.rint(scaled), 0, LEVELS).astype(np.uint8)
    return Quantized(codes, float(lo), float(hi))


def bin_columns(values: np.ndarray, size: int) -> np.ndarray:
    """Mean over groups of ``size`` neighbouring columns: H x T -> H x ceil(T / size).

    The last group holds what is left (it is the mean of fewer columns).
    """
    v = np.asarray(values, dtype=np.float32)
    if size <= 1:
        return v
    rows, steps = v.shape
    groups = math.ceil(steps / size)
    padded = np.zeros((rows, groups * size), np.float32)
    padded[:, :steps] = v
    sums = padded.reshape(rows, groups, size).sum(axis=2)  # H x groups
    counts = np.full(groups, size, np.float32)
    counts[-1] = steps - (groups - 1) * size
    return sums / counts


def bin_size(steps: int, max_columns: int) -> int:
    """Steps per column so that ``steps`` fit in ``max_columns`` columns."""
    return max(1, math.ceil(steps / max(1, max_columns)))


def colorbar_ticks(q: Quantized, count: int = 5) -> dict:
    """Colour-bar ticks placed at codes but labelled with the real values they stand for."""
    values = np.linspace(q.lo, q.hi, count)
    return dict(tickvals=[q.code_of(v) for v in values], ticktext=[f"{v:.3g}" for v in values])


def decode_plotly_array(obj: object) -> np.ndarray:
    """A plotly JSON array (a list, or ``{"dtype", "bdata", "shape"}``) back to numpy."""
    if isinstance(obj, dict) and "bdata" in obj:
        flat = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=PLOTLY_DTYPES[obj["dtype"]])
        shape = obj.get("shape")
        if shape:
            dims = (
                [int(s) for s in str(shape).split(",")] if isinstance(shape, str) else list(shape)
            )
            flat = flat.reshape(dims)
        return flat
    return np.asarray(obj)
