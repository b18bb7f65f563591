"""Users' own models: Keras ``.keras`` / ``.h5`` and ONNX files -> a model spec with weights.

``import_model(data, filename)`` parses the file in a spawned child process with a memory and
a time limit (HDF5 and protobuf parsing is C code: a malformed file costs the child, never the
server), against an allow-list of layers / operators, and returns an :class:`ImportedModel`:
the :class:`~explorer.models.spec.ModelSpec`, its weights, the input shape, the scaling the
model applies itself, class names where the file has them. Nothing from the file is executed
(neither Keras' nor torch's own loaders, nothing unpickled); every refusal is one
:class:`ModelImportError` whose message is meant for the user.

The package's own import is light (no torch): the child process that parses a file imports
:mod:`explorer.models.imports.parse` and the readers below it, which pulls in this file first.
What needs torch (:func:`import_model`, :class:`ImportedModel`) lives in
:mod:`explorer.models.imports.importer` and is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from explorer.models.imports.errors import ModelImportError
from explorer.models.imports.parse import parse_file

if TYPE_CHECKING:
    from explorer.models.imports.importer import ImportedModel, import_model, import_model_file

__all__ = ["ImportedModel", "ModelImportError", "import_model", "import_model_file", "parse_file"]

_LAZY = frozenset(
    {"ImportedModel", "import_model", "import_model_file", "PARSE_TIMEOUT_S", "PARSE_MEMORY_BYTES"}
)


def __getattr__(name: str) -> Any:
    """The torch-side names, imported on first use (PEP 562)."""
    if name in _LAZY:
        from explorer.models.imports import importer

        return getattr(importer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
