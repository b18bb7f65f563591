"""The one checkpoint format: safetensors tensors plus the app's JSON metadata, read as untrusted.

A checkpoint is a safetensors file whose header metadata holds one key, ``explorer``: the JSON
of :class:`CheckpointMeta` (``arch``, ``build``, ``classes``, ``dataset``, ``settings``,
``metrics``, ``format``). Safetensors holds raw tensors only, so reading never runs code. The
bundled weights in assets/weights, the Training page's downloads, uploads and the scripts all
use this format and this module.

Reading is validated before anything is built: the header is parsed and checked here (not by
trusting a library with arbitrary JSON), the metadata's ``build`` arguments go through an
allow-list with bounds, the model is planned on the meta device (parameters, activation
memory, every tensor's shape) and compared with the header, and only then are tensors read
and real memory allocated. Every failure is one :class:`CheckpointError` whose message is
meant for the user.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.models.catalog import ArchSpec, get_spec

FORMAT_VERSION = 1
META_KEY = "explorer"
# 128 MiB: every compact model, ResNet-18/34/50, GoogLeNet and NiN in float32, AlexNet in
# float16. .streamlit/config.toml's server.maxUploadSize is the same number (a test checks it).
MAX_CHECKPOINT_BYTES = 128 * 2**20
MAX_HEADER_BYTES = 4 * 2**20  # a ResNet-50 header is ~30 KB; the metadata adds a few KB
MAX_JSON_DEPTH = 16  # settings and metrics are shallow; deeper JSON is refused, not recursed into
MAX_CLASSES = 10_000
MAX_TEXT = 200  # characters of a class name, dataset name or architecture key
MAX_TENSORS = 4096
MAX_PARAMETERS = 150_000_000  # VGG-19 (143.7 M) fits; anything larger is refused before building
MAX_ACTIVATION_BYTES = 1 * 2**30  # every intermediate tensor of one input (VGG-19: ~130 MiB)


# --------------------------------------------------------------------------- errors


class WeightsError(RuntimeError):
    """Base class: weights could not be provided; the message is meant for the user."""


class CheckpointError(WeightsError, ValueError):
    """A checkpoint that cannot be read, is refused or does not fit; the message says why."""


class CheckpointFormatError(CheckpointError):
    """Not a readable checkpoint: a broken file, header or metadata."""


class CheckpointRefusedError(CheckpointError):
    """A readable checkpoint refused by a limit: build arguments, model size, NaN or inf weights."""


class CheckpointMismatchError(CheckpointError):
    """A state dict that does not fit the architecture (a missing, extra or mis-shaped tensor)."""


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about itself (JSON in the safetensors metadata)."""

    arch: str
    build: dict[str, Any] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    dataset: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        """Strict JSON: a non-finite metric (a diverged loss) is written as null, not NaN."""
        return json.dumps(_finite(asdict(self)), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> CheckpointMeta:
        """Parse and validate; any malformed value gives :class:`CheckpointFormatError`."""
        return cls.from_obj(_loads(text, "The checkpoint's 'explorer' metadata"))

    @classmethod
    def from_obj(cls, data: Any) -> CheckpointMeta:
        """Validate decoded JSON of any type, value or depth into metadata."""
        if not isinstance(data, dict):
            raise CheckpointFormatError(
                f"The checkpoint's metadata is a JSON {_json_type(data)}, not an object with 'arch'."
            )
        fmt = data.get("format", FORMAT_VERSION)
        if not _is_int(fmt):
            raise CheckpointFormatError(
                f"The checkpoint's metadata has a 'format' that is a JSON {_json_type(fmt)}, not a "
                "whole number."
            )
        if fmt > FORMAT_VERSION:
            raise CheckpointFormatError(
                f"This checkpoint uses format {fmt}, newer than this app reads ({FORMAT_VERSION})."
            )
        if fmt < 1:
            raise CheckpointFormatError(f"This checkpoint's format {fmt} is not a format of this app.")
        arch = data.get("arch")
        if not isinstance(arch, str) or not arch:
            raise CheckpointFormatError("The checkpoint's metadata does not name its architecture ('arch').")
        if len(arch) > MAX_TEXT:
            raise CheckpointFormatError(f"The checkpoint's 'arch' is longer than {MAX_TEXT} characters.")
        build = _optional(data, "build", dict, {})
        for key, value in build.items():
            if not isinstance(value, (bool, int, float, str)):
                raise CheckpointFormatError(
                    f"The checkpoint's build argument {_short(key)} is a JSON {_json_type(value)}; "
                    "only numbers, true/false and text are build arguments."
                )
        classes = _optional(data, "classes", list, [])
        if len(classes) > MAX_CLASSES:
            raise CheckpointFormatError(f"The checkpoint lists more than {MAX_CLASSES} classes.")
        for c in classes:
            if isinstance(c, bool) or not isinstance(c, (str, int)) or len(str(c)) > MAX_TEXT:
                raise CheckpointFormatError(
                    f"The checkpoint's class names must be short texts (at most {MAX_TEXT} characters)."
                )
        dataset = _optional(data, "dataset", str, "")
        if len(dataset) > MAX_TEXT:
            raise CheckpointFormatError(f"The checkpoint's 'dataset' is longer than {MAX_TEXT} characters.")
        settings = _optional(data, "settings", dict, {})
        metrics = _optional(data, "metrics", dict, {})
        for name, value in (("settings", settings), ("metrics", metrics)):
            if _depth(value) > MAX_JSON_DEPTH:
                raise CheckpointFormatError(f"The checkpoint's '{name}' is nested too deeply.")
        return cls(arch=arch, build=dict(build), classes=[str(c) for c in classes], dataset=dataset,
                   settings=dict(settings), metrics=dict(metrics), format=int(fmt))  # fmt: skip


def _optional(data: dict, key: str, kind: type, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise CheckpointFormatError(
            f"The checkpoint's '{key}' is a JSON {_json_type(value)}, not a JSON {_json_type(kind())}."
        )
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(text: Any, limit: int = 40) -> str:
    """A user string quoted for a message, cut to ``limit`` characters."""
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _depth(value: Any) -> int:
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


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None  # 1e400 overflows to inf: read as null


def _loads(text: str | bytes, what: str) -> Any:
    """json.loads that turns every failure (syntax, encoding, depth) into one error.

    NaN, Infinity and overflowing numbers (1e400) are read as null, so no float that Python
    cannot print or compare reaches the app; fields that need a number then refuse it.
    """
    try:
        return json.loads(text, parse_constant=lambda _: None, parse_float=_finite_float)
    except RecursionError:
        raise CheckpointFormatError(f"{what} is nested too deeply to be read.") from None
    except (ValueError, TypeError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CheckpointFormatError(f"{what} is not valid JSON ({_first_line(err)}).") from None


def _first_line(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:160]


# --------------------------------------------------------------------------- the header


# safetensors dtype -> (torch dtype, bytes per element); float8 and other exotic types are refused.
DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4),
    "I16": (torch.int16, 2), "I8": (torch.int8, 1), "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
}  # fmt: skip


@dataclass(frozen=True)
class Header:
    """A checked safetensors header: tensor name -> (dtype, shape), and the string metadata."""

    tensors: dict[str, tuple[str, tuple[int, ...]]]
    metadata: dict[str, str]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: shape for k, (_, shape) in self.tensors.items()}


