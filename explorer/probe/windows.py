"""One reading of a convolution's or pooling's window from a torch call: kernel, stride, padding,
dilation, ceil_mode and groups, by position or keyword, as ints or tuples.

Both tracers read torch's functional calls (``conv2d(input, weight, bias, stride, padding,
dilation, groups)``, ``max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)``,
``avg_pool2d(input, kernel_size, stride, padding, ceil_mode)``): the receptive-field tracker
(:mod:`explorer.probe.receptive_field`) and the graph tracer (:mod:`explorer.probe.graph`). They
share this one parser, so they cannot read a layer differently (issue 23: two copies had diverged
unnoticed). Its test holds both against torch's own output shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONV_CALLS = frozenset({"conv2d"})
POOL_CALLS = frozenset({"max_pool2d", "_max_pool2d", "max_pool2d_with_indices", "avg_pool2d"})


@dataclass(frozen=True)
class Window:
    """A sliding window's settings, per axis (height, width)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False  # pooling only: round the output size up
    groups: int = 1  # convolution only


def pair(value: Any) -> tuple[int, int]:
    """An int or a (height, width) tuple or list as a pair of ints."""
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    """Argument ``name`` of a call, given by keyword or at position ``index``, else ``default``."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def window_of(fname: str, args: tuple, kwargs: dict) -> Window | None:
    """The window of a ``conv2d`` or non-adaptive pooling call named ``fname``; None for any
    other call. A convolution's ``padding="same"`` becomes the left padding torch uses."""
    if fname in CONV_CALLS:
        weight = arg(args, kwargs, 1, "weight", None)
        kernel = (int(weight.shape[-2]), int(weight.shape[-1]))
        dilation = pair(arg(args, kwargs, 5, "dilation", 1))
        padding = arg(args, kwargs, 4, "padding", 0)
        if isinstance(padding, str):  # "same" keeps the size; "valid" means 0
            padding = (
                tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation, strict=True))
                if padding == "same"
                else 0
            )
        return Window(
            kernel,
            pair(arg(args, kwargs, 3, "stride", 1)),
            pair(padding),
            dilation,
            groups=int(arg(args, kwargs, 6, "groups", 1)),
        )
    if fname in POOL_CALLS:
        is_max = "max" in fname  # avg_pool2d has no dilation: its ceil_mode sits one place earlier
        kernel = pair(arg(args, kwargs, 1, "kernel_size", 1))
        stride = arg(args, kwargs, 2, "stride", None)
        stride = kernel if stride in (None, [], ()) else pair(stride)
        dilation = pair(arg(args, kwargs, 4, "dilation", 1)) if is_max else (1, 1)
        ceil = bool(arg(args, kwargs, 5 if is_max else 4, "ceil_mode", False))
        return Window(
            kernel, stride, pair(arg(args, kwargs, 3, "padding", 0)), dilation, ceil_mode=ceil
        )
    return None
