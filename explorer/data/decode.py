"""Safe decoding of untrusted image bytes into an RGB tensor and a display image.

Uploads are untrusted: the format is recognised by content (magic bytes, then PIL's own
detection restricted to an allow-list), the byte count and the declared pixel count are capped
*before* any pixel is decoded (decompression bombs), EXIF orientation is applied, and every
colour mode ends as 8-bit RGB. Each failure is a typed ``ImageInputError`` whose message a
student can act on; nothing here imports streamlit. What a model then makes of the decoded
picture (resize, crop, normalise) is the preprocessing recipe in :mod:`explorer.data.images`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

from explorer.data.colour_modes import to_rgb

if TYPE_CHECKING:
    import torch

ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
ALLOWED_TEXT = "Upload a PNG, JPEG, WebP, BMP or GIF."

DEFAULT_MAX_BYTES = 32 * 1024 * 1024  # a 8000 x 6000 photo as JPEG is ~5-15 MB
DEFAULT_MAX_PIXELS = 64_000_000  # 8000 x 8000; 8000 x 6000 (48 MP) must pass
DEFAULT_MAX_SIDE = 2048  # larger images are reduced on decode: models see 224 px anyway

_EXIF_ORIENTATION = 0x0112
_ORIENTATION_TEXT = {
    2: "mirrored left-right",
    3: "rotated by 180 degrees",
    4: "mirrored top-bottom",
    5: "transposed",
    6: "rotated by 90 degrees clockwise",
    7: "transversed",
    8: "rotated by 90 degrees counter-clockwise",
}


class ImageInputError(ValueError):
    """Base class of every upload problem; ``str(err)`` is the message for the user."""


class EmptyFileError(ImageInputError):
    """The upload has no bytes."""


class UnsupportedFormatError(ImageInputError):
    """The bytes are not one of the allowed image formats."""


class TooLargeError(ImageInputError):
    """Too many bytes, or a header that declares too many pixels (decompression bomb)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # "bytes" | "pixels"


class CorruptImageError(ImageInputError):
    """The header looked right but the pixels cannot be decoded (truncated, damaged)."""


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """An image ready for a model: ``tensor`` is float32 3 x H x W in [0, 1].

    ``display`` is the same pixels as a PIL RGB image; ``original_size`` is the upright
    (width, height) of the file before any reduction; ``notes`` says, in words, what was done.
    ``tensor`` is made from ``display`` on first use, so that decoding needs no torch (the
    children that decode users' uploads never import it).
    """

    display: Image.Image
    format: str
    original_size: tuple[int, int]
    original_mode: str
    notes: list[str] = field(default_factory=list)
    digest: str = ""  # sha256 of the input bytes: a cache key for "the same image"

    @functools.cached_property
    def tensor(self) -> torch.Tensor:
        """The pixels as float32 3 x H x W in [0, 1] (made once, on first use)."""
        return image_to_tensor(self.display)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of ``tensor`` / ``display``."""
        return self.display.size

    @property
    def was_resized(self) -> bool:
        return self.display.size != self.original_size

    @property
    def was_grey(self) -> bool:
        """True when the file held one channel (grey) that was repeated into RGB."""
        return self.original_mode in {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}


# --------------------------------------------------------------------------- recognition


def _sniff(head: bytes) -> str | None:
    """Allowed format named by the file's magic bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM") and len(head) >= 14:
        return "BMP"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _looks_like(head: bytes) -> str:
    """A short description of what an unsupported file seems to be, for the message."""
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "a TIFF image, which this app does not accept"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypheif", b"ftyphevc"):
        return "a HEIC photo; export it as JPEG first"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "an AVIF image, which this app does not accept"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive or an office document"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<svg", b"<?xml")):
        return "an SVG drawing or an XML file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return "text"
    return "an unknown binary file"


def _not_an_image(head: bytes) -> UnsupportedFormatError:
    return UnsupportedFormatError(
        f"This file is not an image we can read (it looks like {_looks_like(head)}). {ALLOWED_TEXT}"
    )


