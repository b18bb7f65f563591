"""Each allow-listed Keras layer (config and weights) -> spec nodes, channels-first.

The model level (structure, which layer reads which, the refusal of code layers and custom
objects) is :mod:`explorer.models.imports.keras_model`. Keras is channels-last: kernels are
transposed, 'same' padding becomes explicit (extra row/column at the bottom/right, as Keras
pads), channel axes map to dimension 1, and a ``Flatten`` feeding ``Dense`` layers keeps
PyTorch's (C, H, W) order while the Dense weight rows are permuted from Keras' (H, W, C).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from explorer.models.imports.errors import GraphBuilder, ModelImportError
from explorer.models.imports.keras_values import (
    activation_name,
    expect,
    flt,
    integer,
    pair,
    same_pads,
    text,
)


class Ctx:
    """What converting one layer needs: the graph so far, its name, config, inputs and arrays."""

    def __init__(
        self,
        g: GraphBuilder,
        name: str,
        cls: str,
        conf: dict[str, Any],
        inputs: list[str],
        arrays: list[np.ndarray],
        feeds_only_dense: bool,
    ) -> None:
        self.g, self.name, self.cls, self.conf, self.inputs, self.arrays = (
            g,
            name,
            cls,
            conf,
            inputs,
            arrays,
        )
        self.feeds_only_dense = feeds_only_dense
        self.shape = g.shapes[inputs[0]]

    def add(
        self,
        op: str,
        args: dict[str, Any],
        weights: dict[str, np.ndarray] | None = None,
        inputs: list[str] | None = None,
        suffix: str = "",
    ) -> str:
        node = self.g.name(self.name + suffix)
        return self.g.add(
            node, op, inputs or self.inputs, args, label=self.name + suffix, weights=weights
        )

    def image(self) -> tuple[int, int, int]:
        if len(self.shape) != 3:
            raise ModelImportError(
                f"Layer {self.name!r} ({self.cls}) needs an image but gets shape {self.shape}."
            )
        if text(self, "data_format", "channels_last") != "channels_last":
            raise ModelImportError(
                f"Layer {self.name!r} uses data_format='channels_first'; only channels_last models are supported."
            )
        return self.shape  # type: ignore[return-value]

    def dim(self, key: str, default: int = -1) -> int:
        """A Keras channels-last axis as a dimension of the channels-first tensor (1: channels)."""
        axis = self.conf.get(key, default)
        if isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        rank = len(self.shape) + 1
        if (
            not isinstance(axis, int)
            or isinstance(axis, bool)
            or not -rank <= axis < rank
            or axis % rank == 0
        ):
            raise ModelImportError(
                f"Layer {self.name!r} works along axis {str(axis)[:20]}, which is not supported."
            )
        axis %= rank
        return {3: 1, 1: 2, 2: 3}[axis] if rank == 4 else axis


def _pad_first(
    c: Ctx, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int]
) -> tuple[list[int], list[str]]:
    """Keras 'same' padding: symmetric -> the conv's own padding; else an explicit pad node."""
    if text(c, "padding", "valid") == "valid":
        return [0, 0], c.inputs
    if text(c, "padding", "valid") != "same":
        raise ModelImportError(
            f"Layer {c.name!r} uses padding={text(c, 'padding')!r}; supported are 'valid' and 'same'."
        )
    left, right, top, bottom = same_pads(c.shape, k, s, d)
    if left == right and top == bottom:
        return [top, left], c.inputs
    return [0, 0], [c.add("pad", {"pad": [left, right, top, bottom]}, suffix="_pad")]


