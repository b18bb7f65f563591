"""Which hidden units mean something: scores that rank units by how selective they are.

LSTMVis-style reading (Strobelt et al., 2018; Karpathy et al., 2015): instead of scanning a
128-row heatmap, score every unit by how much it varies over the text and how well it follows a
character class (inside quotes, a space, a digit...), sort, and read the text shaded by the best.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHAR_CLASSES = (
    "inside quotes",
    "space",
    "digit",
    "uppercase",
    "punctuation",
    "vowel",
    "line start",
)
_PUNCT = set(".,;:!?'\"-()*+=/")


def char_class_masks(chars: Sequence[str]) -> dict[str, np.ndarray]:
    """0/1 per character for each class of :data:`CHAR_CLASSES` (characters as typed)."""
    quote = False
    inside = []
    for ch in chars:
        if ch == '"':
            quote = not quote
            inside.append(1.0)  # the quote marks belong to the quotation
        else:
            inside.append(1.0 if quote else 0.0)
    prev = ["\n", *chars[:-1]]
    masks = {
        "inside quotes": inside,
        "space": [1.0 if ch == " " else 0.0 for ch in chars],
        "digit": [1.0 if ch.isdigit() else 0.0 for ch in chars],
        "uppercase": [1.0 if ch.isupper() else 0.0 for ch in chars],
        "punctuation": [1.0 if ch in _PUNCT else 0.0 for ch in chars],
        "vowel": [1.0 if ch.lower() in "aeiou" else 0.0 for ch in chars],
        "line start": [1.0 if p == "\n" else 0.0 for p in prev],
    }
    return {k: np.asarray(v, dtype=float) for k, v in masks.items()}


def _pearson(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Correlation of each unit (column of T x H) with a 0/1 mask; 0 where either is constant."""
    v = values - values.mean(0, keepdims=True)
    m = mask - mask.mean()
    den = np.sqrt((v**2).sum(0) * (m**2).sum())
    num = (v * m[:, None]).sum(0)
    return np.divide(num, den, out=np.zeros(values.shape[1]), where=den > 0)


def unit_scores(values: np.ndarray, chars: Sequence[str]) -> dict[str, np.ndarray]:
    """Per unit (``values`` is T x H): "variance over time" and "correlation: <class>" for each class."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] != len(chars):
        raise ValueError(
            f"values must be T x H with T = {len(chars)} characters, got {values.shape}"
        )
    scores = {"variance over time": values.var(0)}
    for name, mask in char_class_masks(chars).items():
        scores[f"correlation: {name}"] = _pearson(values, mask)
    return scores


def rank_units(score: np.ndarray) -> list[int]:
    """Units ordered by the size of their score (largest |score| first; ties by unit index)."""
    s = np.abs(np.asarray(score, dtype=float))
    return sorted(range(len(s)), key=lambda k: (-s[k], k))
