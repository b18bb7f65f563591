"""The one error hierarchy for weights and checkpoints, and the wording helpers of its messages.

Every message is meant for the user: it says what is wrong and, where it can, what to do.
User strings are quoted with :func:`quote` (repr, cut short) and are shown as text by the UI.
"""

from __future__ import annotations

from typing import Any


class WeightsError(RuntimeError):
    """Base class: weights could not be provided; the message is meant for the user."""


class CheckpointError(WeightsError, ValueError):
    """A checkpoint that cannot be read, is refused or does not fit; the message says why."""


class CheckpointFormatError(CheckpointError):
    """Not a readable checkpoint: a broken file, header or metadata."""


class CheckpointRefusedError(CheckpointError):
    """A readable checkpoint refused by a limit: build arguments, model size, NaN or inf weights."""


class CheckpointMismatchError(CheckpointError):
    """A state dict that does not fit the architecture (a missing, extra or mis-shaped tensor)."""


def is_int(value: Any) -> bool:
    """A whole number, not a bool (JSON true is not 1 here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def quote(text: Any, limit: int = 40) -> str:
    """A user string quoted for a message, cut to ``limit`` characters."""
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, cut short (never a traceback)."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:160]
