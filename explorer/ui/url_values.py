"""Values from URLs and users made safe: numbers read from ASCII only, text made inert for Markdown.

Python's ``int`` and ``float`` read any Unicode decimal digit ('٣' is 3, '３' is 3) and
``str.isdigit`` also takes '²' (which ``int`` then refuses): a URL number is plain ASCII or it
is refused. ``escape_text`` is the one escape for every user or file string a page shows.
"""

from __future__ import annotations

import math
import re


def escape_text(s: str, limit: int = 40) -> str:
    """A user string made inert for Markdown: cut to ``limit`` characters, every ASCII
    punctuation mark backslash-escaped (no links, HTML, colours, icons or maths survive).
    GitHub-style autolinks (http://, www., a@b) ignore backslashes, so an invisible word
    joiner (U+2060) breaks their trigger."""
    s = s if len(s) <= limit else s[: limit - 1] + "\u2026"
    s = "".join(ch if ch.isprintable() else " " for ch in s)
    s = re.sub(r"(?i)(?<=http)(?=s?:)|(?<=ftp)(?=:)|(?<=www)(?=\.)|(?=@)", "\u2060", s)
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", s)


_INT = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def ascii_int(raw: str) -> int:
    """An integer written in ASCII digits (surrounding spaces allowed). Python's `int` also
    reads '٣' or '３' as 3; a URL number is plain ASCII or it is refused (ValueError)."""
    raw = raw.strip()
    if not _INT.fullmatch(raw):
        raise ValueError("not an ASCII integer")
    return int(raw)


def ascii_float(raw: str) -> float:
    """A finite decimal number in ASCII (e.g. "0.5", "-1e-3"); anything else, also NaN, inf,
    '1e400' and non-ASCII digits, raises ValueError."""
    raw = raw.strip()
    if not _FLOAT.fullmatch(raw):
        raise ValueError("not an ASCII number")
    v = float(raw)
    if not math.isfinite(v):
        raise ValueError("not finite")
    return v