def _megapixels(n: int) -> str:
    return f"{n / 1e6:,.0f}" if n >= 10e6 else f"{n / 1e6:.1f}"


def _too_many_pixels(width: int, height: int, max_pixels: int) -> TooLargeError:
    return TooLargeError(
        f"This image declares {width:,} x {height:,} pixels ({_megapixels(width * height)} "
        f"megapixels), more than the limit of {_megapixels(max_pixels)} megapixels. Files like "
        "this can exhaust memory when decoded (a 'decompression bomb'), so it was refused before "
        "decoding. Upload a smaller image.",
        kind="pixels",
    )


def image_to_tensor(im: Image.Image) -> torch.Tensor:
    """8-bit RGB PIL image -> float32 tensor 3 x H x W in [0, 1]."""
    import torch

    a = np.asarray(im.convert("RGB"), dtype=np.uint8)  # H x W x C
    return torch.from_numpy(a.copy()).permute(2, 0, 1).float().div_(255.0)  # C x H x W


# --------------------------------------------------------------------------- entry point


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = DEFAULT_MAX_SIDE,
) -> DecodedImage:
    """Validate and decode untrusted image bytes; raise an ``ImageInputError`` subclass on failure.

    Images whose longest side exceeds ``max_side`` are reduced (aspect kept) and a note says so,
    so that an 8000 x 6000 photo costs a few MB of memory instead of 576 MB of float32.
    """
    head, sniffed = _check_bytes(data, max_bytes)
    im = _open(data, head, sniffed)
    fmt = (im.format or sniffed).upper()
    if fmt not in ALLOWED_FORMATS:  # belt and braces: formats=[...] already restricts PIL
        raise _not_an_image(head)
    width, height = im.size
    if width <= 0 or height <= 0:
        raise CorruptImageError(f"This {fmt} file declares an empty picture ({width} x {height}).")
    if width * height > max_pixels:
        raise _too_many_pixels(width, height, max_pixels)

    original_mode = im.mode
    notes = _stored_as(im, fmt)
    orientation = _orientation(im)
    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if max_side is not None and fmt == "JPEG" and max(width, height) > max_side:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: fast and light for huge photos.
        scale = max(width, height) / max_side
        im.draft("RGB", (max(1, int(width / scale)), max(1, int(height / scale))))
    _load(im, fmt, max_pixels)
    if orientation in _ORIENTATION_TEXT:
        try:
            im = ImageOps.exif_transpose(im)
            notes.append(f"rotated by EXIF orientation ({_ORIENTATION_TEXT[orientation]})")
        except Exception:
            notes.append("EXIF orientation could not be applied; shown as stored")
    rgb = _reduced_rgb(im, fmt, upright, max_side, notes)
    rgb.load()
    return DecodedImage(
        display=rgb,
        format=fmt,
        original_size=upright,
        original_mode=original_mode,
        notes=notes,
        digest=hashlib.sha256(data).hexdigest(),
    )