def conv2d(c: Ctx) -> str:
    cin, _, _ = c.image()
    k, s, d = pair(c, "kernel_size"), pair(c, "strides", 1), pair(c, "dilation_rate", 1)
    depthwise = c.cls == "DepthwiseConv2D"
    mult = integer(c, "depth_multiplier", 1) if depthwise else 1
    groups = cin if depthwise else integer(c, "groups", 1)
    out = cin * mult if depthwise else integer(c, "filters")
    bias = c.conf.get("use_bias", True) is True
    if groups < 1 or cin % groups:
        raise ModelImportError(
            f"Layer {c.name!r} splits {cin} channels into {groups} groups, which does not divide."
        )
    kernel = expect(c, 0, (*k, cin, mult) if depthwise else (*k, cin // groups, out))
    weight = (
        kernel.reshape(*k, out).transpose(2, 0, 1)[:, None]
        if depthwise
        else kernel.transpose(3, 2, 0, 1)
    )
    weights = {"weight": weight, **({"bias": expect(c, 1, (out,))} if bias else {})}
    expect(c, 1 + bias, None)
    padding, inputs = _pad_first(c, k, s, d)
    args = {
        "in_channels": cin,
        "out_channels": out,
        "kernel": list(k),
        "stride": list(s),
        "padding": padding,
        "dilation": list(d),
        "groups": groups,
        "bias": bias,
        "activation": activation_name(c),
    }
    return c.add("conv2d", args, weights, inputs)


def separable_conv2d(c: Ctx) -> str:
    cin, _, _ = c.image()
    k, s, d = pair(c, "kernel_size"), pair(c, "strides", 1), pair(c, "dilation_rate", 1)
    mult, out, bias = (
        integer(c, "depth_multiplier", 1),
        integer(c, "filters"),
        c.conf.get("use_bias", True) is True,
    )
    dw = expect(c, 0, (*k, cin, mult))
    pw = expect(c, 1, (1, 1, cin * mult, out))
    weights = {
        "depthwise.weight": dw.reshape(*k, cin * mult).transpose(2, 0, 1)[:, None],
        "pointwise.weight": pw.transpose(3, 2, 0, 1),
        **({"pointwise.bias": expect(c, 2, (out,))} if bias else {}),
    }
    expect(c, 2 + bias, None)
    padding, inputs = _pad_first(c, k, s, d)
    args = {
        "in_channels": cin,
        "out_channels": out,
        "kernel": list(k),
        "stride": list(s),
        "padding": padding,
        "dilation": list(d),
        "multiplier": mult,
        "bias": bias,
        "activation": activation_name(c),
    }
    return c.add("separable_conv2d", args, weights, inputs)


def dense(c: Ctx) -> str:
    if len(c.shape) != 1:
        raise ModelImportError(
            f"Layer {c.name!r} (Dense) reads a tensor of shape {c.shape}; only Dense layers "
            "after Flatten or global pooling are supported."
        )
    fin, units, bias = c.shape[0], integer(c, "units"), c.conf.get("use_bias", True) is True
    kernel = expect(c, 0, (fin, units))
    origin = c.g.flattened.get(c.inputs[0])
    if origin is not None:  # Keras flattened (H, W, C); this model flattens (C, H, W)
        ch, h, w = origin
        kernel = kernel.reshape(h, w, ch, units).transpose(2, 0, 1, 3).reshape(fin, units)
    weights = {"weight": kernel.T, **({"bias": expect(c, 1, (units,))} if bias else {})}
    expect(c, 1 + bias, None)
    args = {
        "in_features": fin,
        "out_features": units,
        "bias": bias,
        "activation": activation_name(c),
    }
    return c.add("linear", args, weights)


def flatten(c: Ctx) -> str:
    keep = len(c.shape) == 3 and c.shape[1] * c.shape[2] > 1 and c.feeds_only_dense
    out = c.add("flatten", {"channels_last": len(c.shape) == 3 and not keep})
    if keep:
        c.g.flattened[out] = c.shape
    return out


def pooling(c: Ctx) -> str:
    c.image()
    k = pair(c, "pool_size", 2)
    s = pair(c, "strides", None) if c.conf.get("strides") is not None else k
    mode = text(c, "padding", "valid")
    if mode not in ("valid", "same"):
        raise ModelImportError(
            f"Layer {c.name!r} uses padding={mode!r}; supported are 'valid' and 'same'."
        )
    pad = same_pads(c.shape, k, s, (1, 1)) if mode == "same" else [0, 0, 0, 0]
    op = "max_pool2d" if c.cls.startswith("Max") else "avg_pool2d"
    args: dict[str, Any] = {"kernel": list(k), "stride": list(s), "pad": list(pad)}
    if op == "avg_pool2d":
        args["count_include_pad"] = False
    return c.add(op, args)


def global_pooling(c: Ctx) -> str:
    c.image()
    op = "global_max_pool2d" if "Max" in c.cls else "global_avg_pool2d"
    return c.add(op, {"keepdims": c.conf.get("keepdims") is True})


def batch_norm(c: Ctx) -> str:
    if c.dim("axis") != 1:
        raise ModelImportError(
            f"Layer {c.name!r} normalises along an axis other than the channels; not supported."
        )
    n = c.shape[0]
    scale, center = c.conf.get("scale", True) is True, c.conf.get("center", True) is True
    got = iter(range(4))
    gamma = expect(c, next(got), (n,)) if scale else np.ones(n, np.float32)
    beta = expect(c, next(got), (n,)) if center else np.zeros(n, np.float32)
    mean, var = expect(c, next(got), (n,)), expect(c, next(got), (n,))
    expect(c, 2 + scale + center, None)
    args = {
        "num_features": n,
        "eps": flt(c, "epsilon", 1e-3),
        "momentum": 1 - flt(c, "momentum", 0.99),
    }
    weights = {"weight": gamma, "bias": beta, "running_mean": mean, "running_var": var}
    return c.add("batch_norm", args, weights)


def zero_padding(c: Ctx) -> str:
    c.image()
    p = c.conf.get("padding", 1)
    if isinstance(p, int) and not isinstance(p, bool):
        p = [[p, p], [p, p]]
    elif isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) for v in p):
        p = [[p[0], p[0]], [p[1], p[1]]]
    if not (
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, list) and len(v) == 2 for v in p)
    ):
        raise ModelImportError(f"Layer {c.name!r} has a padding that is not understood.")
    return c.add("pad", {"pad": [p[1][0], p[1][1], p[0][0], p[0][1]]})


