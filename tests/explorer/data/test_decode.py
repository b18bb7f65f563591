"""Every bad or unusual image gets its typed error or its documented conversion.

All files are made here, in memory, with PIL or raw bytes; the decompression bombs are PNG
headers that only *declare* a huge size (nothing that big is ever allocated).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.data.decode import (
    CorruptImageError,
    DecodedImage,
    EmptyFileError,
    ImageInputError,
    TooLargeError,
    UnsupportedFormatError,
    decode_image,
)


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _png_raw(width: int, height: int, *, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written byte by byte (PIL cannot write 48-bit RGB, and bombs must not be real)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def _bomb(width: int, height: int) -> bytes:
    # Header declares width x height RGB pixels; the data is a few bytes.
    return _png_raw(width, height, bit_depth=8, colour_type=2, rows=b"\x00" * 16)


def _rgb(d: DecodedImage, x: int, y: int) -> tuple[int, int, int]:
    return tuple(int(round(float(v) * 255)) for v in d.tensor[:, y, x])  # type: ignore[return-value]


# --------------------------------------------------------------------------- refusals


def test_empty_file() -> None:
    with pytest.raises(EmptyFileError, match="empty"):
        decode_image(b"")


def test_text_file_named_png_is_refused_by_content() -> None:
    data = b"hello, this is my homework, not a picture\n"
    with pytest.raises(UnsupportedFormatError) as info:
        decode_image(data)
    msg = str(info.value)
    assert "not an image we can read" in msg
    assert "looks like text" in msg
    assert "PNG, JPEG, WebP, BMP or GIF" in msg
    assert isinstance(info.value, ImageInputError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("head", "words"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"II*\x00\x08\x00\x00\x00" + b"\x00" * 8, "TIFF"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"\x00\x01\x02\x03\xfe\xfd\xfc", "unknown binary"),
    ],
)
def test_other_formats_are_named(head: bytes, words: str) -> None:
    with pytest.raises(UnsupportedFormatError, match=words):
        decode_image(head)


def test_tiff_saved_by_pil_is_refused() -> None:
    with pytest.raises(UnsupportedFormatError, match="TIFF"):
        decode_image(_save(Image.new("RGB", (4, 4)), "TIFF"))


def test_truncated_png() -> None:
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = _save(noisy, "PNG")
    with pytest.raises(CorruptImageError) as info:
        decode_image(data[: len(data) // 2])
    assert "PNG" in str(info.value) and "damaged or incomplete" in str(info.value)


def test_truncated_jpeg() -> None:
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = _save(noisy, "JPEG", quality=90)
    with pytest.raises(CorruptImageError, match="JPEG"):
        decode_image(data[: len(data) // 3])


def test_damaged_header_after_magic_bytes() -> None:
    with pytest.raises(CorruptImageError, match="header is damaged"):
        decode_image(b"\x89PNG\r\n\x1a\n" + b"garbage" * 4)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 100000 x 100000 = 10^10 pixels: PIL's own bomb check fires in Image.open.
    with pytest.raises(TooLargeError) as info:
        decode_image(_bomb(100_000, 100_000))
    assert info.value.kind == "pixels"
    assert "decompression bomb" in str(info.value)


def test_header_over_our_pixel_cap_is_refused() -> None:
    # 9000 x 9000 = 81 MP: below PIL's error threshold, above our 64 MP cap.
    with pytest.raises(TooLargeError) as info:
        decode_image(_bomb(9000, 9000))
    msg = str(info.value)
    assert info.value.kind == "pixels"
    assert "9,000 x 9,000" in msg and "81 megapixels" in msg and "refused before decoding" in msg


def test_pixel_and_byte_caps_are_parameters() -> None:
    data = _save(Image.new("RGB", (100, 100), (10, 20, 30)), "PNG")
    with pytest.raises(TooLargeError) as info:
        decode_image(data, max_pixels=9_999)
    assert info.value.kind == "pixels"
    with pytest.raises(TooLargeError) as info:
        decode_image(data, max_bytes=len(data) - 1)
    assert info.value.kind == "bytes" and "MB" in str(info.value)
    assert decode_image(data, max_pixels=10_000, max_bytes=len(data)).size == (100, 100)


# --------------------------------------------------------------------------- conversions


def test_one_by_one_is_accepted() -> None:
    d = decode_image(_save(Image.new("RGB", (1, 1), (255, 0, 0)), "PNG"))
    assert d.tensor.shape == (3, 1, 1) and d.tensor.dtype == torch.float32
    assert torch.equal(d.tensor[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert d.format == "PNG" and d.notes == [] and not d.was_resized


def test_tensor_matches_pixels_and_display() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)  # H x W x C
    d = decode_image(_save(Image.fromarray(a), "PNG"))
    assert d.tensor.shape == (3, 5, 7)  # C x H x W
    assert torch.equal(d.tensor, torch.from_numpy(a).permute(2, 0, 1).float() / 255)
    assert np.array_equal(np.asarray(d.display), a) and d.display.mode == "RGB"
    assert len(d.digest) == 64


def test_sixteen_bit_grey_png() -> None:
    a = np.array([[0, 257 * 100], [65535, 257 * 7]], dtype=np.uint16)
    d = decode_image(_save(Image.fromarray(a), "PNG"))
    assert d.original_mode.startswith("I")
    assert any("16-bit reduced to 8-bit" in n for n in d.notes)
    assert d.was_grey
    assert [_rgb(d, x, y)[0] for y in range(2) for x in range(2)] == [0, 100, 255, 7]
    assert torch.equal(d.tensor[0], d.tensor[1]) and torch.equal(d.tensor[1], d.tensor[2])


def test_sixteen_bit_rgb_png() -> None:
    # One row of 2 pixels, 16 bits per channel, big-endian: (65535, 0, 257*128), (0, 65535, 0).
    row = b"\x00" + struct.pack(">6H", 65535, 0, 257 * 128, 0, 65535, 0)
    d = decode_image(_png_raw(2, 1, bit_depth=16, colour_type=2, rows=row))
    assert "16-bit reduced to 8-bit" in d.notes
    assert _rgb(d, 0, 0) == (255, 0, 128) and _rgb(d, 1, 0) == (0, 255, 0)


def test_cmyk_jpeg() -> None:
    data = _save(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95)  # red ink
    d = decode_image(data)
    assert d.original_mode == "CMYK" and d.format == "JPEG"
    assert any("CMYK" in n for n in d.notes)
    r, g, b = _rgb(d, 8, 8)
    assert r > 240 and g < 15 and b < 15


def test_rgba_composited_on_white() -> None:
    im = Image.new("RGBA", (3, 1))
    im.putpixel((0, 0), (255, 0, 0, 255))  # opaque red
    im.putpixel((1, 0), (255, 0, 0, 0))  # fully transparent -> white
    im.putpixel((2, 0), (0, 0, 0, 128))  # half black over white -> mid grey
    d = decode_image(_save(im, "PNG"))
    assert any("alpha composited on white" in n for n in d.notes)
    assert _rgb(d, 0, 0) == (255, 0, 0)
    assert _rgb(d, 1, 0) == (255, 255, 255)
    assert all(abs(c - 127) <= 1 for c in _rgb(d, 2, 0))


def test_grey_with_alpha() -> None:
    im = Image.new("LA", (2, 1))
    im.putpixel((0, 0), (0, 255))
    im.putpixel((1, 0), (0, 0))
    d = decode_image(_save(im, "PNG"))
    assert d.original_mode == "LA" and d.was_grey
    assert _rgb(d, 0, 0) == (0, 0, 0) and _rgb(d, 1, 0) == (255, 255, 255)


def test_palette_image_with_transparency() -> None:
    im = Image.new("P", (2, 1))
    im.putpalette([0, 0, 255, 255, 0, 0] + [0] * (256 * 3 - 6))
    im.putpixel((0, 0), 0)  # blue
    im.putpixel((1, 0), 1)  # red, made transparent below
    data = _save(im, "PNG", transparency=1)
    d = decode_image(data)
    assert d.original_mode == "P"
    assert "palette colours expanded to RGB" in d.notes
    assert any("alpha composited on white" in n for n in d.notes)
    assert _rgb(d, 0, 0) == (0, 0, 255) and _rgb(d, 1, 0) == (255, 255, 255)


def test_palette_image_without_transparency() -> None:
    im = Image.new("RGB", (4, 4), (0, 200, 0)).quantize(colors=4)
    d = decode_image(_save(im, "PNG"))
    assert d.original_mode == "P" and _rgb(d, 1, 1) == (0, 200, 0)


def test_animated_gif_gives_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    d = decode_image(data)
    assert d.format == "GIF"
    assert any("first frame of an animated GIF" in n for n in d.notes)
    assert _rgb(d, 4, 4) == (255, 0, 0)


def test_exif_rotated_jpeg_comes_out_upright() -> None:
    # Stored 64 wide x 32 high, red block at the stored top-left. Orientation 6 means "rotate
    # 90 degrees clockwise to display": upright it is 32 x 64 with red at the top-right.
    stored = Image.new("RGB", (64, 32), (255, 255, 255))
    stored.paste((255, 0, 0), (0, 0, 16, 16))
    exif = Image.Exif()
    exif[0x0112] = 6
    d = decode_image(_save(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert d.size == (32, 64) and d.tensor.shape == (3, 64, 32)
    assert d.original_size == (32, 64)
    assert any("rotated by EXIF" in n for n in d.notes)
    r, g, b = _rgb(d, 32 - 8, 8)  # upright top-right
    assert r > 230 and g < 30 and b < 30
    assert min(_rgb(d, 8, 8)) > 230  # upright top-left is white


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "GIF", "JPEG", "PNG"])
def test_allowed_formats_decode(fmt: str) -> None:
    im = Image.new("RGB", (20, 10), (0, 0, 0))
    im.paste((255, 255, 255), (10, 0, 20, 10))
    kw = {"lossless": True} if fmt == "WEBP" else {}
    d = decode_image(_save(im, fmt, **kw))
    assert d.format == fmt and d.size == (20, 10)
    assert max(_rgb(d, 2, 5)) < 20 and min(_rgb(d, 17, 5)) > 235


def test_file_name_is_irrelevant_content_decides() -> None:
    # A JPEG "named" .png decodes as JPEG: there is no file name parameter at all.
    d = decode_image(_save(Image.new("RGB", (4, 4), (9, 9, 9)), "JPEG"))
    assert d.format == "JPEG"


def test_huge_photo_is_reduced_and_says_so() -> None:
    big = Image.new("RGB", (8000, 6000), (30, 60, 90))
    d = decode_image(_save(big, "JPEG", quality=50))
    assert d.original_size == (8000, 6000)
    assert max(d.size) == 2048 and d.size == (2048, 1536)
    assert d.tensor.shape == (3, 1536, 2048)
    assert any("resized from 8000 x 6000 to 2048 x 1536" in n for n in d.notes)
    assert d.was_resized
    assert all(abs(a - b) <= 3 for a, b in zip(_rgb(d, 1000, 700), (30, 60, 90), strict=True))
