"""Broken and costly zips for the own-images dataset: each gets one message naming the entry,
and the pixel budget holds before any pixel is decoded (issue 24, items 2 and 5).

Every broken zip is made by byte surgery on a valid zip written here: a flipped CRC, a size that
lies (both ways), a corrupt deflate stream, the encryption flag, compression method 9."""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from explorer.data import image_set_decode, image_sets
from explorer.data.image_sets import Limits, OwnImagesError, declared_pixels, from_images, read_zip
from explorer.sandbox.worker import WorkerError, run_isolated

FIRST = "a/0.png"


def png(shade: int, size: int = 12) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (shade, 40, 200 - shade)).save(buf, format="PNG")
    return (
        buf.getvalue() + b"\0" * 600
    )  # trailing bytes PIL ignores: the entry compresses, its deflate has blocks


def valid_zip(method: int = zipfile.ZIP_DEFLATED) -> bytearray:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for cls in ("a", "b"):
            for i in range(5):
                zf.writestr(f"{cls}/{i}.png", png(i * 30 + (cls == "b") * 15))
    return bytearray(buf.getvalue())


def headers(data: bytearray) -> tuple[int, int]:
    """Offsets of the first entry's local header and central directory record (both for FIRST)."""
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    assert data[central + 46 : central + 46 + len(FIRST)] == FIRST.encode()
    return local, central


def put32(data: bytearray, at: int, value: int) -> None:
    data[at : at + 4] = struct.pack("<I", value)


def bad_crc() -> bytes:
    data = valid_zip()
    local, central = headers(data)
    for at in (local + 14, central + 16):
        put32(data, at, struct.unpack("<I", data[at : at + 4])[0] ^ 0xFFFF)
    return bytes(data)


def size_lies(delta: int) -> bytes:
    data = valid_zip()
    local, central = headers(data)
    size = struct.unpack("<I", data[central + 24 : central + 28])[0]
    put32(data, local + 22, size + delta)
    put32(data, central + 24, size + delta)
    return bytes(data)


def corrupt_deflate() -> bytes:
    data = valid_zip()
    local, _ = headers(data)
    n, m = struct.unpack("<HH", data[local + 26 : local + 30])
    start = local + 30 + n + m
    data[start : start + 2] = b"\xff\xff"  # block type 3: invalid in every deflate stream
    return bytes(data)


def flag_encrypted() -> bytes:
    data = valid_zip()
    local, central = headers(data)
    data[local + 6] |= 1
    data[central + 8] |= 1
    return bytes(data)


def method_9() -> bytes:
    data = valid_zip()
    local, central = headers(data)
    data[local + 8 : local + 10] = struct.pack("<H", 9)
    data[central + 10 : central + 12] = struct.pack("<H", 9)
    return bytes(data)


N_FIRST = len(png(0))  # the bytes of FIRST


def test_the_valid_zip_reads(tmp_path: Path) -> None:
    ds = read_zip(bytes(valid_zip()), tmp_path / "ok")
    assert ds.counts == {"a": 5, "b": 5}


@pytest.mark.parametrize(
    ("make", "raw_error", "message"),
    [
        (
            bad_crc,
            zipfile.BadZipFile,
            "'a/0.png' is damaged: its contents do not match the checksum (CRC-32) and size the zip declares for it. "
            "Zip the class folders again.",
        ),
        (
            lambda: size_lies(-100),
            zipfile.BadZipFile,
            "'a/0.png' is damaged: its contents do not match the checksum (CRC-32) and size the zip declares for it. "
            "Zip the class folders again.",
        ),
        (
            lambda: size_lies(+100),
            None,
            f"'a/0.png' declares {N_FIRST + 100} bytes but unpacks to {N_FIRST}: the zip is damaged or was altered. "
            "Zip the class folders again.",
        ),
        (
            corrupt_deflate,
            Exception,  # zlib.error
            "'a/0.png' is damaged: its compressed data cannot be unpacked (Error -3 while decompressing data: "
            "invalid block type). Zip the class folders again.",
        ),
        (
            flag_encrypted,
            RuntimeError,
            "The zip is password-protected ('a/0.png' is encrypted): encrypted zips are not supported. "
            "Zip the class folders again without a password.",
        ),
        (
            method_9,
            NotImplementedError,
            "'a/0.png' is compressed with Deflate64 (zip method 9), which this app cannot unpack. Zip the class "
            "folders again with the usual compression (Deflate, every zip tool's default).",
        ),
    ],
    ids=["bad-crc", "size-smaller", "size-larger", "corrupt-deflate", "encrypted", "method-9"],
)
def test_broken_entry_gets_one_message(tmp_path: Path, make, raw_error, message: str) -> None:
    data = make()
    if (
        raw_error is not None
    ):  # the failure this fixes: zipfile itself raises while reading the entry
        with zipfile.ZipFile(io.BytesIO(data)) as zf, pytest.raises(raw_error):
            zf.read(FIRST)
    with pytest.raises(OwnImagesError) as err:
        read_zip(data, tmp_path / "user")
    assert str(err.value) == message
    assert not (tmp_path / "user").exists()