def read_header(data: bytes) -> Header:
    """Parse and check a safetensors header without reading any tensor.

    Layout: 8 bytes little-endian header length, the header as JSON, then the tensor bytes.
    """
    if not data:
        raise CheckpointFormatError("The checkpoint file is empty.")
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointRefusedError(
            f"The checkpoint is {len(data) / 2**20:.0f} MB; the limit is {MAX_CHECKPOINT_BYTES // 2**20} MB "
            "(saving the weights in float16 halves a file)."
        )
    bad = "This is not a readable safetensors file"
    if len(data) < 8:
        raise CheckpointFormatError(f"{bad} (it is shorter than a safetensors header).")
    n = int.from_bytes(data[:8], "little")
    if n < 2 or 8 + n > len(data) or n > MAX_HEADER_BYTES:
        raise CheckpointFormatError(f"{bad} (its header length {n} does not fit the file).")
    header = _loads(bytes(data[8 : 8 + n]), f"{bad}: its header")
    if not isinstance(header, dict):
        raise CheckpointFormatError(f"{bad} (its header is a JSON {_json_type(header)}, not an object).")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointFormatError(f"{bad} (its metadata must map names to texts).")
    if len(header) > MAX_TENSORS + 1:
        raise CheckpointRefusedError(f"The checkpoint has more than {MAX_TENSORS} tensors.")
    body = len(data) - 8 - n
    tensors = {}
    for name, entry in header.items():
        if name != "__metadata__":
            tensors[name] = _tensor_entry(name, entry, body)
    return Header(tensors=tensors, metadata=dict(metadata))


