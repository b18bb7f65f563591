"""Loading a checkpoint on the Training page: a .safetensors file saved from this page is read
(safetensors and JSON metadata, never pickle), registered for this browser as a model the Feature
maps page can open, and described; a bad file gets one message, shown as text.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from explorer.models import get_spec
from explorer.models.checkpoint import CheckpointError, CheckpointFormatError, model_from_checkpoint
from explorer.models.plan import built_title
from explorer.ui.registry import UserModel, register_model
from explorer.ui.state import escape_text

# after an unreadable checkpoint's message
FORMAT_HINT = " Save checkpoints from the Training page."


def _load_upload(name: str, data: bytes) -> tuple[str, str | None, dict | None]:
    """Read an uploaded checkpoint once per file (by digest); register it for this session.

    Returns (digest, error message or None, metadata to show). Every string from the file is
    shown as text by the caller, never as Markdown.
    """
    digest = hashlib.sha256(data).hexdigest()
    done = st.session_state.get("tr_upload")
    if done is not None and done[0] == digest:
        return done
    try:
        model, meta = model_from_checkpoint(data)
    # the engine names no page: the pointer to where checkpoints come from is ours
    except CheckpointError as err:
        outcome = (
            digest,
            str(err) + (FORMAT_HINT if isinstance(err, CheckpointFormatError) else ""),
            None,
        )
    else:
        if get_spec(meta.arch).kind == "cnn":  # a recurrent one: no page would offer it
            register_model(
                UserModel(
                    name=name,
                    arch=meta.arch,
                    build=dict(meta.build),
                    state_dict={k: v.clone() for k, v in model.state_dict().items()},
                    classes=list(meta.classes),
                    dataset=meta.dataset,
                    metrics=dict(meta.metrics),
                    source="loaded from a checkpoint",
                )
            )
        outcome = (
            digest,
            None,
            {
                "arch": meta.arch,
                "build": meta.build,
                "classes": meta.classes,
                "dataset": meta.dataset,
                "settings": meta.settings,
                "metrics": meta.metrics,
            },
        )
    st.session_state["tr_upload"] = outcome
    return outcome


def checkpoint_section() -> None:
    """Load a checkpoint saved from this page: a CNN becomes available on Feature maps; a
    recurrent one is valid but opened by no page; a bad file gets its one message."""
    with st.expander("Load a checkpoint"):
        upload = st.file_uploader(
            "A .safetensors checkpoint saved from this page", type=["safetensors"]
        )
        if upload is None:
            return
        _, error, info = _load_upload(upload.name, upload.getvalue())
        if error is not None:
            st.error(escape_text(error, limit=800))
        # Feature maps shows CNNs; Recurrent, its own runs
        elif get_spec(info["arch"]).kind != "cnn":
            st.info(
                escape_text(
                    f"{get_spec(info['arch']).title} is a recurrent network: the checkpoint is valid, but no page "
                    "opens it (Feature maps shows convolutional networks; the Recurrent networks page shows the "
                    "models trained there). Its metadata is below.",
                    limit=800,
                )
            )
            st.json(info)
        else:
            acc = info["metrics"].get("test_accuracy")
            st.success(
                escape_text(
                    f"Loaded {built_title(info['arch'], info['build'])} trained on {info['dataset'] or 'unknown data'}"
                    + (f" (test accuracy {acc:.1%})" if isinstance(acc, float) else "")
                    + f' as "{upload.name}". It is now available on the Feature maps page.',
                    limit=800,
                )
            )
            st.json(info)
