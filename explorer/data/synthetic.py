"""Offline datasets the project makes itself: coloured shapes and printed digits.

Everything is generated as whole tensors (one op for all samples, no per-sample Python), so a
dataset of ten thousand images takes well under a second and is identical for the same seed.
Images are float32 in [0, 1], ``N x C x H x W``; labels are int64 class indices.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "ring", "bar")
DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))

# Edge normals of an equilateral triangle with circumradius 1 (inradius 0.5), pointing
# away from the three sides: a point is inside when every projection is <= 0.5.
_TRI_NORMALS = torch.tensor(
    [
        [math.cos(a), math.sin(a)]
        for a in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3, math.pi / 2 + 4 * math.pi / 3)
    ]
)


def _shape_distance(kind: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Signed distance-like field (< 0 inside) of a unit-sized shape at coordinates (u, v)."""
    au, av = u.abs(), v.abs()
    if kind == "circle":
        return torch.sqrt(u * u + v * v) - 1.0
    if kind == "square":
        return torch.maximum(au, av) - 0.8
    if kind == "triangle":
        n = _TRI_NORMALS.to(u)
        # Shift down so the triangle's centroid sits at the centre. (y grows downwards.)
        proj = torch.stack([u * n[k, 0] - (v - 0.1) * n[k, 1] for k in range(3)])
        return proj.amax(0) - 0.55
    if kind == "cross":
        arm1 = torch.maximum(au - 0.3, av - 1.0)
        arm2 = torch.maximum(av - 0.3, au - 1.0)
        return torch.minimum(arm1, arm2)
    if kind == "ring":
        rho = torch.sqrt(u * u + v * v)
        return torch.maximum(rho - 1.0, 0.55 - rho)
    if kind == "bar":
        return torch.maximum(au - 1.0, av - 0.28)
    raise KeyError(f"Unknown shape {kind!r}; known: {', '.join(SHAPE_CLASSES)}")


def _checked_shape_args(classes: tuple[str, ...] | list[str], difficulty: float) -> tuple[str, ...]:
    """``make_shapes``'s classes as a tuple, once they and the difficulty are known to be valid."""
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must lie in [0, 1], got {difficulty}")
    classes = tuple(classes)
    if len(classes) < 2:
        raise ValueError("a shape dataset needs at least 2 classes")
    for c in classes:
        if c not in SHAPE_CLASSES:
            raise KeyError(f"Unknown shape {c!r}; known: {', '.join(SHAPE_CLASSES)}")
    return classes