def _tensor_entry(name: str, entry: Any, body: int) -> tuple[str, tuple[int, ...]]:
    where = f"This is not a readable safetensors file: tensor {_short(name)}"
    if not isinstance(entry, dict):
        raise CheckpointFormatError(f"{where} is described by a JSON {_json_type(entry)}.")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise CheckpointFormatError(
            f"{where} has dtype {_short(dtype)}; readable are {', '.join(DTYPES)}."
        )
    if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(d) and d >= 0 for d in shape):
        raise CheckpointFormatError(f"{where} has no valid shape (a list of at most 8 sizes).")
    if (
        not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= body
    ):  # fmt: skip
        raise CheckpointFormatError(f"{where} points outside the file.")
    if offsets[1] - offsets[0] != math.prod(shape) * DTYPES[dtype][1]:
        raise CheckpointFormatError(f"{where} has a byte range that does not match its shape.")
    return dtype, tuple(shape)


def read_meta(data: bytes) -> CheckpointMeta:
    """Only the metadata: reads the header, never the tensors."""
    return _meta_of(read_header(data))


def _meta_of(header: Header) -> CheckpointMeta:
    if META_KEY not in header.metadata:
        raise CheckpointFormatError(
            "This safetensors file has no 'explorer' metadata, so the app cannot tell which "
            "architecture it belongs to. Save checkpoints from the Training page."
        )
    return CheckpointMeta.from_json(header.metadata[META_KEY])


def _read_tensors(data: bytes) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(bytes(data))
    except (SafetensorError, ValueError, OSError, RuntimeError) as err:
        raise CheckpointFormatError(f"This is not a readable safetensors file ({_first_line(err)}).") from None


def load_checkpoint(data: bytes) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Tensors and metadata of a checkpoint; :class:`CheckpointError` for anything unreadable."""
    meta = _meta_of(read_header(data))
    return _read_tensors(data), meta


def load_checkpoint_file(path: Path | str) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    return load_checkpoint(Path(path).read_bytes())


# --------------------------------------------------------------------------- writing


def _state_for_saving(model_or_state: nn.Module | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    # safetensors wants contiguous CPU tensors that do not share memory.
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def save_checkpoint(model: nn.Module | dict[str, torch.Tensor], meta: CheckpointMeta) -> bytes:
    """The checkpoint as bytes (for a download button or a file)."""
    from safetensors.torch import save

    return save(_state_for_saving(model), metadata={META_KEY: meta.to_json()})


def save_checkpoint_file(model: nn.Module | dict[str, torch.Tensor], meta: CheckpointMeta,
                         path: Path | str) -> Path:  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(save_checkpoint(model, meta))
    return path


# --------------------------------------------------------------------------- build arguments

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
    "plain_deep": ("blocks",), "residual_deep": ("blocks",), "nin": ("in_channels",),
}  # fmt: skip
_RNN_ARGS = ("input_size", "hidden_size", "num_layers", "bidirectional", "batch_first", "nonlinearity")


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
        raise CheckpointRefusedError(f"The build arguments are a JSON {_json_type(build)}, not an object.")
    allowed = allowed_build_args(spec)
    clean: dict[str, Any] = {}
    for name, value in build.items():
        if name not in allowed:
            accepted = ", ".join(allowed) or "none"
            raise CheckpointRefusedError(
                f"{spec.title} does not take the build argument {_short(name)} (accepted: {accepted})."
            )
        rule = ARG_BOUNDS[name]
        if rule is bool:
            if not isinstance(value, bool):
                raise CheckpointRefusedError(f"The build argument '{name}' must be true or false.")
        elif isinstance(rule[0], str):
            if value not in rule:
                raise CheckpointRefusedError(
                    f"The build argument '{name}' must be one of {', '.join(rule)}, not {_short(value)}."
                )
        elif not _is_int(value) or not rule[0] <= value <= rule[1]:
            shown = _short(value) if isinstance(value, str) else str(value)[:40]
            raise CheckpointRefusedError(
                f"The build argument '{name}' must be a whole number from {rule[0]} to {rule[1]}, "
                f"not {shown}."
            )
        clean[name] = value
    return clean


# --------------------------------------------------------------------------- the plan on meta


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
        return (1, 1, int(build.get("input_size", dict(spec.defaults).get("input_size", spec.input_shape[-1]))))
    size = int(build.get("image_size", spec.input_shape[-1]))
    return (1, int(build.get("in_channels", spec.input_shape[0])), size, size)


def _activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Sum of every tensor an operator creates in one forward pass on meta (views excluded)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class Tally(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
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

    Nothing real is allocated: a refused plan costs a few milliseconds and no memory.
    """
    spec = _spec(arch)
    clean = validate_build(spec, build)
    shape = _input_shape(spec, clean)
    try:
        with torch.device("meta"):
            model = spec.build(**clean).eval()
        params = sum(p.numel() for p in model.parameters())
        if params > MAX_PARAMETERS:
            raise CheckpointRefusedError(
                f"{spec.title} with {_describe(clean)} would have {params:,} parameters; the limit "
                f"is {MAX_PARAMETERS:,}."
            )
        steps = spec.input_shape[0] if spec.kind == "rnn" else 1
        act = _activation_bytes(model, torch.empty(shape, device="meta")) * steps
    except CheckpointError:
        raise
    except Exception as err:  # noqa: BLE001 - any builder failure is this checkpoint's fault
        raise CheckpointRefusedError(
            f"{spec.title} cannot be built with {_describe(clean)}: {_first_line(err)}"
        ) from None
    if act > MAX_ACTIVATION_BYTES:
        raise CheckpointRefusedError(
            f"{spec.title} with {_describe(clean)} would need {act / 2**20:,.0f} MB of activations for "
            f"one input; the limit is {MAX_ACTIVATION_BYTES // 2**20:,} MB."
        )
    states = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return ModelPlan(arch=spec.key, build=clean, parameters=params, activation_bytes=act,
                     input_shape=shape, state_shapes=states)  # fmt: skip


