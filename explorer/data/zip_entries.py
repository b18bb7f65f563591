"""Reading the entries of an untrusted zip: every way an entry can fail becomes one message.

Python's ``zipfile`` raises five different exceptions while an entry is *read* (opening the
archive succeeds): ``BadZipFile`` for a bad CRC or a size that lies, ``zlib.error`` for a corrupt
deflate stream, ``RuntimeError`` for an encrypted entry, ``NotImplementedError`` for a method it
cannot unpack (9, Deflate64, is what Windows writes for big folders), and ``EOFError`` for a
truncated stream. :func:`check_method` refuses what can be told from the listing alone, before
anything is read; :func:`read_entry` turns the rest into the caller's error class, the entry
named (as ``repr``: quoted, control characters escaped). Nothing here imports streamlit.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib

METHODS = (
    zipfile.ZIP_STORED,
    zipfile.ZIP_DEFLATED,
    zipfile.ZIP_BZIP2,
    zipfile.ZIP_LZMA,
)  # what Python unpacks
METHOD_NAMES = {1: "Shrink", 6: "Implode", 9: "Deflate64", 93: "Zstandard", 95: "XZ", 98: "PPMd"}
AES = 99  # WinZip's AES encryption marks the entry with this method
AGAIN = "Zip the class folders again."


def check_method(info: zipfile.ZipInfo, error: type[Exception] = ValueError) -> None:
    """Refuse, from the listing alone, an entry Python cannot unpack: encrypted, or an unknown method."""
    if info.flag_bits & 0x1 or info.compress_type == AES:
        raise error(
            f"The zip is password-protected ({info.filename!r} is encrypted): encrypted zips are not supported. "
            "Zip the class folders again without a password."
        )
    if info.compress_type not in METHODS:
        method = METHOD_NAMES.get(info.compress_type, "an unknown method")
        raise error(
            f"{info.filename!r} is compressed with {method} (zip method {info.compress_type}), which this app "
            "cannot unpack. Zip the class folders again with the usual compression (Deflate, every zip tool's default)."
        )


def read_entry(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int, error: type[Exception] = ValueError
) -> bytes:
    """One entry's bytes, unpacked under ``max_bytes``; each way it fails to unpack is one ``error``
    whose message names the entry (call :func:`check_method` on the listing first)."""
    name = repr(info.filename)
    try:
        with zf.open(info) as fh:
            raw = fh.read(max_bytes + 1)  # never trust the declared size alone
    except zipfile.BadZipFile as err:
        if "CRC" in str(err):
            raise error(
                f"{name} is damaged: its contents do not match the checksum (CRC-32) and size the zip "
                f"declares for it. {AGAIN}"
            ) from err
        raise error(f"{name} cannot be read: the zip is damaged or incomplete. {AGAIN}") from err
    except (zlib.error, lzma.LZMAError, EOFError, OSError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:100]
        raise error(
            f"{name} is damaged: its compressed data cannot be unpacked ({reason}). {AGAIN}"
        ) from err
    except (RuntimeError, NotImplementedError, ValueError) as err:
        raise error(f"{name} cannot be unpacked ({type(err).__name__}). {AGAIN}") from err
    if len(raw) > max_bytes:
        raise error("The zip unpacks to more than it declares: refused (a zip bomb?).")
    if len(raw) != info.file_size:
        raise error(
            f"{name} declares {info.file_size:,} bytes but unpacks to {len(raw):,}: the zip is damaged "
            f"or was altered. {AGAIN}"
        )
    return raw
