"""The allow-list of a model spec: its operations, each with typed and bounded arguments.

``OPS`` maps an operation to ``{argument: (kind, low, high, required)}``; every other argument
is refused, and :func:`check_args` returns the clean arguments of one node or raises
:class:`SpecError` naming the node, the argument and the rule.
"""

from __future__ import annotations

import math
from typing import Any

from explorer.models.errors import CheckpointFormatError, is_int, json_type, quote

MAX_CHANNELS = 8192
MAX_FEATURES = 1 << 22

# Activations a conv / linear node can apply to its own output (Keras' ``activation=``), and
# those of the stand-alone "act" node (which may take alpha / min / max / dim).
FUSED_ACTIVATIONS = (
    "linear",
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "silu",
    "gelu",
    "leaky_relu",
)
ACTIVATIONS = (*FUSED_ACTIVATIONS, "clip")


class SpecError(CheckpointFormatError):
    """A model spec that is malformed, refused by a bound, or whose shapes do not fit."""


_INT, _BOOL, _FLOAT, _PAIR, _QUAD, _FLOATS, _INTS, _TEXT = (
    "int",
    "bool",
    "float",
    "pair",
    "quad",
    "floats",
    "ints",
    "text",
)

# op -> {arg: (kind, low, high, required)}; every other arg is refused.
OPS: dict[str, dict[str, tuple[str, float, float, bool]]] = {
    "conv2d": {
        "in_channels": (_INT, 1, MAX_CHANNELS, True),
        "out_channels": (_INT, 1, MAX_CHANNELS, True),
        "kernel": (_PAIR, 1, 31, True),
        "stride": (_PAIR, 1, 16, False),
        "padding": (_PAIR, 0, 64, False),
        "dilation": (_PAIR, 1, 16, False),
        "groups": (_INT, 1, MAX_CHANNELS, False),
        "bias": (_BOOL, 0, 0, False),
        "activation": (_TEXT, 0, 0, False),
    },
    "separable_conv2d": {
        "in_channels": (_INT, 1, MAX_CHANNELS, True),
        "out_channels": (_INT, 1, MAX_CHANNELS, True),
        "kernel": (_PAIR, 1, 31, True),
        "stride": (_PAIR, 1, 16, False),
        "padding": (_PAIR, 0, 64, False),
        "dilation": (_PAIR, 1, 16, False),
        "multiplier": (_INT, 1, 64, False),
        "bias": (_BOOL, 0, 0, False),
        "activation": (_TEXT, 0, 0, False),
    },
    "linear": {
        "in_features": (_INT, 1, MAX_FEATURES, True),
        "out_features": (_INT, 1, 65536, True),
        "bias": (_BOOL, 0, 0, False),
        "activation": (_TEXT, 0, 0, False),
    },
    "max_pool2d": {
        "kernel": (_PAIR, 1, 64, True),
        "stride": (_PAIR, 1, 64, False),
        "pad": (_QUAD, 0, 64, False),
        "ceil_mode": (_BOOL, 0, 0, False),
    },
    "avg_pool2d": {
        "kernel": (_PAIR, 1, 64, True),
        "stride": (_PAIR, 1, 64, False),
        "pad": (_QUAD, 0, 64, False),
        "ceil_mode": (_BOOL, 0, 0, False),
        "count_include_pad": (_BOOL, 0, 0, False),
    },
    "global_avg_pool2d": {"keepdims": (_BOOL, 0, 0, False)},
    "global_max_pool2d": {"keepdims": (_BOOL, 0, 0, False)},
    "batch_norm": {
        "num_features": (_INT, 1, MAX_FEATURES, True),
        "eps": (_FLOAT, 0, 1, False),
        "momentum": (_FLOAT, 0, 1, False),
    },
    "dropout": {"p": (_FLOAT, 0, 1, False)},
    "pad": {"pad": (_QUAD, 0, 256, True), "value": (_FLOAT, -1e30, 1e30, False)},
    "flatten": {"channels_last": (_BOOL, 0, 0, False)},
    "reshape": {"shape": (_INTS, -1, MAX_FEATURES, True)},
    "act": {
        "fn": (_TEXT, 0, 0, True),
        "alpha": (_FLOAT, -1e6, 1e6, False),
        "min": (_FLOAT, -1e30, 1e30, False),
        "max": (_FLOAT, -1e30, 1e30, False),
        "dim": (_INT, -4, 3, False),
    },
    "scale": {"scale": (_FLOATS, -1e30, 1e30, True), "offset": (_FLOATS, -1e30, 1e30, False)},
    "normalize": {"mean": (_FLOATS, -1e30, 1e30, True), "std": (_FLOATS, 1e-12, 1e30, True)},
    "add": {},
    "concat": {"dim": (_INT, 1, 3, False)},
    "identity": {},
}
MULTI_INPUT = ("add", "concat")


def check_args(name: str, op: str, args: Any) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise SpecError(
            f"Node {quote(name)}'s arguments are a JSON {json_type(args)}, not an object."
        )
    rules = OPS[op]
    for key in args:
        if key not in rules:
            raise SpecError(f"Node {quote(name)} ({op}) does not take the argument {quote(key)}.")
    clean = {}
    for key, (kind, low, high, required) in rules.items():
        if key not in args:
            if required:
                raise SpecError(f"Node {quote(name)} ({op}) needs the argument {quote(key)}.")
            continue
        clean[key] = _value(
            f"Node {quote(name)}'s argument {quote(key)}", kind, low, high, args[key]
        )
    act = clean.get("fn", clean.get("activation", "linear"))
    allowed = ACTIVATIONS if op == "act" else FUSED_ACTIVATIONS
    if act not in allowed:
        raise SpecError(
            f"Node {quote(name)} uses the activation {quote(act)}; supported are {', '.join(allowed)}."
        )
    return clean


def _value(what: str, kind: str, low: float, high: float, value: Any) -> Any:
    if kind == _BOOL:
        if not isinstance(value, bool):
            raise SpecError(f"{what} must be true or false.")
        return value
    if kind == _TEXT:
        if not isinstance(value, str) or len(value) > 40:
            raise SpecError(f"{what} must be a short text.")
        return value
    if kind in (_PAIR, _QUAD, _FLOATS, _INTS):
        size = {_PAIR: 2, _QUAD: 4}.get(kind)
        if (
            not isinstance(value, list)
            or (size and len(value) != size)
            or not 1 <= len(value) <= MAX_CHANNELS
        ):
            raise SpecError(
                f"{what} must be a list of {size or 'up to ' + str(MAX_CHANNELS)} numbers."
            )
        item = _INT if kind in (_PAIR, _QUAD, _INTS) else _FLOAT
        return [_value(what, item, low, high, v) for v in value]
    if (
        kind == _INT
        and not is_int(value)
        or kind == _FLOAT
        and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        )
    ):
        raise SpecError(
            f"{what} must be a {'whole ' if kind == _INT else ''}number, not a JSON {json_type(value)}."
        )
    if not low <= value <= high:
        raise SpecError(f"{what} must be from {low:g} to {high:g}, not {value:g}.")
    return value
