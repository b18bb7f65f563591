"""Property-based fuzzing of the checkpoint reader: whatever the header or metadata holds (any JSON
type, any value, any depth, broken bytes), the reader returns or raises the one CheckpointError."""

from __future__ import annotations

import json

import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors.torch import save

from explorer.models.catalog import CATALOG
from explorer.models.checkpoint import CheckpointError, model_from_checkpoint, read_meta

FUZZ = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any JSON value, nested (Hypothesis grows it to a few levels); floats include nan and inf,
# which json.dumps writes as NaN / Infinity, the non-standard literals a hostile file may hold.
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# Raw JSON fragments a generator of Python values cannot produce.
RAW = st.sampled_from(
    [
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "[" * 5000 + "]" * 5000,
        '{"a":' * 3000 + "1" + "}" * 3000,
        "9" * 5000,
        '"\\ud800"',
        "",
        "{",
        "nul",
        '{"arch": "lenet5"',
        "\x00",
        '"x"',
    ]
)
KEYS = st.sampled_from(sorted(CATALOG)) | st.text(max_size=12)
BUILD_NAMES = st.sampled_from(
    [
        "in_channels",
        "num_classes",
        "image_size",
        "blocks",
        "hidden_size",
        "num_layers",
        "bidirectional",
        "nonlinearity",
        "weights",
    ]
)
# Metadata that looks right, with any value in any field: the shape of a crafted attack.
META = st.fixed_dictionaries(
    {"arch": KEYS | JSON},
    optional={
        "build": st.dictionaries(BUILD_NAMES, JSON, max_size=4) | JSON,
        "format": st.sampled_from([1, 0, -1, 2, 99, "1", 1.0, None, [1], True, 10**30]) | JSON,
        "classes": st.lists(st.text(max_size=5) | st.integers(), max_size=5) | JSON,
        "dataset": st.text(max_size=10) | JSON,
        "settings": JSON,
        "metrics": JSON,
    },
)


def _file(header_text: str, body: bytes = b"") -> bytes:
    blob = header_text.encode("utf-8", "surrogatepass")
    return len(blob).to_bytes(8, "little") + blob + body


def _with_meta(meta_text: str) -> bytes:
    return _file(json.dumps({"__metadata__": {"explorer": meta_text}}))


def _read_everything(data: bytes) -> None:
    """Both readers: a result or the one CheckpointError, never anything else."""
    for read in (
        read_meta,
        model_from_checkpoint,
        lambda d: model_from_checkpoint(d, arch="lenet5"),
    ):
        try:
            read(data)
        except CheckpointError as err:
            assert str(err) and "Traceback" not in str(err)


@FUZZ
@given(META)
@example({"arch": "keras_cnn", "build": {"image_size": 700}})
@example({"arch": "keras_cnn", "build": {"image_size": 10**400}})
@example({"arch": "lenet5", "format": float("inf")})
def test_any_metadata_object(meta) -> None:
    _read_everything(_with_meta(json.dumps(meta)))


@FUZZ
@given(JSON | RAW)
def test_any_metadata_text(value) -> None:
    text = value if isinstance(value, str) and not value.startswith('"') else json.dumps(value)
    _read_everything(_with_meta(text))


@FUZZ
@given(st.dictionaries(st.text(max_size=6), JSON, max_size=4) | JSON | RAW, st.binary(max_size=16))
def test_any_header(header, body) -> None:
    text = header if isinstance(header, str) else json.dumps(header)
    _read_everything(_file(text, body))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes(data) -> None:
    _read_everything(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 200))
def test_a_real_checkpoint_with_a_broken_length_or_truncation(length, cut) -> None:
    data = save({"w": torch.zeros(3)}, metadata={"explorer": json.dumps({"arch": "lenet5"})})
    _read_everything(length.to_bytes(8, "little") + data[8:])
    _read_everything(data[: max(0, len(data) - cut)])
