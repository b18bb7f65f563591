"""Image decoding and validation, sample images, offline datasets.

Import-light on purpose: ``import explorer.data`` loads nothing heavy; the names below are
resolved on first use (``from explorer.data import decode_image`` imports decode.py then).
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "decode_image": "explorer.data.decode",
    "DecodedImage": "explorer.data.decode",
    "ImageInputError": "explorer.data.decode",
    "EmptyFileError": "explorer.data.decode",
    "UnsupportedFormatError": "explorer.data.decode",
    "TooLargeError": "explorer.data.decode",
    "CorruptImageError": "explorer.data.decode",
    "list_samples": "explorer.data.samples",
    "load_sample": "explorer.data.samples",
    "Sample": "explorer.data.samples",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'explorer.data' has no attribute {name!r}")
