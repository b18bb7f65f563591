"""What a user's image set may be: its caps and the checks that need no decoding.

:class:`Limits` holds the caps of one dataset (entries, bytes, compression ratio, pixels per image
and in all, images per class, classes); :func:`declared_pixels` reads an image's size from its
header alone (nothing decoded) and refuses one far above what the dataset needs or a file that is
not an image; :func:`check_classes` and :func:`check_budget` refuse a set with too few or too many
classes or images, or too many pixels to decode. Every problem is an :class:`OwnImagesError`
with one clear message. :mod:`explorer.data.image_sets` (which re-exports these names) makes the
dataset; :mod:`explorer.data.image_set_zip` checks a zip's entries with them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

from explorer.data.decode import ALLOWED_FORMATS, ImageInputError, decode_image


class OwnImagesError(ValueError):
    """The images cannot make a dataset; ``str(err)`` says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Caps for one user's dataset (defaults fit a class on a shared CPU server)."""

    max_entries: int = 3000
    max_total_bytes: int = 200 * 2**20  # uncompressed
    max_ratio: float = 100.0  # uncompressed / compressed per entry; zip bombs reach 1000s
    max_file_bytes: int = 16 * 2**20
    min_per_class: int = 5
    max_per_class: int = 500
    min_classes: int = 2
    max_classes: int = 20
    image_size: int = 32  # images are stored (and trained) at this side, like the offline sets
    # decoded at most this big (JPEGs by libjpeg's 1/2..1/8 scaling), then reduced
    decode_side: int = 128
    max_image_pixels: int = 16_000_000  # per image, as decoded: far above what a 32 x 32 set needs
    max_total_pixels: int = 1_000_000_000  # the whole dataset, as decoded (about 10 s of one CPU)


def class_label(text: str) -> str:
    """A class name as a label: printable, trimmed, at most 40 characters (shown as text only)."""
    clean = "".join(ch for ch in text if ch.isprintable()).strip()[:40]
    return clean or "unnamed"


def declared_pixels(raw: bytes, name: str, limits: Limits = Limits()) -> int:
    """The pixels decoding ``raw`` will cost, from its header alone (PIL reads the size lazily;
    a JPEG counts at the reduced size libjpeg decodes it at); refuses one image far above what
    the dataset needs, or a file that is not an image. Nothing is decoded here."""
    if len(raw) > limits.max_file_bytes:
        raise OwnImagesError(
            f"{name!r} is {len(raw) / 2**20:.1f} MB; each image may be at most "
            f"{limits.max_file_bytes / 2**20:.0f} MB."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw), formats=list(ALLOWED_FORMATS))
            width, height = im.size
            if im.format == "JPEG":
                im.draft("RGB", (limits.decode_side, limits.decode_side))
            cost = im.size[0] * im.size[1]
    except Image.DecompressionBombError as err:
        raise OwnImagesError(
            f"{name!r} declares far too many pixels (a decompression bomb?): refused."
        ) from err
    except Exception as err:
        raise _not_an_image(raw, name, limits) from err
    if cost > limits.max_image_pixels:
        side = limits.image_size
        raise OwnImagesError(
            f"{name!r} declares {width:,} x {height:,} pixels: far more than a {side} x {side} dataset needs "
            f"(at most {limits.max_image_pixels / 1e6:.0f} megapixels per image). Make it smaller first."
        )
    return cost


def _not_an_image(raw: bytes, name: str, limits: Limits) -> OwnImagesError:
    """The decoder's own words for a file whose header cannot be read. ``max_pixels=0`` makes it
    stop at the header whatever happens: it never decodes a pixel here."""
    try:
        decode_image(raw, max_bytes=limits.max_file_bytes, max_pixels=0)
    except ImageInputError as err:
        if "declares" not in str(err):
            return OwnImagesError(f"{name!r} is not an image this app can read: {err}")
    return OwnImagesError(f"{name!r} is not an image this app can read: its header cannot be read.")


def check_budget(total_pixels: int, limits: Limits) -> None:
    if total_pixels > limits.max_total_pixels:
        side = limits.image_size
        raise OwnImagesError(
            f"The images declare {total_pixels / 1e6:,.0f} megapixels in all; decoding one dataset is budgeted "
            f"at {limits.max_total_pixels / 1e6:,.0f} megapixels (the images end as {side} x {side}). "
            "Use fewer or smaller images."
        )


def check_classes(counts: dict[str, int], limits: Limits) -> None:
    if len(counts) < limits.min_classes:
        only = next(iter(counts), "")
        raise OwnImagesError(
            f"Only one class ({only!r}) was found: a classifier needs at least {limits.min_classes}. "
            "Add a second folder of images."
        )
    if len(counts) > limits.max_classes:
        raise OwnImagesError(
            f"{len(counts)} classes were found; the limit is {limits.max_classes}."
        )
    few = {c: n for c, n in counts.items() if n < limits.min_per_class}
    if few:
        names = ", ".join(f"{c!r} ({n})" for c, n in sorted(few.items()))
        raise OwnImagesError(
            f"Too few images in {names}: each class needs at least {limits.min_per_class} "
            "(some to train on, some to check on)."
        )
    many = {c: n for c, n in counts.items() if n > limits.max_per_class}
    if many:
        names = ", ".join(f"{c!r} ({n})" for c, n in sorted(many.items()))
        raise OwnImagesError(
            f"Too many images in {names}: at most {limits.max_per_class} per class."
        )