def _describe(build: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in build.items()) or "its default arguments"


def _spec(arch: str) -> ArchSpec:
    try:
        return get_spec(arch)
    except KeyError as err:
        raise CheckpointMismatchError(str(err.args[0])) from None


# --------------------------------------------------------------------------- strict loading


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
    bad = sorted(k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all()))
    if bad:
        names = ", ".join(repr(k) for k in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise CheckpointRefusedError(
            f"The checkpoint's weights contain NaN or infinite values (in {names}); a diverged run "
            "cannot be inspected. Save the model from an earlier, finite step."
        )


def load_state_strict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` into ``model`` strictly; a mismatch names the first bad key and both shapes."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    check_shapes(expected, {k: tuple(v.shape) for k, v in state.items()})
    model.load_state_dict(state, strict=True)


# --------------------------------------------------------------------------- checkpoint -> model


def model_from_state(arch: str, build: Any, state: dict[str, torch.Tensor]) -> nn.Module:
    """The catalog model ``arch`` built with ``build`` and loaded strictly from ``state``, in eval mode.

    Build arguments, size and every shape are checked on the meta device first; NaN or inf
    weights are refused. Used by the checkpoint reader and the per-user model registry.
    """
    plan = plan_model(arch, build)
    check_shapes(plan.state_shapes, {k: tuple(v.shape) for k, v in state.items()})
    check_finite(state)
    return _materialise(plan, state)


def _materialise(plan: ModelPlan, state: dict[str, torch.Tensor]) -> nn.Module:
    try:
        model = get_spec(plan.arch).build(**plan.build)
    except Exception as err:  # noqa: BLE001 - planned on meta; a real build failing is still ours to say
        raise CheckpointRefusedError(f"{plan.arch} cannot be built: {_first_line(err)}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:  # dtypes that cannot be copied (e.g. a bool into a float weight)
        raise CheckpointMismatchError(
            f"The checkpoint does not fit this architecture: {_first_line(err)}"
        ) from None
    return model.eval()


def model_from_checkpoint(data: bytes, *, arch: str | None = None) -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the catalog architecture a checkpoint names and load its weights strictly.

    ``arch``: the architecture the caller expects. A checkpoint saved for another one is
    refused naming both; a plain safetensors file without the app's metadata is then read as
    weights for ``arch`` with its catalog build arguments. Every check runs before any tensor
    is read or any real memory allocated.
    """
    header = read_header(data)
    if arch is not None and META_KEY not in header.metadata:
        meta = CheckpointMeta(arch=arch, build=_spec(arch).build_kwargs)
    else:
        meta = _meta_of(header)
    if arch is not None and meta.arch != arch:
        raise CheckpointMismatchError(
            f"This checkpoint was saved for {_title(meta.arch)}, not {_title(arch)}. "
            f"Choose {_title(meta.arch)} as the architecture."
        )
    plan = plan_model(meta.arch, meta.build)
    check_shapes(plan.state_shapes, header.shapes())
    state = _read_tensors(data)
    check_finite(state)
    return _materialise(plan, state), meta


def _title(arch: str) -> str:
    try:
        return get_spec(arch).title
    except KeyError:
        return _short(arch)
