"""Validate before building: build arguments on an allow-list, the model planned on the meta device.

A checkpoint's metadata says which catalog entry to build and with which keyword arguments.
Those arguments are checked against the entry's allow-list and bounds, then the model is built
on the meta device (no memory) to count parameters, estimate activation memory and list every
tensor's shape, all refused above the caps before a single real tensor exists.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from explorer.models.catalog import get_spec
from explorer.models.catalog_types import ArchSpec
from explorer.models.errors import (
    CheckpointMismatchError,
    CheckpointRefusedError,
    first_line,
    is_int,
    json_type,
    quote,
)

MAX_PARAMETERS = 150_000_000  # VGG-19 (143.7 M) fits; anything larger is refused before building
MAX_ACTIVATION_BYTES = 1 * 2**30  # every intermediate tensor of one input (VGG-19: ~130 MiB)


# Bounds by argument name: (low, high) for whole numbers, a tuple of texts for choices, bool for
# flags. Wide enough for every model the app trains or ships, narrow enough that no metadata can
# ask for a model that does not fit one machine (the meta-device plan below is the second guard).
ARG_BOUNDS: dict[str, Any] = {
    "in_channels": (1, 4),  # grey, RGB (and RGBA-like inputs)
    "num_classes": (1, 1000),  # ImageNet's 1000 at most
    "image_size": (8, 256),  # the offline datasets are 28 to 64 pixels
    "blocks": (1, 30),  # residual blocks of the deep twins (9 by default)
    "input_size": (1, 1024),
    "hidden_size": (1, 1024),
    "num_layers": (1, 8),
    "bidirectional": bool,
    "batch_first": bool,
    "nonlinearity": ("tanh", "relu"),
}
# Arguments an entry accepts beyond its catalog defaults.
_EXTRA_ARGS: dict[str, tuple[str, ...]] = {
    "plain_deep": ("blocks",),
    "residual_deep": ("blocks",),
    "nin": ("in_channels",),
}
_RNN_ARGS = (
    "input_size",
    "hidden_size",
    "num_layers",
    "bidirectional",
    "batch_first",
    "nonlinearity",
)


def allowed_build_args(spec: ArchSpec) -> tuple[str, ...]:
    """The build arguments a checkpoint may set for ``spec`` (its allow-list)."""
    names = [k for k, _ in spec.defaults] + list(_EXTRA_ARGS.get(spec.key, ()))
    if spec.kind == "rnn":
        names += _RNN_ARGS
    elif not spec.compact:
        names.append("num_classes")  # a full-size network fine-tuned to fewer classes
    return tuple(n for n in dict.fromkeys(names) if n in ARG_BOUNDS)


def validate_build(spec: ArchSpec, build: Any) -> dict[str, Any]:
    """``build`` checked against ``spec``'s allow-list and bounds; a copy safe to build from."""
    if not isinstance(build, dict):
        raise CheckpointRefusedError(
            f"The build arguments are a JSON {json_type(build)}, not an object."
        )
    allowed = allowed_build_args(spec)
    clean: dict[str, Any] = {}
    for name, value in build.items():
        if name not in allowed:
            accepted = ", ".join(allowed) or "none"
            raise CheckpointRefusedError(
                f"{spec.title} does not take the build argument {quote(name)} (accepted: {accepted})."
            )
        rule = ARG_BOUNDS[name]
        if rule is bool:
            if not isinstance(value, bool):
                raise CheckpointRefusedError(f"The build argument '{name}' must be true or false.")
        elif isinstance(rule[0], str):
            if value not in rule:
                raise CheckpointRefusedError(
                    f"The build argument '{name}' must be one of {', '.join(rule)}, not {quote(value)}."
                )
        elif not is_int(value) or not rule[0] <= value <= rule[1]:
            shown = quote(value) if isinstance(value, str) else str(value)[:40]
            raise CheckpointRefusedError(
                f"The build argument '{name}' must be a whole number from {rule[0]} to {rule[1]}, "
                f"not {shown}."
            )
        clean[name] = value
    _check_input_channels(spec, clean)
    return clean


def input_channels_taken(spec: ArchSpec) -> tuple[int, ...]:
    """The input channel counts the image pages can feed ``spec``: a full-size (ImageNet)
    network gets 3-channel colour images only; a compact one gets its images grey (1) or in
    colour (3), as its weights were trained (explorer.data.images)."""
    return (1, 3) if spec.compact else (spec.input_shape[0],)


def _check_input_channels(spec: ArchSpec, build: dict[str, Any]) -> None:
    """Refuse a model reading a channel count the explorer has no images for, before it is built."""
    if spec.kind == "rnn" or "in_channels" not in build:
        return
    channels, taken = build["in_channels"], input_channels_taken(spec)
    if channels in taken:
        return
    words = {1: "1 (grey images)", 3: "3 (colour images)"}
    plural = "" if channels == 1 else "s"
    raise CheckpointRefusedError(
        f"This checkpoint's {spec.title} reads {channels} input channel{plural}, but {spec.title} takes "
        f"{' or '.join(words.get(c, str(c)) for c in taken)}: the explorer has no such images for it. "
        f"Save it with in_channels={' or '.join(map(str, taken))}."
    )


@dataclass(frozen=True)
class ModelPlan:
    """What a model would cost, measured on the meta device (no real tensor allocated)."""

    arch: str
    build: dict[str, Any]
    parameters: int
    activation_bytes: int  # every intermediate tensor of one input, views excluded
    input_shape: tuple[int, ...]
    state_shapes: dict[str, tuple[int, ...]]


