"""A zip of class folders, checked entry by entry before anything in it is decoded.

Caps on entries, on the total uncompressed bytes (as declared AND as actually read) and on each
entry's compression ratio (zip bombs); names that are absolute or climb out with ``..``,
symbolic links and nested archives are refused; encrypted entries and compression methods Python
cannot unpack are refused from the listing (:mod:`explorer.data.zip_entries`). Files are grouped
by class folder (an optional single top folder stripped), and every file is unpacked under the
byte caps with its header read (:func:`~explorer.data.image_set_checks.declared_pixels`) so that
the pixel budget holds before a decoder sees any file. :func:`explorer.data.image_sets.read_zip`
runs these checks, then decodes in a child process.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import PurePosixPath

from explorer.data.image_set_checks import (
    Limits,
    OwnImagesError,
    check_budget,
    class_label,
    declared_pixels,
)
from explorer.data.zip_entries import check_method, read_entry

ARCHIVE_SUFFIXES = (
    ".zip",
    ".tar",
    ".gz",
    ".tgz",
    ".bz2",
    ".xz",
    ".7z",
    ".rar",
    ".zst",
    ".lz",
    ".jar",
)


_ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x28\xb5\x2f\xfd",
)


_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


def _safe_name(name: str) -> PurePosixPath:
    """The entry's path, refusing absolute paths and paths that climb out of the folder."""
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise OwnImagesError(
            f"The zip contains an absolute path ({name!r}): refused. Zip the class folders only."
        )
    path = PurePosixPath(raw)
    if any(part == ".." for part in path.parts):
        raise OwnImagesError(
            f"The zip contains a path that climbs out of its folder ({name!r}): refused for safety."
        )
    return path


def _check_entry(info: zipfile.ZipInfo, limits: Limits) -> None:
    check_method(info, OwnImagesError)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise OwnImagesError(
            f"The zip contains a link ({info.filename!r}): links are refused; zip real files."
        )
    lower = info.filename.lower()
    if lower.endswith(ARCHIVE_SUFFIXES):
        raise OwnImagesError(
            f"The zip contains another archive ({info.filename!r}): unpack it and zip the class folders directly."
        )
    if info.file_size > limits.max_file_bytes:
        raise OwnImagesError(
            f"{info.filename!r} is {info.file_size / 2**20:.1f} MB uncompressed; each image may be at most "
            f"{limits.max_file_bytes / 2**20:.0f} MB."
        )
    if info.file_size > 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise OwnImagesError(
            f"{info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f} times when unpacked: "
            "this looks like a zip bomb and is refused (images barely compress)."
        )


Entry = tuple[zipfile.ZipInfo, PurePosixPath]


def zip_files(zf: zipfile.ZipFile, limits: Limits) -> tuple[list[Entry], list[str]]:
    """The zip's files (every entry checked, directories left out) and the system files skipped."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise OwnImagesError(
            f"The zip has {len(infos):,} entries; the limit is {limits.max_entries:,}."
        )
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise OwnImagesError(
            f"The zip unpacks to {declared / 2**20:.0f} MB; the limit is {limits.max_total_bytes / 2**20:.0f} MB."
        )
    files: list[Entry] = []
    skipped = []
    for info in infos:
        path = _safe_name(info.filename)
        _check_entry(info, limits)
        if info.is_dir():
            continue
        if any(j.rstrip("/") in path.parts for j in _JUNK) or path.name.startswith("._"):
            skipped.append(info.filename)
            continue
        files.append((info, path))
    if not files:
        raise OwnImagesError(
            "The zip holds no files. Put one folder per class in it, with the images inside."
        )
    return files, skipped


def by_class(files: list[Entry]) -> dict[str, list[Entry]]:
    """Files per class folder; an optional single top folder ("my_set/cats/1.png") is stripped
    when every file shares it."""
    tops = {p.parts[0] for _, p in files}
    strip = 1 if len(tops) == 1 and all(len(p.parts) >= 3 for _, p in files) else 0
    by_class: dict[str, list[Entry]] = {}
    for info, path in files:
        parts = path.parts[strip:]
        if len(parts) < 2:
            raise OwnImagesError(
                f"{info.filename!r} is not inside a class folder. Make one folder per class (e.g. cats/, dogs/)."
            )
        by_class.setdefault(class_label(parts[0]), []).append((info, path))
    return by_class


def scan(
    zf: zipfile.ZipFile, by_class: dict[str, list[Entry]], limits: Limits
) -> list[tuple[str, int]]:
    """Every file unpacked under the byte caps and its header read, nothing decoded: the byte and
    pixel budgets hold before a decoder sees any file. Returns (class, index in the listing)."""
    index = {id(info): k for k, info in enumerate(zf.infolist())}
    wanted: list[tuple[str, int]] = []
    total_bytes = total_pixels = 0
    for cls, entries in sorted(by_class.items()):
        for info, _ in entries:
            raw = read_entry(zf, info, limits.max_file_bytes, OwnImagesError)
            total_bytes += len(raw)
            if total_bytes > limits.max_total_bytes:
                raise OwnImagesError(
                    "The zip unpacks to more than it declares: refused (a zip bomb?)."
                )
            if raw[:6].startswith(_ARCHIVE_MAGIC):
                raise OwnImagesError(
                    f"{info.filename!r} is an archive inside the zip: unpack it and zip the class folders directly."
                )
            total_pixels += declared_pixels(raw, info.filename, limits)
            wanted.append((cls, index[id(info)]))
    check_budget(total_pixels, limits)
    return wanted
