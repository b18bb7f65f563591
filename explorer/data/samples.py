"""Sample images that make good defaults without any upload, all available offline.

Photographs are read at run time from the files that ship inside scikit-image's wheel
(public domain / CC0; nothing is downloaded: files absent from the wheel are simply not
listed). The other samples are drawn here in code, so the project owns them outright.
Every sample goes through the same ``decode_image`` path as an upload.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer.data.decode import DecodedImage, decode_image, decode_pil

DEFAULT_SAMPLE = "cat"


@dataclass(frozen=True)
class Sample:
    """One sample image: ``name`` is the key for ``load_sample``; ``credit`` names source and licence."""

    name: str
    title: str
    credit: str
    kind: str  # "photo" | "generated"
    description: str


@dataclass(frozen=True)
class _PhotoSource:
    sample: Sample
    filename: str  # inside skimage/data/


@dataclass(frozen=True)
class _MadeSource:
    sample: Sample
    make: Callable[[], Image.Image]


def _skimage_data_dir() -> Path | None:
    """Folder of scikit-image's bundled data, found without importing skimage (it is slow)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


# --------------------------------------------------------------------------- made in code

_SIZE = 256


def shapes_photo(size: int = _SIZE) -> Image.Image:
    """A circle, a square and a triangle in primary colours on a soft gradient."""
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    bg = np.stack([0.85 + 0.1 * xx, 0.85 + 0.1 * yy, 0.95 - 0.1 * xx], axis=-1)  # H x W x 3
    im = Image.fromarray(np.round(bg * 255).astype(np.uint8), mode="RGB")
    d = ImageDraw.Draw(im)
    s = size / 256
    d.ellipse([20 * s, 24 * s, 116 * s, 120 * s], fill=(220, 40, 40))
    d.rectangle([140 * s, 30 * s, 230 * s, 120 * s], fill=(40, 90, 220))
    d.polygon([(70 * s, 140 * s), (20 * s, 236 * s), (120 * s, 236 * s)], fill=(30, 160, 60))
    d.line([(150 * s, 150 * s), (236 * s, 236 * s)], fill=(20, 20, 20), width=max(1, round(8 * s)))
    d.line(
        [(150 * s, 236 * s), (236 * s, 150 * s)], fill=(240, 180, 20), width=max(1, round(8 * s))
    )
    return im


