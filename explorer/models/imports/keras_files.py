"""Reading Keras files without Keras: the config JSON and the weight arrays, nothing executed.

A Keras 3 ``.keras`` file is a zip holding ``config.json`` and ``model.weights.h5`` (layer
``i`` of the model's layer list under ``layers/<snake_case class name, numbered>/vars/<j>``);
a legacy ``.h5`` file holds the config as the ``model_config`` attribute and each layer's
weights under ``model_weights/<layer name>`` in the order of its ``weight_names`` attribute.
Zip entries are bounded by their declared sizes before any is read (a zip bomb is refused
from its listing) and read under that bound; HDF5 datasets are bounded by their declared
shapes before reading. Runs in the import's child process (h5py is C code).
"""

from __future__ import annotations

import io
import json
import lzma
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from explorer.models.imports.errors import (
    MAX_CONFIG_BYTES,
    MAX_UNPACKED_BYTES,
    ModelImportError,
    bounded_elements,
)

_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
WeightsOf = Callable[
    [int, dict[str, Any]], list[np.ndarray]
]  # (layer index, layer entry) -> arrays
_NOT_HDF5 = 'This is not a readable Keras .h5 file ({why}). Save the model again with model.save("my_cnn.keras").'


def _loads(raw: bytes | str, what: str) -> Any:
    try:
        return json.loads(raw, parse_constant=lambda _: None)
    except RecursionError:
        raise ModelImportError(f"{what} is nested too deeply to be read.") from None
    except (ValueError, TypeError) as err:
        raise ModelImportError(f"{what} is not valid JSON ({str(err)[:80]}).") from None


def read_keras_zip(data: bytes) -> tuple[dict[str, Any], WeightsOf]:
    """The config and a weight reader of a ``.keras`` zip."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ModelImportError(
            f"This .keras file is not a readable zip ({str(err)[:80]})."
        ) from None
    total = 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = name.split("/")
        if (
            name.startswith("/")
            or ".." in parts
            or re.match(r"^[A-Za-z]:", name)
            or posixpath.normpath(name).startswith("..")
        ):
            raise ModelImportError(
                f"The .keras zip holds an entry {name[:80]!r} that climbs out of its folder: refused."
            )
        total += info.file_size
        if total > MAX_UNPACKED_BYTES or info.file_size > MAX_UNPACKED_BYTES:
            raise ModelImportError(
                f"The .keras zip unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB: refused (a zip bomb?)."
            )
        if info.flag_bits & 0x1 or info.compress_type not in _METHODS:
            raise ModelImportError(
                f"The .keras zip's entry {name[:60]!r} is encrypted or packed with a method this app "
                'cannot unpack: save the model again with model.save("my_cnn.keras").'
            )
    names = {i.filename: i for i in infos}
    for needed in ("config.json", "model.weights.h5"):
        if needed not in names:
            raise ModelImportError(
                f'This .keras file has no {needed}: it is not a model saved by Keras 3 (model.save("my_cnn.keras")).'
            )
    if names["config.json"].file_size > MAX_CONFIG_BYTES:
        raise ModelImportError(
            f"The model's config.json is over {MAX_CONFIG_BYTES // 2**20} MB: refused."
        )
    config = _loads(
        _read_entry(zf, names["config.json"], MAX_CONFIG_BYTES), "The model's config.json"
    )
    h5 = _read_entry(zf, names["model.weights.h5"], MAX_UNPACKED_BYTES)
    weights = _open_h5(h5)
    sequential = isinstance(config, dict) and config.get("class_name") == "Sequential"
    return config, _keras3_weights(weights, sequential)


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """One entry's bytes, never more than ``limit`` and exactly its declared size."""
    try:
        with zf.open(info) as fh:
            raw = fh.read(limit + 1)
    except (
        zipfile.BadZipFile,
        zlib.error,
        lzma.LZMAError,
        EOFError,
        OSError,
        RuntimeError,
        NotImplementedError,
        ValueError,
    ) as err:
        raise ModelImportError(
            f"The .keras zip's entry {info.filename[:60]!r} is damaged ({type(err).__name__})."
        ) from None
    if len(raw) > limit or len(raw) != info.file_size:
        raise ModelImportError(
            "The .keras zip unpacks to more than it declares: refused (a zip bomb?)."
        )
    return raw


