"""The layers a :class:`~explorer.models.spec.ModelSpec` node becomes.

Convolutions and dense layers are ``nn.Conv2d`` / ``nn.Linear`` subclasses carrying the file's
own activation (Keras' ``activation=``), so that filter views, layer counts and initialisation
know them and a module's output is the file's layer output; poolings take any [left, right, top,
bottom] padding; ``Rescale`` / ``Normalize`` (Keras' Rescaling and Normalization) are one call
each, which the graph tracer draws as their own kinds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.models.spec import Node


def _activation(name: str, node: Node | None = None) -> nn.Module:
    a = node.args if node is not None else {}
    table = {
        "linear": nn.Identity,
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "selu": nn.SELU,
        "softplus": nn.Softplus,
        "softsign": nn.Softsign,
        "silu": nn.SiLU,
        "gelu": nn.GELU,
        "softmax": lambda: nn.Softmax(dim=a.get("dim", 1)),
        "elu": lambda: nn.ELU(alpha=a.get("alpha", 1.0)),
        "leaky_relu": lambda: nn.LeakyReLU(
            negative_slope=a.get("alpha", 0.2 if node is None else 0.01)
        ),
        "clip": lambda: nn.Hardtanh(
            min_val=a.get("min", float("-inf")), max_val=a.get("max", float("inf"))
        ),
    }
    return table[name]()


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _softmax_channels(x: torch.Tensor) -> torch.Tensor:
    return F.softmax(x, dim=1)


def _leaky_keras(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(
        x, 0.2
    )  # Keras' activation="leaky_relu" (the layer LeakyReLU defaults to 0.3)


# A conv / dense layer's own activation as a plain function, not a child module: the layer stays
# a leaf, so summaries, feature-map lists and diagrams show it as the file's one layer.
_FUSED = {
    "linear": _identity,
    "relu": F.relu,
    "relu6": F.relu6,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "selu": F.selu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "silu": F.silu,
    "gelu": F.gelu,
    "softmax": _softmax_channels,
    "elu": F.elu,
    "leaky_relu": _leaky_keras,
}


class _OwnActivation:
    """Mixin: the layer applies its own activation (Keras' ``activation=``) after the torch
    layer's forward, so the module's output is the file's layer output."""

    def __init__(self, *args, activation: str = "linear", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FUSED[self.activation](super().forward(x))

    def extra_repr(self) -> str:
        return super().extra_repr() + (
            "" if self.activation == "linear" else f", activation={self.activation}"
        )


class Conv2d(_OwnActivation, nn.Conv2d):
    """``nn.Conv2d`` with its layer's own activation."""


class Linear(_OwnActivation, nn.Linear):
    """``nn.Linear`` with its layer's own activation."""


class SeparableConv2d(nn.Module):
    """A depthwise convolution (``groups = in_channels``) then a 1x1 pointwise one."""

    def __init__(self, a: dict) -> None:
        super().__init__()
        mid = a["in_channels"] * a.get("multiplier", 1)
        self.depthwise = nn.Conv2d(
            a["in_channels"],
            mid,
            a["kernel"],
            a.get("stride", 1),
            a.get("padding", 0),
            a.get("dilation", 1),
            groups=a["in_channels"],
            bias=False,
        )
        self.pointwise = Conv2d(
            mid,
            a["out_channels"],
            1,
            bias=a.get("bias", True),
            activation=a.get("activation", "linear"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class Pool2d(nn.Module):
    """Max or average pooling with any padding [left, right, top, bottom]: padded cells never win
    a max and (``count_include_pad=False``, Keras' 'same') are not counted in an average."""

    def __init__(self, kind: str, a: dict) -> None:
        super().__init__()
        self.kind, self.kernel = kind, tuple(a["kernel"])
        self.stride, self.pad = (
            tuple(a.get("stride", a["kernel"])),
            tuple(a.get("pad", [0, 0, 0, 0])),
        )
        self.ceil_mode, self.count_include_pad = (
            a.get("ceil_mode", False),
            a.get("count_include_pad", False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.pad
        if (
            left == right
            and top == bottom
            and 2 * left <= self.kernel[1]
            and 2 * top <= self.kernel[0]
        ):
            padding, pad = (top, left), False
        else:
            padding, pad = (0, 0), True
        if self.kind == "max":
            if pad:
                x = F.pad(x, self.pad, value=float("-inf"))
            return F.max_pool2d(x, self.kernel, self.stride, padding, ceil_mode=self.ceil_mode)
        if not pad:
            return F.avg_pool2d(
                x, self.kernel, self.stride, padding, self.ceil_mode, self.count_include_pad
            )
        out = F.avg_pool2d(F.pad(x, self.pad), self.kernel, self.stride, 0, self.ceil_mode, True)
        if self.count_include_pad:
            return out
        ones = F.pad(torch.ones_like(x[:1, :1]), self.pad)
        return out / F.avg_pool2d(ones, self.kernel, self.stride, 0, self.ceil_mode, True)

    def extra_repr(self) -> str:
        return f"{self.kind}, kernel={self.kernel}, stride={self.stride}, pad={self.pad}"


class MaxPool(Pool2d):
    """Max pooling: its own class, so that diagrams (which read the class name) say "max"."""

    def __init__(self, a: dict) -> None:
        super().__init__("max", a)


class AvgPool(Pool2d):
    def __init__(self, a: dict) -> None:
        super().__init__("avg", a)


class BatchNorm(nn.BatchNorm2d):
    """Batch normalisation over channels of an image (N, C, H, W) or features (N, F)."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 4):
            raise ValueError(f"expected a 2D or 4D input (got {x.dim()}D)")


class GlobalPool2d(nn.Module):
    def __init__(self, kind: str, keepdims: bool) -> None:
        super().__init__()
        self.kind, self.keepdims = kind, keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = (
            x.mean(dim=(2, 3), keepdim=True)
            if self.kind == "avg"
            else x.amax(dim=(2, 3), keepdim=True)
        )
        return out if self.keepdims else out.flatten(1)


class Rescale(nn.Module):
    """``x * scale + offset`` per channel or overall: Keras' Rescaling.

    One ``torch.addcmul`` call, so that the graph tracer sees one operation of its own kind
    (``graph_kind``), not a multiplication and a residual addition.
    """

    graph_kind = "scale"

    def __init__(self, scale: list[float], offset: list[float]) -> None:
        super().__init__()
        self.scale, self.offset = list(scale), list(offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        s = torch.tensor(self.scale, dtype=x.dtype, device=x.device).reshape(shape)
        o = torch.tensor(self.offset, dtype=x.dtype, device=x.device).reshape(shape)
        return torch.addcmul(o, x, s)


class Normalize(Rescale):
    """``(x - mean) / std`` per channel, as ``x * (1 / std) - mean / std``: Keras' Normalization."""

    graph_kind = "norm"

    def __init__(self, mean: list[float], std: list[float]) -> None:
        stds = std * len(mean) if len(std) == 1 else std
        super().__init__([1 / s for s in std], [-m / s for m, s in zip(mean, stds, strict=False)])

    def extra_repr(self) -> str:
        return f"scale={self.scale[:4]}, offset={self.offset[:4]}"


class Flatten(nn.Flatten):
    def __init__(self, channels_last: bool) -> None:
        super().__init__()
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.permute(0, 2, 3, 1) if self.channels_last and x.dim() == 4 else x).flatten(1)


class Reshape(nn.Module):
    def __init__(self, shape: list[int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class Merge(nn.Module):
    """Adds its inputs, or joins them along ``dim`` (1: channels)."""

    def __init__(self, op: str, dim: int = 1) -> None:
        super().__init__()
        self.op, self.dim = op, dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.op == "concat":
            return torch.cat(xs, dim=self.dim)
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


def node_module(node: Node) -> nn.Module:
    """The module of one node (its weights initialised by torch; a checkpoint fills them)."""
    a, op = node.args, node.op
    if op == "conv2d":
        return Conv2d(
            a["in_channels"],
            a["out_channels"],
            a["kernel"],
            a.get("stride", 1),
            a.get("padding", 0),
            a.get("dilation", 1),
            a.get("groups", 1),
            a.get("bias", True),
            activation=a.get("activation", "linear"),
        )
    if op == "linear":
        return Linear(
            a["in_features"],
            a["out_features"],
            a.get("bias", True),
            activation=a.get("activation", "linear"),
        )
    if op == "batch_norm":
        return BatchNorm(a["num_features"], eps=a.get("eps", 1e-5), momentum=a.get("momentum", 0.1))
    if op in ("add", "concat"):
        return Merge(op, a.get("dim", 1))
    simple = {
        "separable_conv2d": lambda: SeparableConv2d(a),
        "max_pool2d": lambda: MaxPool(a),
        "avg_pool2d": lambda: AvgPool(a),
        "global_avg_pool2d": lambda: GlobalPool2d("avg", a.get("keepdims", False)),
        "global_max_pool2d": lambda: GlobalPool2d("max", a.get("keepdims", False)),
        "dropout": lambda: nn.Dropout(a.get("p", 0.5)),
        "pad": lambda: nn.ConstantPad2d(tuple(a["pad"]), a.get("value", 0.0)),
        "flatten": lambda: Flatten(a.get("channels_last", False)),
        "reshape": lambda: Reshape(a["shape"]),
        "act": lambda: _activation(a["fn"], node),
        "scale": lambda: Rescale(a["scale"], a.get("offset", [0.0])),
        "normalize": lambda: Normalize(a["mean"], a["std"]),
        "identity": nn.Identity,
    }
    return simple[op]()