def _check_bytes(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """The first bytes and the allowed format they name; refuses empty, too long or unknown files."""
    if data is None or len(data) == 0:
        raise EmptyFileError(
            f"The file is empty (0 bytes), so there is no image in it. {ALLOWED_TEXT}"
        )
    if len(data) > max_bytes:
        raise TooLargeError(
            f"This file is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. "
            "Upload a smaller image: the models look at a few hundred pixels per side anyway.",
            kind="bytes",
        )
    head = bytes(data[:32])
    sniffed = _sniff(head)
    if sniffed is None:
        raise _not_an_image(head)
    return head, sniffed


def _open(data: bytes, head: bytes, sniffed: str) -> Image.Image:
    """Open (header only, no pixels decoded) with PIL restricted to the sniffed format."""
    try:
        with warnings.catch_warnings():
            # PIL warns between its limit and twice it; our own cap (in decode_image) decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[sniffed])
    except Image.DecompressionBombError as err:
        raise TooLargeError(
            "This image declares far too many pixels: decoding it could exhaust memory "
            "(a 'decompression bomb'), so it was refused before decoding. Upload a smaller image.",
            kind="pixels",
        ) from err
    except Exception as err:  # header unreadable although the magic bytes matched
        raise CorruptImageError(
            f"This file starts like a {sniffed} image but its header is damaged, so it cannot be "
            f"decoded. Try saving or exporting it again. {ALLOWED_TEXT}"
        ) from err


def _stored_as(im: Image.Image, fmt: str) -> list[str]:
    """Notes on how the file stores its pixels (16-bit colour, animation), before any change."""
    notes: list[str] = []
    # 16-bit-per-channel colour PNGs open as 8-bit RGB(A); the tile's raw mode tells.
    if any(";16" in str(getattr(t, "args", "") or "") for t in (im.tile or [])) and im.mode in (
        "RGB",
        "RGBA",
    ):
        notes.append("16-bit reduced to 8-bit")
    # is_animated peeks at frame 2 only; n_frames would walk every frame of the file.
    if getattr(im, "is_animated", False):
        im.seek(0)
        kind = "GIF" if fmt == "GIF" else f"{fmt} image"
        notes.append(f"first frame of an animated {kind} (the other frames are ignored)")
    return notes


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 = upright); a broken EXIF must not block an otherwise fine picture."""
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except Exception:
        return 1


def _load(im: Image.Image, fmt: str, max_pixels: int) -> None:
    """Decode the pixels; a damaged or truncated file becomes a :class:`CorruptImageError`."""
    width, height = im.size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Image.DecompressionBombError as err:
        raise _too_many_pixels(width, height, max_pixels) from err
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError) as err:
        reason = str(err).strip() or type(err).__name__
        raise CorruptImageError(
            f"This {fmt} file is damaged or incomplete ({reason}), so it cannot be decoded. "
            "Try saving or exporting it again."
        ) from err


def _reduced_rgb(
    im: Image.Image, fmt: str, upright: tuple[int, int], max_side: int | None, notes: list[str]
) -> Image.Image:
    """8-bit RGB with the longest side at most ``max_side``, noting a resize from ``upright``."""
    try:
        rgb = to_rgb(im, notes)
        if max_side is not None and max(rgb.size) > max_side:
            w, h = rgb.size
            s = max_side / max(w, h)
            new = (max(1, round(w * s)), max(1, round(h * s)))
            rgb = rgb.resize(new, Image.Resampling.LANCZOS, reducing_gap=2.0)
        if rgb.size != upright:
            notes.append(
                f"resized from {upright[0]} x {upright[1]} to {rgb.size[0]} x {rgb.size[1]} "
                f"pixels (longest side at most {max_side})"
            )
    except (OSError, ValueError) as err:
        raise CorruptImageError(
            f"This {fmt} file could not be converted to RGB ({err}). Try saving it as PNG or JPEG."
        ) from err
    return rgb


def decode_pil(
    im: Image.Image, *, name: str = "generated", max_side: int | None = None
) -> DecodedImage:
    """Wrap an image the project made itself (trusted, already in memory) as a DecodedImage."""
    notes: list[str] = []
    original_mode = im.mode
    rgb = to_rgb(im, notes)
    if max_side is not None and max(rgb.size) > max_side:
        s = max_side / max(rgb.size)
        rgb = rgb.resize(
            (max(1, round(rgb.size[0] * s)), max(1, round(rgb.size[1] * s))),
            Image.Resampling.LANCZOS,
        )
    raw = np.asarray(rgb, dtype=np.uint8).tobytes()
    digest = hashlib.sha256(name.encode() + repr(rgb.size).encode() + raw).hexdigest()
    return DecodedImage(
        display=rgb,
        format="GENERATED",
        original_size=im.size,
        original_mode=original_mode,
        notes=notes,
        digest=digest,
    )