def make_patterns(size: int = _SIZE) -> Image.Image:
    """Four quadrants: vertical stripes, horizontal stripes, diagonal stripes, a checkerboard.

    Edge and orientation detectors of a first layer light up on one quadrant each.
    """
    yy, xx = np.mgrid[0:size, 0:size]
    period = max(4, size // 16)
    vertical = (xx // (period // 2)) % 2
    horizontal = (yy // (period // 2)) % 2
    diagonal = ((xx + yy) // (period // 2)) % 2
    checker = ((xx // period) + (yy // period)) % 2
    h = size // 2
    top = np.where(xx < h, vertical, horizontal)
    bottom = np.where(xx < h, diagonal, checker)
    grey = np.where(yy < h, top, bottom).astype(np.uint8) * 255
    return Image.fromarray(grey, mode="L").convert("RGB")


def make_digit(digit: str = "7", size: int = _SIZE) -> Image.Image:
    """A printed digit, white on black and about 70% of the height, centred: the MNIST
    convention, which the project's digit dataset (and LeNet-5's bundled weights) follow."""
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(
            size=int(size * 0.8)
        )
    except (TypeError, OSError):  # very old Pillow or no FreeType: a bitmap font, scaled up below
        font = ImageFont.load_default()
    left, top, right, bottom = d.textbbox((0, 0), digit, font=font)
    glyph = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(glyph).text((2 - left, 2 - top), digit, fill=255, font=font)
    scale = 0.7 * size / glyph.height
    glyph = glyph.resize(
        (max(1, math.ceil(glyph.width * scale)), max(1, math.ceil(glyph.height * scale))),
        Image.Resampling.BILINEAR,
    )
    im.paste(glyph, ((size - glyph.width) // 2, (size - glyph.height) // 2))
    return im


# --------------------------------------------------------------------------- the list

_SKIMAGE = "from scikit-image's sample data"
_SOURCES: tuple[_PhotoSource | _MadeSource, ...] = (
    _PhotoSource(
        Sample(
            "cat",
            "Chelsea the cat",
            f"Photo by Stefan van der Walt, CC0, {_SKIMAGE}",
            "photo",
            "A tabby cat: fur texture, eyes and whiskers.",
        ),
        "chelsea.png",
    ),
    _PhotoSource(
        Sample(
            "coffee",
            "Coffee cup",
            f"Photo by Rachel Michetti, CC0, {_SKIMAGE}",
            "photo",
            "A cup on a saucer: ellipses, smooth porcelain and wood grain.",
        ),
        "coffee.png",
    ),
    _PhotoSource(
        Sample(
            "astronaut",
            "Astronaut Eileen Collins",
            f"NASA photo, public domain, {_SKIMAGE}",
            "photo",
            "A portrait with a flag and a helmet: faces, text and strong colours.",
        ),
        "astronaut.png",
    ),
    _PhotoSource(
        Sample(
            "rocket",
            "Falcon 9 launch",
            f"SpaceX photo, public domain (CC0), {_SKIMAGE}",
            "photo",
            "A rocket launch: a tall thin object, smoke and sky.",
        ),
        "rocket.jpg",
    ),
    _PhotoSource(
        Sample(
            "camera",
            "Camera man (grey)",
            f"Photo by Lav Varshney, CC0, {_SKIMAGE}",
            "photo",
            "A grey-scale photo: one channel, repeated to three for colour models.",
        ),
        "camera.png",
    ),
    _MadeSource(
        Sample(
            "shapes",
            "Shapes",
            "Drawn by this project in code (MIT)",
            "generated",
            "A circle, a square, a triangle and two lines: colours and edges.",
        ),
        shapes_photo,
    ),
    _MadeSource(
        Sample(
            "patterns",
            "Stripes and checkerboard",
            "Drawn by this project in code (MIT)",
            "generated",
            "Vertical, horizontal and diagonal stripes and a checkerboard.",
        ),
        make_patterns,
    ),
    _MadeSource(
        Sample(
            "digit",
            "Printed digit 7",
            "Drawn by this project in code (MIT; Pillow's font)",
            "generated",
            "A printed digit, white on black as in MNIST and the project's digit data.",
        ),
        make_digit,
    ),
)


def _available(src: _PhotoSource | _MadeSource) -> bool:
    if isinstance(src, _MadeSource):
        return True
    root = _skimage_data_dir()
    return root is not None and (root / src.filename).is_file()


@functools.lru_cache(maxsize=1)
def _available_samples() -> tuple[Sample, ...]:
    return tuple(src.sample for src in _SOURCES if _available(src))


def list_samples() -> list[Sample]:
    """Samples available on this machine, photos first (the file check is done once)."""
    return list(_available_samples())


def get_sample(name: str) -> Sample:
    """The Sample called ``name``; KeyError listing the valid names otherwise."""
    for s in list_samples():
        if s.name == name:
            return s
    names = ", ".join(s.name for s in list_samples())
    raise KeyError(f"No sample image called {name!r}. Available: {names}.")


@functools.lru_cache(maxsize=16)
def load_sample(name: str) -> DecodedImage:
    """Decode a sample once per process. The result is shared: do not modify its tensor in place."""
    get_sample(name)  # clear KeyError for unknown names
    src = next(s for s in _SOURCES if s.sample.name == name)
    if isinstance(src, _MadeSource):
        return decode_pil(src.make(), name=f"sample:{name}")
    root = _skimage_data_dir()
    assert root is not None  # _available checked it
    return decode_image((root / src.filename).read_bytes())