def activation_layer(c: Ctx) -> str:
    if c.cls == "Activation":
        fn = activation_name(c)
        args: dict[str, Any] = {"fn": fn}
        if fn == "leaky_relu":
            args["alpha"] = 0.2
        elif fn == "softmax":
            args["dim"] = 1
        return c.add("act", args) if fn != "linear" else c.add("identity", {})
    if c.cls == "Softmax":
        return c.add("act", {"fn": "softmax", "dim": c.dim("axis")})
    if c.cls == "ELU":
        return c.add("act", {"fn": "elu", "alpha": flt(c, "alpha", 1.0)})
    if c.cls == "LeakyReLU":
        key = "negative_slope" if "negative_slope" in c.conf else "alpha"
        return c.add("act", {"fn": "leaky_relu", "alpha": flt(c, key, 0.3)})
    slope, top, threshold = (
        flt(c, "negative_slope", 0.0),
        c.conf.get("max_value"),
        flt(c, "threshold", 0.0),
    )
    if threshold != 0 or (slope and top is not None):
        raise ModelImportError(
            f"Layer {c.name!r} (ReLU) uses a threshold or a slope with a maximum; not supported."
        )
    if slope:
        return c.add("act", {"fn": "leaky_relu", "alpha": slope})
    if top is not None:
        return c.add("act", {"fn": "clip", "min": 0.0, "max": flt(c, "max_value", 0.0)})
    return c.add("act", {"fn": "relu"})


def _values(c: Ctx, key: str, default: float) -> list[float]:
    v = c.conf.get(key, default)
    v = v if isinstance(v, list) else [v]
    flat = np.asarray(v, dtype=np.float64).reshape(-1) if len(v) <= 8192 else np.zeros(0)
    if flat.size not in (1, c.shape[0]) or not np.isfinite(flat).all():
        raise ModelImportError(
            f"Layer {c.name!r} has a {key!r} that is not one number or one per channel."
        )
    return [float(x) for x in flat]


def rescaling(c: Ctx) -> str:
    return c.add("scale", {"scale": _values(c, "scale", 1.0), "offset": _values(c, "offset", 0.0)})


def normalization(c: Ctx) -> str:
    if c.dim("axis") != 1 or c.conf.get("invert") is True:
        raise ModelImportError(
            f"Layer {c.name!r} (Normalization) must normalise the channels (axis=-1), not inverted."
        )
    if c.conf.get("mean") is not None and c.conf.get("variance") is not None:
        mean, var = _values(c, "mean", 0.0), _values(c, "variance", 1.0)
    else:
        if len(c.arrays) < 2:
            raise ModelImportError(
                f"Layer {c.name!r} (Normalization) has no mean and variance in the file."
            )
        mean, var = (
            [float(x) for x in c.arrays[0].reshape(-1)],
            [float(x) for x in c.arrays[1].reshape(-1)],
        )
        if len(mean) not in (1, c.shape[0]) or len(var) != len(mean):
            raise ModelImportError(
                f"Layer {c.name!r} (Normalization) has {len(mean)} means for {c.shape[0]} channels."
            )
    std = [max(math.sqrt(max(v, 0.0)), 1e-7) for v in var]
    return c.add("normalize", {"mean": mean, "std": std})


def merge(c: Ctx) -> str:
    if c.cls == "Add":
        return c.add("add", {})
    return c.add("concat", {"dim": c.dim("axis")})


HANDLERS = {
    "Conv2D": conv2d,
    "DepthwiseConv2D": conv2d,
    "SeparableConv2D": separable_conv2d,
    "Dense": dense,
    "Flatten": flatten,
    "MaxPooling2D": pooling,
    "AveragePooling2D": pooling,
    "GlobalAveragePooling2D": global_pooling,
    "GlobalMaxPooling2D": global_pooling,
    "BatchNormalization": batch_norm,
    "Dropout": lambda c: c.add("dropout", {"p": flt(c, "rate", 0.5)}),
    "ZeroPadding2D": zero_padding,
    "Activation": activation_layer,
    "ReLU": activation_layer,
    "LeakyReLU": activation_layer,
    "ELU": activation_layer,
    "Softmax": activation_layer,
    "Rescaling": rescaling,
    "Normalization": normalization,
    "Add": merge,
    "Concatenate": merge,
}
ALIASES = {
    "Conv2d": "Conv2D",
    "Convolution2D": "Conv2D",
    "MaxPool2D": "MaxPooling2D",
    "AvgPool2D": "AveragePooling2D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "SeparableConvolution2D": "SeparableConv2D",
}
SUPPORTED = (*HANDLERS, "InputLayer")
