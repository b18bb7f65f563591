"""What the import's child process runs: recognise the file, convert it, answer with safetensors.

:func:`parse_file` never executes anything from the file: pickles (``torch.save`` files,
renamed or not) are recognised by their bytes and refused; Keras files are read as zip + JSON +
HDF5 arrays, ONNX files as protobuf. The answer is a safetensors file (raw float arrays) whose
metadata holds the spec's JSON, which the parent reads with the app's checked reader.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from explorer.models.imports.errors import ModelImportError

SPEC_KEY = "explorer_spec"  # as explorer.models.spec_modules.SPEC_KEY (that module imports torch)
IMPORT_KEY = "explorer_import"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
PICKLE = (
    "This file is a Python pickle (what torch.save and pickle write): a pickle can run code, so it is never "
    'opened. Export the model with torch.onnx.export(model, x, "model.onnx"), or from Keras with '
    'model.save("my_cnn.keras").'
)
UNKNOWN = (
    "This file is not a model this app can open: upload a Keras model (.keras or .h5) or an ONNX "
    "model (.onnx)."
)
EXTENSIONS = (".keras", ".h5", ".hdf5", ".onnx")


def file_kind(data: bytes, filename: str) -> str:
    """'keras', 'h5' or 'onnx' from the bytes (the name only breaks a tie); refusals as messages."""
    if not data:
        raise ModelImportError("The model file is empty.")
    name = filename.lower()
    if (
        data[:1] == b"\x80"
        and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
        or name.endswith((".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"))
    ):
        raise ModelImportError(PICKLE)
    if data.startswith(HDF5_MAGIC):
        return "h5"
    if data.startswith(b"PK"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            names = []
        if any(n.endswith(("data.pkl", ".pkl")) for n in names[:10_000]):
            raise ModelImportError(PICKLE)
        return "keras"
    if name.endswith((".keras", ".h5", ".hdf5")):
        what = "a zip (.keras)" if name.endswith(".keras") else "an HDF5 file (.h5)"
        raise ModelImportError(
            f"This file is named like a Keras model but is not {what}: it is damaged or not a Keras model."
        )
    if name.endswith(".onnx") or data[:1] in (
        b"\x08",
        b"\x0a",
        b"\x12",
        b"\x1a",
        b"\x22",
        b"\x3a",
        b"\x42",
    ):
        return "onnx"
    raise ModelImportError(UNKNOWN)


def convert(data: bytes, filename: str) -> tuple[object, dict[str, np.ndarray], list[str], str]:
    """(spec, weights, class names, kind) of a model file."""
    kind = file_kind(data, filename)
    if kind == "onnx":
        from explorer.models.imports.onnx_file import convert_onnx

        spec, state, classes = convert_onnx(data)
        return spec, state, classes, kind
    from explorer.models.imports.keras_files import read_keras_h5, read_keras_zip
    from explorer.models.imports.keras_model import convert_keras

    config, weights_of = read_keras_zip(data) if kind == "keras" else read_keras_h5(data)
    spec, state = convert_keras(config, weights_of)
    return spec, state, [], kind


def parse_file(data: bytes, filename: str) -> bytes:
    """The child's work: the model as safetensors bytes with the spec in its metadata."""
    from safetensors.numpy import save

    try:
        spec, state, classes, kind = convert(data, filename)
    except ModelImportError:
        raise
    except (
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        ValueError,
        OverflowError,
        RecursionError,
    ) as err:
        raise ModelImportError(
            f"The model file's description is malformed and cannot be read ({type(err).__name__})."
        ) from None
    info = {"classes": classes, "source": kind}
    return save(state, metadata={SPEC_KEY: spec.to_json(), IMPORT_KEY: json.dumps(info)})  # type: ignore[attr-defined]