def _input_shape(spec: ArchSpec, build: dict[str, Any]) -> tuple[int, ...]:
    """One input with a batch of 1: N x C x H x W, or (steps=1) x N x features for recurrent nets."""
    if spec.kind == "rnn":
        return (
            1,
            1,
            int(
                build.get("input_size", dict(spec.defaults).get("input_size", spec.input_shape[-1]))
            ),
        )
    size = int(build.get("image_size", spec.input_shape[-1]))
    return (1, int(build.get("in_channels", spec.input_shape[0])), size, size)


def _activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Sum of every tensor an operator creates in one forward pass on meta (views excluded)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class Tally(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if not func.is_view:
                for t in tree_flatten(out)[0]:
                    if isinstance(t, torch.Tensor):
                        self.total += t.numel() * t.element_size()
            return out

    tally = Tally()
    with torch.no_grad(), tally:
        model(x)
    return tally.total


def plan_model(arch: str, build: Any) -> ModelPlan:
    """Validate ``build`` for ``arch`` and measure the model on the meta device, within the caps.

    Nothing real is allocated: a refused plan costs a few milliseconds and no memory, and the
    measurement is kept (a page rerun with the same upload does not measure again).
    """
    spec = spec_for(arch)
    clean = validate_build(spec, build)
    try:
        params, act, states = _measure(spec.key, tuple(clean.items()))
    except Exception as err:
        raise CheckpointRefusedError(
            f"{spec.title} cannot be built with {_describe(clean)}: {first_line(err)}"
        ) from None
    if params > MAX_PARAMETERS:
        raise CheckpointRefusedError(
            f"{spec.title} with {_describe(clean)} would have {params:,} parameters; the limit "
            f"is {MAX_PARAMETERS:,}."
        )
    if act > MAX_ACTIVATION_BYTES:
        raise CheckpointRefusedError(
            f"{spec.title} with {_describe(clean)} would need {act / 2**20:,.0f} MB of activations for "
            f"one input; the limit is {MAX_ACTIVATION_BYTES // 2**20:,} MB."
        )
    return ModelPlan(
        arch=spec.key,
        build=clean,
        parameters=params,
        activation_bytes=act,
        input_shape=_input_shape(spec, clean),
        state_shapes=dict(states),
    )


@functools.lru_cache(maxsize=64)
def _measure(
    arch: str, items: tuple[tuple[str, Any], ...]
) -> tuple[int, int, tuple[tuple[str, tuple[int, ...]], ...]]:
    """Parameters, activation bytes and state shapes of a validated (arch, build), on meta."""
    spec, build = get_spec(arch), dict(items)
    with torch.device("meta"):
        model = spec.build(**build).eval()
    params = sum(p.numel() for p in model.parameters())
    steps = spec.input_shape[0] if spec.kind == "rnn" else 1  # one step measured, times the steps
    act = _activation_bytes(model, torch.empty(_input_shape(spec, build), device="meta")) * steps
    return params, act, tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())


_LAYERS_IN_TITLE = re.compile(r"\((\d+) layers\)")


def built_title(arch: str, build: Any) -> str:
    """The catalog title of ``arch``, with a layer count in it ("Its residual twin (20 layers)")
    counted for this build: a checkpoint of the twin with 30 blocks is titled (62 layers).
    Weight layers (convolutions and dense layers) are counted on the meta device; a build that
    does not validate keeps the catalog's title."""
    spec = spec_for(arch)
    if not _LAYERS_IN_TITLE.search(spec.title):
        return spec.title
    try:
        n = _weight_layers(spec.key, tuple(validate_build(spec, build or {}).items()))
    except Exception:
        return spec.title
    return _LAYERS_IN_TITLE.sub(f"({n} layers)", spec.title, count=1)


@functools.lru_cache(maxsize=64)
def _weight_layers(arch: str, items: tuple[tuple[str, Any], ...]) -> int:
    with torch.device("meta"):
        model = get_spec(arch).build(**dict(items))
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def _describe(build: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in build.items()) or "its default arguments"


def spec_for(arch: str) -> ArchSpec:
    """The catalog entry a checkpoint names; an unknown name is a checkpoint error."""
    try:
        return get_spec(arch)
    except KeyError as err:
        raise CheckpointMismatchError(str(err.args[0])) from None


# --------------------------------------------------------------------------- strict comparison


def check_shapes(expected: dict[str, tuple[int, ...]], got: dict[str, tuple[int, ...]]) -> None:
    """Every expected key with its exact shape, and nothing else; the first difference is named."""
    for key, shape in expected.items():
        if key not in got:
            raise CheckpointMismatchError(
                f"The checkpoint does not fit this architecture: key {key!r} (shape {shape}) is missing "
                "from the checkpoint."
            )
        if tuple(got[key]) != tuple(shape):
            raise CheckpointMismatchError(
                f"The checkpoint does not fit this architecture: {key!r} has shape {tuple(got[key])} "
                f"in the checkpoint but {shape} in the model."
            )
    extra = [k for k in got if k not in expected]
    if extra:
        raise CheckpointMismatchError(
            f"The checkpoint does not fit this architecture: it has an unexpected key {extra[0]!r} "
            f"(shape {tuple(got[extra[0]])}) that the model does not have."
        )


def check_finite(state: dict[str, torch.Tensor]) -> None:
    """Refuse NaN or inf weights, naming the tensors (every view would show nan or nothing)."""
    bad = sorted(
        k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())
    )
    if bad:
        names = ", ".join(repr(k) for k in bad[:5]) + (
            f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        )
        raise CheckpointRefusedError(
            f"The checkpoint's weights contain NaN or infinite values (in {names}); a diverged run "
            "cannot be inspected. Save the model from an earlier, finite step."
        )
