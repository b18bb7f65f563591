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
from typing import Any

import torch
from torch import nn

from explorer.models.catalog import get_spec

# The one error hierarchy (explorer.models.errors) and the checks before building
# (explorer.models.plan); the names marked "as" are re-exported for callers of this module.
from explorer.models.errors import CheckpointError as CheckpointError
from explorer.models.errors import CheckpointFormatError as CheckpointFormatError
from explorer.models.errors import CheckpointMismatchError as CheckpointMismatchError
from explorer.models.errors import CheckpointRefusedError as CheckpointRefusedError
from explorer.models.errors import WeightsError as WeightsError
from explorer.models.errors import first_line, is_int, json_type, quote
from explorer.models.plan import ModelPlan, check_finite, check_shapes, plan_model, spec_for
from explorer.models.plan import validate_build as validate_build
from explorer.models.untrusted_json import MAX_JSON_DEPTH, finite_json, json_depth, read_json

FORMAT_VERSION = 1
META_KEY = "explorer"
# 128 MiB: every compact model, ResNet-18/34/50, GoogLeNet and NiN in float32, AlexNet in
# float16. .streamlit/config.toml's server.maxUploadSize is the same number (a test checks it).
MAX_CHECKPOINT_BYTES = 128 * 2**20
MAX_HEADER_BYTES = 4 * 2**20  # a ResNet-50 header is ~30 KB; the metadata adds a few KB
MAX_CLASSES = 10_000
MAX_TEXT = 200  # characters of a class name, dataset name or architecture key
MAX_TENSORS = 4096


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
        return json.dumps(finite_json(asdict(self)), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> CheckpointMeta:
        """Parse and validate; any malformed value gives :class:`CheckpointFormatError`."""
        return cls.from_obj(read_json(text, "The checkpoint's 'explorer' metadata"))

    @classmethod
    def from_obj(cls, data: Any) -> CheckpointMeta:
        """Validate decoded JSON of any type, value or depth into metadata."""
        if not isinstance(data, dict):
            raise CheckpointFormatError(
                f"The checkpoint's metadata is a JSON {json_type(data)}, not an object with 'arch'."
            )
        fmt = _format_of(data)
        arch = _text(data, "arch", required=True)
        build = _optional(data, "build", dict, {})
        for key, value in build.items():
            if not isinstance(value, (bool, int, float, str)):
                raise CheckpointFormatError(
                    f"The checkpoint's build argument {quote(key)} is a JSON {json_type(value)}; "
                    "only numbers, true/false and text are build arguments."
                )
        settings = _optional(data, "settings", dict, {})
        metrics = _optional(data, "metrics", dict, {})
        for name, value in (("settings", settings), ("metrics", metrics)):
            if json_depth(value) > MAX_JSON_DEPTH:
                raise CheckpointFormatError(f"The checkpoint's '{name}' is nested too deeply.")
        return cls(
            arch=arch,
            build=dict(build),
            classes=_classes_of(data),
            dataset=_text(data, "dataset"),
            settings=dict(settings),
            metrics=dict(metrics),
            format=fmt,
        )


def _format_of(data: dict) -> int:
    fmt = data.get("format", FORMAT_VERSION)
    if not is_int(fmt):
        raise CheckpointFormatError(
            f"The checkpoint's metadata has a 'format' that is a JSON {json_type(fmt)}, not a whole number."
        )
    if fmt > FORMAT_VERSION:
        raise CheckpointFormatError(
            f"This checkpoint uses format {fmt}, newer than this app reads ({FORMAT_VERSION})."
        )
    if fmt < 1:
        raise CheckpointFormatError(f"This checkpoint's format {fmt} is not a format of this app.")
    return fmt


def _text(data: dict, key: str, required: bool = False) -> str:
    value = _optional(data, key, str, "")
    if required and not value:
        raise CheckpointFormatError(
            f"The checkpoint's metadata does not name its architecture ({key!r})."
        )
    if len(value) > MAX_TEXT:
        raise CheckpointFormatError(
            f"The checkpoint's '{key}' is longer than {MAX_TEXT} characters."
        )
    return value


def _classes_of(data: dict) -> list[str]:
    classes = _optional(data, "classes", list, [])
    if len(classes) > MAX_CLASSES:
        raise CheckpointFormatError(f"The checkpoint lists more than {MAX_CLASSES} classes.")
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, (str, int)) or len(str(c)) > MAX_TEXT:
            raise CheckpointFormatError(
                f"The checkpoint's class names must be short texts (at most {MAX_TEXT} characters)."
            )
    return [str(c) for c in classes]