def _open_h5(raw: bytes) -> Any:
    import h5py

    if not raw.startswith(b"\x89HDF\r\n\x1a\n"):
        raise ModelImportError(_NOT_HDF5.format(why="it does not start as an HDF5 file"))
    try:
        return h5py.File(io.BytesIO(raw), "r")
    except Exception as err:
        raise ModelImportError(
            _NOT_HDF5.format(why=f"{type(err).__name__}: {str(err)[:80]}")
        ) from None


def _snake(name: str) -> str:
    """Keras' naming.to_snake_case: how ``.keras`` weight groups are named after a layer's class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _keras3_weights(h5: Any, sequential: bool) -> WeightsOf:
    groups: dict[int, str] = {}

    def weights_of(index: int, layer: dict[str, Any]) -> list[np.ndarray]:
        return _vars(h5, f"layers/{groups[index]}/vars", layer)

    def prepare(layers: list[Any]) -> None:
        used: dict[str, int] = {}
        for i, layer in enumerate(layers):
            cls = str(layer.get("class_name", "")) if isinstance(layer, dict) else ""
            if sequential and cls == "InputLayer":
                continue
            base = _snake(cls)
            used[base] = used.get(base, -1) + 1
            groups[i] = base if used[base] == 0 else f"{base}_{used[base]}"

    weights_of.prepare = prepare  # type: ignore[attr-defined]
    return weights_of


def _dataset(h5: Any, path: str, where: str) -> np.ndarray:
    try:
        ds = h5[path]
        shape, kind = tuple(ds.shape), ds.dtype.kind
    except Exception as err:
        raise ModelImportError(
            f"The weights of {where} cannot be read ({type(err).__name__}): the file is damaged."
        ) from None
    if kind not in "fiu":
        raise ModelImportError(f"The weights of {where} are not numbers.")
    bounded_elements(f"A weight of {where}", shape)
    try:
        return np.asarray(ds[()], dtype=np.float32)
    except Exception as err:
        raise ModelImportError(
            f"The weights of {where} cannot be read ({type(err).__name__}): the file is damaged."
        ) from None


def _vars(h5: Any, path: str, layer: dict[str, Any]) -> list[np.ndarray]:
    where = f"layer {str(layer.get('config', {}).get('name', '?'))[:60]!r}"
    try:
        group = h5.get(path)
        keys = (
            sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else 1 << 30)
            if group is not None
            else []
        )
    except Exception as err:
        raise ModelImportError(
            f"The weights of {where} cannot be read ({type(err).__name__}): the file is damaged."
        ) from None
    return [_dataset(h5, f"{path}/{k}", where) for k in keys]


def read_keras_h5(data: bytes) -> tuple[dict[str, Any], WeightsOf]:
    """The config and a weight reader of a legacy (tf.keras / Keras 3 ``.h5``) model file."""
    h5 = _open_h5(data)
    try:
        raw = h5.attrs.get("model_config")
    except Exception as err:
        raise ModelImportError(_NOT_HDF5.format(why=f"{type(err).__name__}")) from None
    if raw is None:
        raise ModelImportError(
            "This .h5 file holds no model_config: it has weights only (model.save_weights). "
            'Save the whole model with model.save("my_cnn.keras").'
        )
    if isinstance(raw, bytes | np.bytes_):
        raw = bytes(raw).decode("utf-8", "replace")
    if not isinstance(raw, str) or len(raw) > MAX_CONFIG_BYTES:
        raise ModelImportError("The .h5 file's model_config is not a text of a readable size.")
    config = _loads(raw, "The .h5 file's model_config")
    root = "model_weights" if "model_weights" in h5 else ""

    def weights_of(index: int, layer: dict[str, Any]) -> list[np.ndarray]:
        name = str(layer.get("config", {}).get("name", layer.get("name", "")))
        where = f"layer {name[:60]!r}"
        group = h5.get(f"{root}/{name}" if root else name)
        if group is None:
            return []
        try:
            names = [
                n.decode() if isinstance(n, bytes) else str(n)
                for n in group.attrs.get("weight_names", [])
            ]
        except Exception as err:
            raise ModelImportError(
                f"The weights of {where} cannot be read ({type(err).__name__})."
            ) from None
        return [_dataset(group, n, where) for n in names]

    weights_of.prepare = lambda layers: None  # type: ignore[attr-defined]
    return config, weights_of
