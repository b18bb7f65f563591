"""Your own model on the Architectures and Feature maps pages: upload a Keras (.keras, .h5) or
ONNX (.onnx) file, or try the course's Keras CNN with one click.

The file is parsed in a child process by :func:`explorer.models.imports.import_model` (nothing
in it is run); the model becomes one of this browser's models (explorer.ui.registry, as a
trained model) under a catalog-like key (:mod:`explorer.models.imported_entry`), so every section and view
that takes an architecture key works on it. A checkpoint of it (.safetensors with the spec in
its metadata) downloads here and uploads back. Every refusal is one message, shown as text.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from explorer.bounded import BoundedStore
from explorer.models.imported_entry import OwnEntry, own_entry, register
from explorer.models.imports import ImportedModel, ModelImportError, import_model
from explorer.models.imports.errors import MAX_FILE_BYTES
from explorer.ui.common import projector_on
from explorer.ui.registry import UserModel, get_user_model, own_entries, register_model
from explorer.ui.state import escape_text

log = logging.getLogger(__name__)
EXAMPLE = Path(__file__).resolve().parents[2] / "assets" / "models" / "course_cnn.keras"
GENERIC_TITLES = (
    "",
    "main_graph",
    "torch_jit",
    "torch-jit-export",
)  # exporters' default graph names
FILE_TYPES = ["keras", "h5", "hdf5", "onnx", "safetensors"]
# Per page: the session keys its architecture picker (and weights pickers) read.
PAGE_KEYS = {
    "arch": {"arch": "arch_key"},
    "fm": {"arch": "fm_arch", "kind": "fm_kind", "model": "fm_user_model"},
}


def _entries() -> BoundedStore[str, OwnEntry]:
    return own_entries()  # held by the registry, beside the models themselves


def own_keys() -> list[str]:
    """Architecture keys of this browser's imported models still held, oldest first (each
    re-registered, so the process-wide lookup always finds them)."""
    keys = []
    for name, entry in list(_entries().items()):
        um = get_user_model(name)
        if um is not None and um.arch == entry.key:
            register(entry)
            keys.append(entry.key)
    return list(dict.fromkeys(keys))


def _from_checkpoint(data: bytes, filename: str) -> ImportedModel:
    """A checkpoint saved here (spec in its metadata) read back with every check."""
    from explorer.models.checkpoint import CheckpointError
    from explorer.models.spec_modules import model_from_spec_checkpoint

    try:
        model, spec, meta = model_from_spec_checkpoint(data)
    except (CheckpointError, ValueError) as err:
        raise ModelImportError(str(err)) from None
    settings = dict(meta.settings or {})
    pixel = settings.get("pixel_range", [0.0, 1.0])
    pixel_range = (
        (float(pixel[0]), float(pixel[1]))
        if isinstance(pixel, list) and len(pixel) == 2
        else (0.0, 1.0)
    )
    return ImportedModel(
        spec=spec,
        state_dict={k: v.detach() for k, v in model.state_dict().items()},
        input_shape=spec.input_shape,
        title=str(settings.get("title") or spec.title or Path(filename).stem)[:100],
        source=str(settings.get("source", "")),
        classes=[str(c) for c in meta.classes],
        pixel_range=pixel_range,
    )


def adopt(data: bytes, filename: str, page: str = "") -> UserModel:
    """Import a model file as this browser's model and pick it on ``page``; ModelImportError
    with the message for the user otherwise."""
    if filename.lower().endswith(".safetensors"):
        imported = _from_checkpoint(data, filename)
    else:
        imported = import_model(data, filename)
    title = (
        imported.title
        if imported.title not in GENERIC_TITLES
        else Path(filename).stem[:100] or "Your model"
    )
    entry = own_entry(
        imported.spec, title, imported.pixel_range, imported.source, Path(filename).name[:60]
    )
    name = f"{title} ({Path(filename).name[:60]})"
    um = UserModel(
        name=name,
        arch=entry.key,
        build={},
        state_dict=dict(imported.state_dict),
        classes=list(imported.classes),
        dataset=f"unknown (imported from {Path(filename).name[:60]})",
        source=f"imported from {Path(filename).name[:60]}",
        metrics={"pixel_range": list(imported.pixel_range), "file_source": imported.source},
    )
    register_model(um)
    _entries()[name] = entry
    keys = PAGE_KEYS.get(page, {})
    if "arch" in keys:
        st.session_state[keys["arch"]] = entry.key
    if "kind" in keys:
        st.session_state[keys["kind"]] = "user"
        st.session_state[keys["model"]] = name
        if (
            entry.arch.input_shape[0] == 1
            and st.session_state.get("fm_source", "Sample") == "Sample"
        ):
            st.session_state["fm_sample"] = "digit"  # a grey model: a sample it can read
    return um


def _adopt_to_state(page: str, data: bytes, filename: str) -> None:
    msg_key = f"_own_msg_{page}"
    try:
        um = adopt(data, filename, page)
        st.session_state[msg_key] = ("ok", f"Imported {um.name}: it is now selected below.")
    except ModelImportError as err:
        st.session_state[msg_key] = ("error", str(err))
    except Exception as err:
        log.warning("Model import failed unexpectedly", exc_info=True)
        st.session_state[msg_key] = (
            "error",
            f"The model file could not be imported ({type(err).__name__}).",
        )


def _on_upload(page: str) -> None:
    up = st.session_state.get(f"{page}_own_file")
    if up is None:
        return
    if up.size > MAX_FILE_BYTES:  # checked before the bytes are read
        st.session_state[f"_own_msg_{page}"] = (
            "error",
            f"The model file is {up.size / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.",
        )
        return
    _adopt_to_state(page, up.getvalue(), up.name)


def _on_example(page: str) -> None:
    _adopt_to_state(page, EXAMPLE.read_bytes(), EXAMPLE.name)


def _class_names(um: UserModel) -> None:
    """Type class names for a model whose file has none (comma-separated)."""
    typed = st.text_input(
        "Class names, comma-separated (in the order of the model's outputs)",
        value=", ".join(um.classes),
        key=f"own_classes_{um.name}",
        max_chars=2000,
    )
    names = [c.strip()[:100] for c in typed.split(",") if c.strip()][:1000]
    if names != list(um.classes):
        import time
        from dataclasses import replace

        register_model(
            replace(um, classes=names, created=time.time())
        )  # a new time: a new cache token


def _current(page: str) -> UserModel | None:
    keys = PAGE_KEYS.get(page, {})
    key = st.session_state.get(keys.get("arch", ""))
    return next(
        (
            get_user_model(n)
            for n, e in list(_entries().items())
            if e.key == key and get_user_model(n)
        ),
        None,
    )


def own_model_section(page: str, heading: str = "") -> None:
    """``heading`` (a subheader), then the "Your own model" expander: upload, the one-click
    example, the message, and for the model on screen its class names and a checkpoint download."""
    if heading:
        st.subheader(heading)
    msg = st.session_state.get(f"_own_msg_{page}")
    title = "Your own model: a Keras (.keras, .h5) or ONNX (.onnx) file"
    # Projector mode folds Feature maps' inputs into an expander, and expanders do not nest.
    box = (
        st.container(border=True)
        if projector_on()
        else st.expander(title, expanded=msg is not None)
    )
    with box:
        if projector_on():
            st.markdown(f"**{title}**")
        st.caption(
            'Save it with model.save("my_cnn.keras") in Keras or torch.onnx.export(model, x, '
            '"model.onnx") in PyTorch. The file is read as data, never run; the model stays in '
            "this browser."
        )
        st.file_uploader(
            "Model file (.keras, .h5, .onnx, or a .safetensors checkpoint saved here)",
            type=FILE_TYPES,
            key=f"{page}_own_file",
            on_change=_on_upload,
            args=(page,),
        )
        st.button(
            "Try the course's Keras CNN (circles vs squares)",
            key=f"{page}_own_example",
            on_click=_on_example,
            args=(page,),
        )
        if msg is not None:
            (st.success if msg[0] == "ok" else st.error)(escape_text(msg[1], limit=800))
        um = _current(page)
        if um is not None:
            _class_names(um)
            _download(um)


def _download(um: UserModel) -> None:
    from explorer.models.checkpoint import CheckpointMeta
    from explorer.models.imported_entry import ENTRIES
    from explorer.models.spec_modules import SPEC_ARCH, save_spec_checkpoint

    entry = ENTRIES.get(um.arch)
    if entry is None:
        return
    meta = CheckpointMeta(
        arch=SPEC_ARCH,
        classes=list(um.classes),
        settings={
            "title": entry.arch.title,
            "source": str(um.metrics.get("file_source", "")),
            "pixel_range": list(entry.pixel_range),
        },
    )
    spec = entry.source_spec or entry.spec
    st.download_button(
        "Download as a checkpoint (.safetensors, reloads here)",
        save_spec_checkpoint(um.state_dict, spec, meta),
        file_name=f"{entry.arch.title[:60]}.safetensors",
        mime="application/octet-stream",
        key=f"own_dl_{um.name}",
    )


def own_code(key: str) -> bool:
    """The code panel's text for an imported model (False for a catalog key): its PyTorch code
    from the spec (explorer.models.spec_code), or the spec as JSON if that cannot be printed."""
    from explorer.models.imported_entry import ENTRIES
    from explorer.models.spec_code import spec_code

    entry = ENTRIES.get(key)
    if entry is None:
        return False
    spec = entry.source_spec or entry.spec
    try:
        code, name, lang = spec_code(spec), "model.py", "python"
        st.caption(
            "Your model as plain PyTorch, with the file's layer names: the weights of its checkpoint "
            '(the download in "Your own model") load into it strictly.'
        )
    except Exception:
        log.warning("No PyTorch code for %s", key, exc_info=True)
        code, name, lang = spec.to_json(), "model_spec.json", "json"
        st.caption(
            "This model cannot be printed as PyTorch code here; its spec (the app's JSON graph) instead:"
        )
    st.code(code, language=lang)
    st.download_button(f"Download {name}", code, file_name=name, key=f"code_dl_own_{key}")
    return True