def _optional(data: dict, key: str, kind: type, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise CheckpointFormatError(
            f"The checkpoint's '{key}' is a JSON {json_type(value)}, not a JSON {json_type(kind())}."
        )
    return value


# --------------------------------------------------------------------------- the header


# safetensors dtype -> (torch dtype, bytes per element); float8 and other exotic types are refused.
DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}


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
    header = read_json(bytes(data[8 : 8 + n]), f"{bad}: its header")
    if not isinstance(header, dict):
        raise CheckpointFormatError(
            f"{bad} (its header is a JSON {json_type(header)}, not an object)."
        )
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
    where = f"This is not a readable safetensors file: tensor {quote(name)}"
    if not isinstance(entry, dict):
        raise CheckpointFormatError(f"{where} is described by a JSON {json_type(entry)}.")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise CheckpointFormatError(
            f"{where} has dtype {quote(dtype)}; readable are {', '.join(DTYPES)}."
        )
    if (
        not isinstance(shape, list)
        or len(shape) > 8
        or not all(is_int(d) and d >= 0 for d in shape)
    ):
        raise CheckpointFormatError(f"{where} has no valid shape (a list of at most 8 sizes).")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(is_int(o) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= body
    ):
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
            "architecture it belongs to."
        )
    return CheckpointMeta.from_json(header.metadata[META_KEY])


def _read_tensors(data: bytes) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(bytes(data))
    except (SafetensorError, ValueError, OSError, RuntimeError) as err:
        raise CheckpointFormatError(
            f"This is not a readable safetensors file ({first_line(err)})."
        ) from None


def load_checkpoint(data: bytes) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Tensors and metadata of a checkpoint; :class:`CheckpointError` for anything unreadable."""
    meta = _meta_of(read_header(data))
    return _read_tensors(data), meta


# --------------------------------------------------------------------------- writing


def _state_for_saving(
    model_or_state: nn.Module | dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    # safetensors wants contiguous CPU tensors that do not share memory.
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def save_checkpoint(model: nn.Module | dict[str, torch.Tensor], meta: CheckpointMeta) -> bytes:
    """The checkpoint as bytes (for a download button or a file)."""
    from safetensors.torch import save

    return save(_state_for_saving(model), metadata={META_KEY: meta.to_json()})


# --------------------------------------------------------------------------- checkpoint -> model


def load_state_strict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` into ``model`` strictly; a mismatch names the first bad key and both shapes."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    check_shapes(expected, {k: tuple(v.shape) for k, v in state.items()})
    model.load_state_dict(state, strict=True)


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
    except Exception as err:
        raise CheckpointRefusedError(f"{plan.arch} cannot be built: {first_line(err)}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:  # dtypes that cannot be copied (e.g. a bool into a float weight)
        raise CheckpointMismatchError(
            f"The checkpoint does not fit this architecture: {first_line(err)}"
        ) from None
    return model.eval()


def model_from_checkpoint(
    data: bytes, *, arch: str | None = None
) -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the catalog architecture a checkpoint names and load its weights strictly.

    ``arch``: the architecture the caller expects. A checkpoint saved for another one is
    refused naming both; a plain safetensors file without the app's metadata is then read as
    weights for ``arch`` with its catalog build arguments. Every check runs before any tensor
    is read or any real memory allocated.
    """
    header = read_header(data)
    if arch is not None and META_KEY not in header.metadata:
        meta = CheckpointMeta(arch=arch, build=spec_for(arch).build_kwargs)
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
        return quote(arch)