def make_shapes(
    n: int,
    *,
    classes: tuple[str, ...] | list[str] = SHAPE_CLASSES,
    size: int = 32,
    difficulty: float = 0.5,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images of one shape each on a plain background; label = index into ``classes``.

    ``difficulty`` in [0, 1] widens the range of sizes, positions and rotations, lowers the
    colour contrast and adds pixel noise. Returns ``(N x 3 x size x size, N)``.
    """
    classes = _checked_shape_args(classes, difficulty)
    g = torch.Generator().manual_seed(seed)
    d = difficulty

    def uniform(lo: float, hi: float, shape: tuple[int, ...] = (n,)) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(shape, generator=g)

    y = torch.randint(len(classes), (n,), generator=g)
    # Shape parameters in pixels: radius, centre, rotation.
    radius = size * uniform(0.30 - 0.12 * d, 0.30 + 0.06 * d)
    margin = radius * 1.05
    cx = size / 2 + (torch.rand(n, generator=g) * 2 - 1) * (size / 2 - margin) * (0.3 + 0.7 * d)
    cy = size / 2 + (torch.rand(n, generator=g) * 2 - 1) * (size / 2 - margin) * (0.3 + 0.7 * d)
    theta = uniform(-math.pi, math.pi) * (0.15 + 0.85 * d)
    # Colours: foreground and background differ by at least `contrast` in mean brightness.
    fg = torch.rand(n, 3, generator=g)
    bg = torch.rand(n, 3, generator=g)
    contrast = 0.55 - 0.35 * d
    gap = fg.mean(1) - bg.mean(1)
    push = (contrast - gap.abs()).clamp(min=0) * torch.where(gap >= 0, 1.0, -1.0)
    fg = (fg + push[:, None] / 2).clamp(0, 1)
    bg = (bg - push[:, None] / 2).clamp(0, 1)

    # Pixel grid, then every sample's coordinates in its shape's own frame:  N x H x W
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    gy, gx = torch.meshgrid(coords, coords, indexing="ij")
    dx = (gx[None] - cx[:, None, None]) / radius[:, None, None]
    dy = (gy[None] - cy[:, None, None]) / radius[:, None, None]
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    u = cos * dx + sin * dy
    v = -sin * dx + cos * dy

    dist = torch.empty(n, size, size)
    for k, kind in enumerate(classes):  # one vectorised op per class, not per sample
        idx = (y == k).nonzero().squeeze(1)
        if idx.numel():
            dist[idx] = _shape_distance(kind, u[idx], v[idx])
    # Anti-aliased coverage: the distance field is in radius units, so scale to pixels.
    alpha = (0.5 - dist * radius[:, None, None]).clamp(0, 1)[:, None]  # N x 1 x H x W
    x = alpha * fg[:, :, None, None] + (1 - alpha) * bg[:, :, None, None]  # N x 3 x H x W
    noise = 0.02 + 0.10 * d
    x = x + noise * torch.randn(x.shape, generator=g)
    return x.clamp_(0, 1), y


def _font_candidates() -> list[Path]:
    """TrueType fonts that may exist on this system (none is required)."""
    roots = [
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        Path("/Library/Fonts"),
        Path("C:/Windows/Fonts"),
    ]
    names = (
        "DejaVuSans.ttf",
        "DejaVuSans-Bold.ttf",
        "DejaVuSerif.ttf",
        "DejaVuSansMono.ttf",
        "LiberationSans-Regular.ttf",
        "LiberationSerif-Regular.ttf",
        "LiberationMono-Regular.ttf",
        "arial.ttf",
        "times.ttf",
        "cour.ttf",
    )
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            for name in names:
                found += sorted(root.rglob(name))[:1]
    return found


def _load_fonts(
    px: int, max_system_fonts: int = 6
) -> list[ImageFont.ImageFont | ImageFont.FreeTypeFont]:
    fonts: list = []
    try:
        fonts.append(ImageFont.load_default(size=px))  # Pillow >= 10.1 ships a scalable font
    except TypeError:  # older Pillow: fixed-size bitmap font, still a valid glyph source
        fonts.append(ImageFont.load_default())
    for path in _font_candidates()[:max_system_fonts]:
        try:
            fonts.append(ImageFont.truetype(str(path), px))
        except OSError:
            continue
    return fonts


@lru_cache(maxsize=4)
def digit_glyphs(size: int = 28) -> torch.Tensor:
    """Each digit rendered once per available font, centred: ``F x 10 x size x size`` in [0, 1]."""
    px = int(size * 0.8)
    glyphs = []
    for font in _load_fonts(px):
        per_font = []
        for digit in DIGIT_CLASSES:
            canvas = Image.new("L", (size * 2, size * 2), 0)
            draw = ImageDraw.Draw(canvas)
            left, top, right, bottom = draw.textbbox((0, 0), digit, font=font)
            w, h = right - left, bottom - top
            # Centre the ink box, then scale it so its height is ~70% of the image (as MNIST).
            draw.text((size - w / 2 - left, size - h / 2 - top), digit, fill=255, font=font)
            arr = torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0)
            scale = (0.7 * size) / max(h, 1)
            out = int(round(size * 2 * scale))
            arr = F.interpolate(arr[None, None], size=(out, out), mode="bilinear", antialias=True)[
                0, 0
            ]
            # Crop / pad the centre back to size x size.
            pad = max(size - out, 0)
            arr = F.pad(arr, (pad // 2 + pad % 2, pad // 2, pad // 2 + pad % 2, pad // 2))
            off = (arr.shape[-1] - size) // 2
            per_font.append(arr[off : off + size, off : off + size])
        glyphs.append(torch.stack(per_font))
    return torch.stack(glyphs).clamp_(0, 1)


def make_digits(
    n: int, *, size: int = 28, difficulty: float = 0.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` printed digits 0-9, white on black like MNIST: ``(N x 1 x size x size, N)``.

    Each glyph is rendered once per font; every sample then gets its own random affine
    transform (rotation, scale, shear, shift), stroke gain and noise, all in a single
    ``affine_grid`` / ``grid_sample`` call.
    """
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must lie in [0, 1], got {difficulty}")
    g = torch.Generator().manual_seed(seed)
    bank = digit_glyphs(size)  # F x 10 x H x W
    n_fonts = bank.shape[0]
    d = difficulty
    y = torch.randint(10, (n,), generator=g)
    font = torch.randint(n_fonts, (n,), generator=g)
    src = bank[font, y][:, None]  # N x 1 x H x W

    def sym(scale: float) -> torch.Tensor:
        return (torch.rand(n, generator=g) * 2 - 1) * scale

    angle = sym(math.radians(8 + 14 * d))
    scale = 1.0 + sym(0.08 + 0.14 * d)
    shear = sym(0.1 + 0.25 * d)
    tx, ty = sym(0.06 + 0.12 * d), sym(0.06 + 0.12 * d)  # in [-1, 1] grid units
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Output -> input sampling matrix (inverse of the drawn transform): rotation x shear / scale.
    theta = torch.stack(
        [
            torch.stack([cos / scale, (-sin + shear * cos) / scale, tx], 1),
            torch.stack([sin / scale, (cos + shear * sin) / scale, ty], 1),
        ],
        1,
    )  # N x 2 x 3
    grid = F.affine_grid(theta, list(src.shape), align_corners=False)
    x = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    gain = 0.75 + 0.5 * torch.rand(n, 1, 1, 1, generator=g)
    x = (x * gain).clamp(0, 1)
    x = x + (0.03 + 0.12 * d) * torch.randn(x.shape, generator=g)
    return x.clamp_(0, 1), y
