"""Receptive-field arithmetic, tracked through any forward pass.

For a unit of a feature map we keep, per spatial axis, three numbers (Araujo et al., 2019,
"Computing receptive fields of convolutional neural networks", Distill):

- ``size``  r: how many input pixels the unit sees,
- ``jump``  j: the distance in input pixels between neighbouring units (product of strides),
- ``start`` s: the input coordinate of the centre of unit 0 (may be negative: padding).

A convolution or pooling with kernel k, stride t, padding p and dilation d maps
``r -> r + (k - 1) d j``, ``s -> s + ((k - 1) d / 2 - p) j``, ``j -> j t``. Element-wise ops
keep the field; a merge (residual add, Inception's concat) takes the largest field.
A ``TorchFunctionMode`` sees every op, functional ones included, so residual additions
and GoogLeNet's functional ReLUs are followed as well as modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from explorer.probe.windows import Window, window_of


@dataclass(frozen=True)
class Field:
    """Receptive field of the units of one 4-D tensor, per axis (height, width)."""

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]
    is_global: bool = False  # a pooled-to-1x1 or flattened tensor sees the whole input

    def box(self, row: int, col: int) -> tuple[float, float, float, float]:
        """Input-pixel box (top, left, bottom, right), inclusive, of unit (row, col); unclipped."""
        cy = self.start[0] + row * self.jump[0]
        cx = self.start[1] + col * self.jump[1]
        hy, hx = (self.size[0] - 1) / 2, (self.size[1] - 1) / 2
        return cy - hy, cx - hx, cy + hy, cx + hx


INPUT_FIELD = Field((1.0, 1.0), (1.0, 1.0), (0.0, 0.0))
GLOBAL_FIELD = Field((math.inf, math.inf), (math.inf, math.inf), (0.0, 0.0), is_global=True)

_ADAPTIVE = {
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "_adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
}


def apply_window(
    field: Field,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> Field:
    """The field after a convolution or pooling window."""
    if field.is_global:
        return field
    size = tuple(
        r + (k - 1) * d * j
        for r, k, d, j in zip(field.size, kernel, dilation, field.jump, strict=True)
    )
    start = tuple(
        s + ((k - 1) * d / 2 - p) * j
        for s, k, d, p, j in zip(field.start, kernel, dilation, padding, field.jump, strict=True)
    )
    jump = tuple(j * t for j, t in zip(field.jump, stride, strict=True))
    return Field(size, jump, start)  # type: ignore[arg-type]


def _merge(fields: list[Field]) -> Field:
    if any(f.is_global for f in fields):
        return GLOBAL_FIELD
    return max(fields, key=lambda f: f.size[0] * f.size[1])


class FieldTracker(TorchFunctionMode):
    """Propagates :class:`Field` through every torch op of a forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self._fields: dict[int, Field] = {}
        self._alive: list[torch.Tensor] = []  # keep tensors alive so their ids are not reused
        # Every convolution / pooling window met, in call order (the layer table reads them).
        self.windows: list[tuple[str, Window]] = []

    def set(self, tensor: torch.Tensor, field: Field) -> None:
        self._fields[id(tensor)] = field
        self._alive.append(tensor)

    def get(self, tensor: torch.Tensor) -> Field | None:
        return self._fields.get(id(tensor))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        inputs = [
            a
            for a in _flatten(args) + _flatten(list(kwargs.values()))
            if isinstance(a, torch.Tensor)
        ]
        known = [f for f in (self.get(t) for t in inputs) if f is not None]
        if not known:
            return out
        name = getattr(func, "__name__", "")
        first = self.get(args[0]) if args and isinstance(args[0], torch.Tensor) else None
        field = _merge(known)
        window = window_of(name, args, kwargs) if first is not None else None
        if window is not None:
            self.windows.append((name, window))
            field = apply_window(
                first, window.kernel, window.stride, window.padding, window.dilation
            )
        elif name in _ADAPTIVE and first is not None:
            x = args[0]
            out_t = out[0] if isinstance(out, tuple) else out
            if tuple(out_t.shape[-2:]) == tuple(x.shape[-2:]):
                field = first
            elif tuple(out_t.shape[-2:]) == (1, 1):
                field = GLOBAL_FIELD
            else:  # a non-trivial adaptive pool: the windows are uneven; use the widest one
                h, w = x.shape[-2:]
                oh, ow = out_t.shape[-2:]
                kernel = (math.ceil(h / oh) + (h % oh != 0), math.ceil(w / ow) + (w % ow != 0))
                field = apply_window(first, kernel, (h // oh, w // ow), (0, 0), (1, 1))
        for t in _flatten([out]):
            if isinstance(t, torch.Tensor):
                self.set(t, field if t.dim() == 4 else GLOBAL_FIELD)
        return out


def _flatten(items: Any) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        if isinstance(item, (tuple, list)):
            flat.extend(_flatten(item))
        else:
            flat.append(item)
    return flat
