"""Reading one torch call as the tracer sees it: which operation it is, its window attributes,
its multiply-accumulates, and whether the input is too small for it.

Kept apart from the tracer (:mod:`explorer.probe.graph.trace`) because it is pure bookkeeping on
``(func name, args, kwargs)``: torch's functional signatures (``conv2d(input, weight, bias,
stride, padding, dilation, groups)``, ``max_pool2d(input, kernel_size, stride, padding,
dilation, ceil_mode)``...) read by position or keyword.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from explorer.probe.windows import arg as _arg
from explorer.probe.windows import window_of

_KINDS: dict[str, str] = {
    "conv2d": "conv",
    "linear": "dense",
    "batch_norm": "bn",
    "relu": "relu",
    "relu_": "relu",
    "max_pool2d": "pool",
    "_max_pool2d": "pool",
    "max_pool2d_with_indices": "pool",
    "avg_pool2d": "pool",
    "adaptive_avg_pool2d": "pool",
    "adaptive_max_pool2d": "pool",
    "_adaptive_max_pool2d": "pool",
    "adaptive_max_pool2d_with_indices": "pool",
    "cat": "concat",
    "add": "add",
    "__add__": "add",
    "__iadd__": "add",
    "add_": "add",
    "__radd__": "add",
    "addcmul": "scale",
    "flatten": "flatten",
    "dropout": "dropout",
    "sigmoid": "act",
    "tanh": "act",
    "gelu": "act",
    "silu": "act",
    "leaky_relu": "act",
    "elu": "act",
    "local_response_norm": "norm",
    "layer_norm": "norm",
    "group_norm": "norm",
}


class InputSizeError(ValueError):
    """The input is too small: a layer's output-size formula gives zero or less (or a dense
    layer gets a different number of features than it was built for)."""


def flat(items: Any) -> list[Any]:
    """Nested tuples and lists of arguments or outputs, flattened."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, (tuple, list)):
            out.extend(flat(item))
        else:
            out.append(item)
    return out


def window_attrs(kind: str, fname: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    """Kernel, stride, padding, dilation and groups of a convolution; kernel, stride, padding,
    dilation and ceil_mode of a non-adaptive pooling (the shared parser,
    :func:`explorer.probe.windows.window_of`); empty for anything else."""
    w = window_of(fname, args, kwargs) if kind in ("conv", "pool") else None
    if w is None:
        return {}
    last = {"groups": w.groups} if kind == "conv" else {"ceil_mode": w.ceil_mode}
    return {
        "kernel": w.kernel,
        "stride": w.stride,
        "padding": w.padding,
        "dilation": w.dilation,
        **last,
    }


def check_size(fname: str, args: tuple, kwargs: dict, layer: str) -> None:
    """Raise :class:`InputSizeError` before a window op whose output would be empty."""
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or "adaptive" in fname:
        return
    w = window_of(fname, args, kwargs)
    if w is None:
        return
    for axis in (0, 1):
        n = int(x.shape[2 + axis])
        f, p, s, d = w.kernel[axis], w.padding[axis], w.stride[axis], w.dilation[axis]
        f_eff = d * (f - 1) + 1
        span = n - f_eff + 2 * p
        out = (math.ceil(span / s) if w.ceil_mode else span // s) + 1
        if out <= 0 or span < 0:
            name = layer or fname
            what = "convolution" if fname == "conv2d" else "pooling"
            raise InputSizeError(
                f"Layer {name} ({what} {f}x{f}, stride {s}, padding {p}) gets a {n} x {n} map and "
                f"shrinks it to nothing: (N - F + 2P)/S + 1 = ({n} - {f_eff} + 2 x {p}) / {s} + 1 = "
                f"{span / s + 1:g} < 1. Choose a larger input."
            )


def check_features(args: tuple, kwargs: dict, layer: str) -> None:
    """Raise :class:`InputSizeError` when a dense layer gets a different number of features."""
    x, weight = args[0] if args else None, _arg(args, kwargs, 1, "weight", None)
    if (
        isinstance(x, torch.Tensor)
        and isinstance(weight, torch.Tensor)
        and x.shape[-1] != weight.shape[1]
    ):
        name = layer or "a dense layer"
        raise InputSizeError(
            f"Layer {name} (dense) was built for {int(weight.shape[1]):,} input features but gets "
            f"{int(x.shape[-1]):,}: the input size changes the feature map that is flattened into it. "
            "Choose the input size the model was built for."
        )


_ADDS = ("add", "__add__", "__iadd__", "add_", "__radd__")


def op_kind(fname: str, tensors: list[torch.Tensor], traced: int = 2) -> str | None:
    """The operation a torch call is (a key of the graph's node kinds), ``None`` for a call that
    only reshapes or computes something the diagram does not draw. ``traced``: how many of the
    input tensors come from the traced graph (an addition of a constant, ``x + 1`` or
    ``x + torch.tensor(offset)``, is no residual addition)."""
    if fname in _ADDS and min(len(tensors), traced) < 2:
        return None
    if fname in ("view", "reshape") and tensors and tensors[0].dim() == 4:
        return "flatten"
    return _KINDS.get(fname)


def op_macs(kind: str, args: tuple, kwargs: dict, result: torch.Tensor) -> int:
    """Multiply-accumulates of a convolution or dense call (0 for anything else)."""
    if kind == "conv":
        weight = _arg(args, kwargs, 1, "weight", None)
        return result.numel() * int(weight.shape[1]) * int(weight.shape[2]) * int(weight.shape[3])
    if kind == "dense":
        weight = _arg(args, kwargs, 1, "weight", None)
        return result.numel() * int(weight.shape[1])
    return 0
