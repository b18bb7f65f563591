"""Import a user's model file: parse it in a child process, check the child's answer, build
the :class:`ImportedModel` (see :mod:`explorer.models.imports` for what is read and how).

The child runs :func:`explorer.models.imports.parse.parse_file`; that module and the readers it
uses import no torch, so the child starts in well under a second (numpy, onnx / h5py only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.models.checkpoint import CheckpointMeta, read_header
from explorer.models.errors import CheckpointError
from explorer.models.imports.errors import MAX_FILE_BYTES, ModelImportError
from explorer.models.imports.parse import IMPORT_KEY, SPEC_KEY, parse_file
from explorer.models.plan import check_finite, check_shapes
from explorer.models.spec import INPUT, ModelSpec
from explorer.models.spec_modules import SPEC_ARCH, model_from_spec, plan_spec, save_spec_checkpoint
from explorer.sandbox.worker import IsolatedError, WorkerError, run_isolated

PARSE_TIMEOUT_S = 60.0
PARSE_MEMORY_BYTES = 2 * 2**30  # address space the child may add to what it maps after start-up


@dataclass(frozen=True)
class ImportedModel:
    """A user's model, converted: build it with :meth:`build`, save it with :meth:`checkpoint`."""

    spec: ModelSpec
    state_dict: dict[str, torch.Tensor]
    input_shape: tuple[int, int, int]  # (C, H, W)
    title: str
    source: str  # "keras", "h5" or "onnx"
    classes: list[str] = field(default_factory=list)
    # The range of pixel values the model expects: (0, 255) when it scales images itself (a
    # Rescaling(1/255) or Normalization layer first), else (0, 1).
    pixel_range: tuple[float, float] = (0.0, 1.0)
    preprocessing: list[str] = field(
        default_factory=list
    )  # names of the scaling nodes in the model
    parameters: int = 0

    def build(self) -> nn.Module:
        """The model in eval mode with the file's weights (loaded strictly)."""
        return model_from_spec(self.spec, self.state_dict)

    def checkpoint(self, meta: CheckpointMeta | None = None) -> bytes:
        """The app's checkpoint (safetensors + metadata + spec) of this model."""
        meta = meta or CheckpointMeta(
            arch=SPEC_ARCH,
            classes=list(self.classes),
            settings={
                "source": self.source,
                "title": self.title,
                "pixel_range": list(self.pixel_range),
            },
        )
        return save_spec_checkpoint(self.state_dict, self.spec, meta)


def _scaling(spec: ModelSpec) -> tuple[tuple[float, float], list[str]]:
    """Scaling nodes reading the input directly, and the pixel range that implies."""
    first = [n for n in spec.nodes if INPUT in n.inputs and n.op in ("scale", "normalize")]
    raw = any(
        (n.op == "scale" and 0.5 <= max(abs(s) for s in n.args["scale"]) * 255 <= 2.5)
        or (n.op == "normalize" and max(abs(m) for m in n.args["mean"]) > 1.5)
        for n in first
    )
    return ((0.0, 255.0) if raw else (0.0, 1.0)), [n.label or n.name for n in first]


def _run_child(data: bytes, filename: str, isolate: bool, timeout_s: float) -> bytes:
    if not isolate:
        return parse_file(data, filename)
    try:
        return run_isolated(
            parse_file,
            data,
            filename,
            timeout_s=timeout_s,
            what="reading the model file",
            memory_bytes=PARSE_MEMORY_BYTES,
            raw=True,
        )
    except IsolatedError as err:
        if err.kind == "ModelImportError":
            raise ModelImportError(str(err)) from None
        if err.kind == "MemoryError":
            raise ModelImportError(
                "Reading the model file needs more memory than allowed: it is too big or damaged."
            ) from None
        raise ModelImportError(
            f"The model file cannot be read ({err.kind}): it is damaged or not supported."
        ) from None
    except WorkerError as err:
        raise ModelImportError(str(err)) from None


def import_model(
    data: bytes, filename: str = "", *, isolate: bool = True, timeout_s: float = PARSE_TIMEOUT_S
) -> ImportedModel:
    """Convert a Keras (.keras, .h5) or ONNX (.onnx) model file into an :class:`ImportedModel`.

    ``isolate=False`` parses in this process (tests of the parser; never for uploads).
    """
    from safetensors.torch import load

    if len(data) > MAX_FILE_BYTES:
        raise ModelImportError(
            f"The model file is {len(data) / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB."
        )
    raw = _run_child(bytes(data), str(filename)[:200], isolate, timeout_s)
    try:  # the child's answer is untrusted too: the checkpoint reader's checks, then the spec's
        header = read_header(raw)
        spec = ModelSpec.from_json(header.metadata[SPEC_KEY])
        info = json.loads(header.metadata.get(IMPORT_KEY, "{}"))
        plan = plan_spec(spec)
        state = load(raw)
        check_shapes(plan.state_shapes, {k: tuple(v.shape) for k, v in state.items()})
        check_finite(state)
    except (CheckpointError, KeyError, ValueError) as err:
        raise ModelImportError(f"The converted model was refused: {str(err)[:300]}") from None
    classes = (
        [str(c)[:200] for c in info.get("classes", [])][:10_000] if isinstance(info, dict) else []
    )
    pixel_range, pre = _scaling(spec)
    title = spec.title or Path(str(filename)).stem[:100] or "Your model"
    return ImportedModel(
        spec=spec,
        state_dict=state,
        input_shape=spec.input_shape,
        title=title,
        source=str(info.get("source", "")) if isinstance(info, dict) else "",
        classes=classes,
        pixel_range=pixel_range,
        preprocessing=pre,
        parameters=plan.parameters,
    )


def import_model_file(path: str | Path, **kwargs: Any) -> ImportedModel:
    """:func:`import_model` of a file on disk."""
    path = Path(path)
    return import_model(path.read_bytes(), path.name, **kwargs)
