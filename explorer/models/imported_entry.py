"""A user's imported model as a catalog-like entry, so every page and probe that takes an
architecture key works on it.

:func:`own_entry` turns an :class:`~explorer.models.imports.ImportedModel`'s spec into an
:class:`~explorer.models.catalog_types.ArchSpec` whose key (``own-`` + a digest of the spec) resolves
through :func:`explorer.models.catalog.get_spec` but is never listed by ``catalog()``: only the
session that imported the model holds the key (its weights stay in that session). The model
pages build has its last sigmoid / softmax taken off (:func:`logits_spec`), because the
Predictions view applies it itself, so the probabilities shown are the file's own. What the
model expects as pixels (0-1, or 0-255 when it rescales them itself, as a ``Rescaling(1/255)``
first layer does) is kept with the entry (explorer.probe.inputs.own_preprocessing reads it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from explorer.models.catalog import OWN_ENTRIES
from explorer.models.catalog_types import ArchSpec
from explorer.models.spec import ModelSpec, infer_shapes
from explorer.models.spec_modules import build_model

OWN_PREFIX = "own-"
MAX_OWN_ENTRIES = 256  # process-wide; a session re-registers its own entries on every run
ENTRIES: dict[str, OwnEntry] = {}  # key -> entry, beside catalog.OWN_ENTRIES (key -> ArchSpec)
_STRIPPED = {"sigmoid": "binary", "softmax": "multiclass"}


@dataclass(frozen=True)
class OwnEntry:
    """An imported model's catalog entry and what the pages need beside it."""

    arch: ArchSpec
    spec: ModelSpec  # the spec the pages build: logits out (see :func:`logits_spec`)
    pixel_range: tuple[float, float]
    removed: str  # the output activation taken off ("" when none)
    source_spec: ModelSpec | None = None  # the file's spec as converted (what a checkpoint saves)
    file_name: str = ""  # the file it was read from ("" for a model fine-tuned here)

    @property
    def key(self) -> str:
        return self.arch.key


def logits_spec(spec: ModelSpec) -> tuple[ModelSpec, str, str]:
    """(spec with the output's sigmoid / softmax removed, task, what was removed).

    A sigmoid is taken off a single output only (binary), a softmax off any (multiclass); a
    sigmoid over several outputs (multi-label) is kept, and the task is then multiclass."""
    out = next(n for n in spec.nodes if n.name == spec.output)
    shape = infer_shapes(spec)[spec.output]
    width = int(shape[-1]) if shape else 1
    fn = (
        out.args.get("activation")
        if out.op in ("linear", "conv2d")
        else out.args.get("fn")
        if out.op == "act"
        else None
    )
    task = "binary" if width == 1 else "multiclass"
    if fn not in _STRIPPED or (fn == "sigmoid" and width != 1):
        return spec, task, ""
    if out.op == "act":
        node = replace(out, op="identity", args={})
    else:
        node = replace(out, args={**out.args, "activation": "linear"})
    nodes = tuple(node if n.name == out.name else n for n in spec.nodes)
    return replace(spec, nodes=nodes), task, str(fn)


def own_key(spec: ModelSpec) -> str:
    """The catalog-like key of a spec: ``own-`` and a digest of its JSON (the same in every
    process, so a training worker names the model it fine-tuned as the web process will)."""
    return OWN_PREFIX + hashlib.sha256(spec.to_json().encode()).hexdigest()[:16]


def own_entry(
    spec: ModelSpec,
    title: str,
    pixel_range: tuple[float, float] = (0.0, 1.0),
    source: str = "",
    file_name: str = "",
) -> OwnEntry:
    """The entry of an imported model, registered so that ``get_spec(entry.key)`` finds it;
    ``file_name`` (the user's file, shown as text) names where its weights came from."""
    pages_spec, task, removed = logits_spec(spec)
    shape = infer_shapes(spec)[spec.output]
    outputs = int(shape[-1]) if shape else 1
    kind = {
        "keras": "a Keras (.keras)",
        "h5": "a Keras (.h5)",
        "onnx": "an ONNX",
    }.get(source, "a model")
    origin = (
        "fine-tuned on the Training page" if source == "fine-tuned" else f"read from {kind} file"
    )
    arch = ArchSpec(
        key=own_key(spec),
        family="Your model",
        title=(title or "Your model")[:100],
        year=None,
        paper="",
        paper_url="",
        input_shape=tuple(spec.input_shape),
        num_classes=outputs,
        idea=f"Your own model, {origin}: {len(spec.nodes)} layers with the file's own names.",
        builder=lambda **_: build_model(pages_spec),
        kind="cnn",
        task=task,
        compact=True,  # type: ignore[arg-type]
        sample="digit" if spec.input_shape[0] == 1 else "cat",
    )
    entry = OwnEntry(
        arch=arch,
        spec=pages_spec,
        pixel_range=tuple(pixel_range),
        removed=removed,  # type: ignore[arg-type]
        source_spec=spec,
        file_name=file_name[:100],
    )
    register(entry)
    return entry


def register(entry: OwnEntry) -> None:
    """Make ``get_spec(entry.key)`` find the entry (the oldest dropped past the cap)."""
    for store, value in ((OWN_ENTRIES, entry.arch), (ENTRIES, entry)):
        store.pop(entry.key, None)
        store[entry.key] = value  # type: ignore[index]
        while len(store) > MAX_OWN_ENTRIES:
            store.pop(next(iter(store)))


def kind_of(arch: str) -> str:
    """The catalog kind (cnn / rnn) of ``arch``; an imported model's key that has left the
    process-wide table (its pages re-register it when they show it) is an image model all the same."""
    from explorer.models.catalog import get_spec

    try:
        return get_spec(arch).kind
    except KeyError:
        if arch.startswith(OWN_PREFIX):
            return "cnn"
        raise