def test_entry_names_are_escaped_in_messages(tmp_path: Path) -> None:
    """A name with a newline and Markdown comes back quoted, the control character escaped."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for cls in ("a", "b"):
            for i in range(5):
                zf.writestr(f"{cls}/**x**\n{i}.png", png(i))
    data = bytearray(buf.getvalue())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    with pytest.raises(OwnImagesError, match="encrypted zips are not supported") as err:
        read_zip(bytes(data), tmp_path / "user")
    assert "('a/**x**\\n0.png' is encrypted)" in str(err.value)


def bitmap_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (side, side), 0).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything would decode pixels (in this process or in a worker)."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded although the budget should have refused first")

    monkeypatch.setattr(image_set_decode, "decode_image", forbidden)
    monkeypatch.setattr(image_sets, "run_isolated", forbidden)


def test_pixel_budget_refuses_before_any_decode(tmp_path: Path, no_decoding: None) -> None:
    """Many tiny PNGs that each declare 3000 x 3000 (9 MP, under the per-image cap): 1,080 MP in all."""
    small = bitmap_png(3000)
    assert len(small) < 10_000
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(120):
            zf.writestr(f"{'ab'[i % 2]}/{i}.png", small)
    with pytest.raises(OwnImagesError) as err:
        read_zip(buf.getvalue(), tmp_path / "user")
    assert str(err.value) == (
        "The images declare 1,080 megapixels in all; decoding one dataset is budgeted at 1,000 megapixels "
        "(the images end as 32 x 32). Use fewer or smaller images."
    )


def test_one_huge_bitmap_is_refused_before_decode(tmp_path: Path, no_decoding: None) -> None:
    """The issue's file: a 1-bit 8000 x 8000 PNG of a few KB (64 MP: passes the decoder's own cap)."""
    entries = {f"{c}/{i}.png": png(i) for c in "ab" for i in range(5)}
    entries["b/huge.png"] = bitmap_png(8000)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, raw in entries.items():
            zf.writestr(name, raw)
    with pytest.raises(OwnImagesError) as err:
        read_zip(buf.getvalue(), tmp_path / "user")
    assert str(err.value) == (
        "'b/huge.png' declares 8,000 x 8,000 pixels: far more than a 32 x 32 dataset needs "
        "(at most 16 megapixels per image). Make it smaller first."
    )


def test_images_by_hand_are_budgeted_too(tmp_path: Path, no_decoding: None) -> None:
    with pytest.raises(
        OwnImagesError, match=r"declare 1,080 megapixels in all; decoding one dataset is budgeted"
    ):
        from_images({"a": [bitmap_png(3000)] * 60, "b": [bitmap_png(3000)] * 60}, tmp_path / "user")


def test_a_jpeg_counts_at_its_reduced_decoding_size() -> None:
    """A 4000 x 3000 photo is decoded by libjpeg at 1/8 scale: 500 x 375 pixels, not 12 MP."""
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 120, 30)).save(buf, format="JPEG", quality=50)
    assert declared_pixels(buf.getvalue(), "photo.jpg", Limits()) == 500 * 375
    assert declared_pixels(png(1), "small.png", Limits()) == 12 * 12


def test_decoding_runs_in_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def spy(fn, *args, **kwargs):
        seen.append(fn.__name__)
        return run_isolated(fn, *args, **kwargs)

    monkeypatch.setattr(image_sets, "run_isolated", spy)
    read_zip(bytes(valid_zip()), tmp_path / "user")
    assert seen == ["decode_zip"]


def _dies() -> None:
    os._exit(3)


def _sleeps() -> None:
    time.sleep(60)


def _pid() -> int:
    return os.getpid()


def test_worker_death_and_timeout_are_messages() -> None:
    assert run_isolated(_pid, timeout_s=60) != os.getpid()
    with pytest.raises(
        WorkerError, match=r"^The process doing the work stopped unexpectedly \(exit code 3"
    ):
        run_isolated(_dies, timeout_s=60)
    with pytest.raises(WorkerError, match=r"^Decoding took longer than 1 s and was stopped\.$"):
        run_isolated(_sleeps, timeout_s=1, what="decoding")


def test_decoding_children_at_once_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each child imports torch (about 0.5 GB): with every slot taken, a caller waits, then gets a message."""
    monkeypatch.setattr(image_sets, "DECODE_TIMEOUT_S", 0.5)
    taken = [image_sets._DECODERS.acquire(timeout=5) for _ in range(image_sets.MAX_DECODERS)]
    try:
        assert all(taken)
        with pytest.raises(OwnImagesError) as err:
            read_zip(bytes(valid_zip()), tmp_path / "user")
        assert (
            str(err.value) == "The server is busy with other users' images: try again in a minute."
        )
    finally:
        for _ in taken:
            image_sets._DECODERS.release()


def test_a_dead_decoder_is_a_dataset_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_sets, "decode_zip", _dies_with_args)
    with pytest.raises(
        OwnImagesError, match=r"^The process doing decoding your images stopped unexpectedly"
    ):
        read_zip(bytes(valid_zip()), tmp_path / "user")


def _dies_with_args(*args: object) -> None:
    os._exit(9)
