"""Every colour mode of a decoded image to 8-bit RGB, saying in words what was done.

Palette, grey, alpha (composited on white), CMYK, and one-channel images of more than 8 bits
(16-bit integers and 32-bit floats, rescaled) all become RGB; the notes tell the user how the
file was stored and what the model is shown instead.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def _on_white(im: Image.Image) -> Image.Image:
    """Composite an image with alpha onto a white background, returning RGB."""
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _high_depth_to_rgb(im: Image.Image) -> Image.Image:
    """Reduce I;16 / I / F (one channel, more than 8 bits) to 8-bit grey, then RGB."""
    a = np.asarray(im)
    if im.mode == "F":
        a = a.astype(np.float64)
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if lo >= 0.0 and hi <= 1.0:
            a8 = np.round(a * 255.0)
        else:  # arbitrary floats: stretch what is there
            a8 = np.round((a - lo) / (hi - lo) * 255.0) if hi > lo else np.zeros_like(a)
    else:
        a = a.astype(np.int64)
        # 16-bit files open as I;16 or I with values in 0..65535: 65535 / 257 = 255 exactly.
        a8 = np.clip(a, 0, 65535) // 257
    grey = Image.fromarray(np.nan_to_num(a8).astype(np.uint8), mode="L")
    return grey.convert("RGB")


def to_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    """Every colour mode to 8-bit RGB, noting what was done in words."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        notes.append(
            f"16-bit reduced to 8-bit ({mode} grey values scaled to 0-255)"
            if mode != "F"
            else "32-bit float values rescaled to 8-bit"
        )
        notes.append("grey (1 channel) repeated into 3 RGB channels")
        return _high_depth_to_rgb(im)
    if mode == "P":
        if "transparency" in im.info:
            notes.append("palette colours expanded to RGB")
            notes.append("alpha composited on white (transparent pixels become white)")
            return _on_white(im)
        notes.append("palette colours expanded to RGB")
        return im.convert("RGB")
    if mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        if mode in ("LA", "La"):
            notes.append("grey (1 channel) repeated into 3 RGB channels")
        notes.append("alpha composited on white (transparent pixels become white)")
        return _on_white(im)
    if mode == "CMYK":
        notes.append("converted from CMYK (print colours) to RGB")
        return im.convert("RGB")
    if mode in ("L", "1"):
        notes.append("grey (1 channel) repeated into 3 RGB channels")
        return im.convert("L").convert("RGB")
    notes.append(f"converted from {mode} to RGB")
    return im.convert("RGB")
