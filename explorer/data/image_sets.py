"""The user's own images as a dataset (as Teachable Machine does): a zip of class folders, or
pictures added per class, become a small dataset the Training page trains on like the others.

A zip is untrusted. Before anything is decoded: a cap on entries, on the total uncompressed
bytes (as declared AND as actually read), on each entry's compression ratio (zip bombs); names
that are absolute or climb out with ``..``, symbolic links and nested archives are refused.
Encrypted entries and compression methods Python cannot unpack are refused from the listing;
an entry that cannot be unpacked (bad CRC, a size that lies, a corrupt compressed stream) is named
in its message. Every image's size is read from its header (nothing decoded) and capped per
image and for the whole dataset (pixels decoded, JPEGs counted at libjpeg's reduced size) before
any pixel is decoded; the decoding itself (:func:`explorer.data.decode.decode_image`: format
allow-list, byte and pixel caps) runs in a child process with a time limit
(:mod:`explorer.sandbox.worker`), never in the web process. Class counts are checked (too few, too
many, a single class). Nothing from the zip's names ever reaches the file system:
images are written, resized and re-encoded as PNG, under names this module makes, inside the
given per-user folder only. Each problem is an :class:`OwnImagesError` with one clear message.
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import threading
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import torch
from PIL import Image

from explorer.data.datasets import DatasetInfo, Splits
from explorer.data.decode import ALLOWED_FORMATS, ImageInputError, decode_image, image_to_tensor
from explorer.data.zip_entries import check_method, read_entry
from explorer.sandbox.worker import WorkerError, run_isolated

KEY = "own_images"
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
DECODE_TIMEOUT_S = (
    120.0  # the child process that decodes one dataset's images is stopped after this
)


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
    decode_side: int = (
        128  # decoded at most this big (JPEGs by libjpeg's 1/2..1/8 scaling), then reduced
    )
    max_image_pixels: int = 16_000_000  # per image, as decoded: far above what a 32 x 32 set needs
    max_total_pixels: int = 1_000_000_000  # the whole dataset, as decoded (about 10 s of one CPU)


@dataclass
class OwnDataset:
    """A dataset written to ``folder``: class names and the files of each (made by this module)."""

    folder: Path
    classes: tuple[str, ...]
    counts: dict[str, int]
    image_size: int
    skipped: list[str] = field(default_factory=list)  # notes: system files ignored

    def describe(self) -> str:
        return ", ".join(f"{c}: {self.counts[c]}" for c in self.classes)


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


def _class_label(text: str) -> str:
    """A class name as a label: printable, trimmed, at most 40 characters (shown as text only)."""
    clean = "".join(ch for ch in text if ch.isprintable()).strip()[:40]
    return clean or "unnamed"


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


def read_zip(data: bytes, folder: Path | str, limits: Limits = Limits()) -> OwnDataset:
    """Validate a zip of class folders (``cats/1.jpg``, ``dogs/2.png``..., optionally inside one top
    folder) and write the dataset to ``folder``; raises :class:`OwnImagesError`."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise OwnImagesError(
            "This file is not a readable zip archive. Zip a folder with one sub-folder per class."
        ) from err
    with zf:
        files, skipped = _zip_files(zf, limits)
        by_class = _by_class(files)
        _check_classes({c: len(v) for c, v in by_class.items()}, limits)
        wanted = _scan(zf, by_class, limits)
    images = _isolated(_decode_zip, data, wanted, limits)
    return _write(images, Path(folder), limits, skipped)


_Entry = tuple[zipfile.ZipInfo, PurePosixPath]


def _zip_files(zf: zipfile.ZipFile, limits: Limits) -> tuple[list[_Entry], list[str]]:
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
    files: list[_Entry] = []
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


def _by_class(files: list[_Entry]) -> dict[str, list[_Entry]]:
    """Files per class folder; an optional single top folder ("my_set/cats/1.png") is stripped
    when every file shares it."""
    tops = {p.parts[0] for _, p in files}
    strip = 1 if len(tops) == 1 and all(len(p.parts) >= 3 for _, p in files) else 0
    by_class: dict[str, list[_Entry]] = {}
    for info, path in files:
        parts = path.parts[strip:]
        if len(parts) < 2:
            raise OwnImagesError(
                f"{info.filename!r} is not inside a class folder. Make one folder per class (e.g. cats/, dogs/)."
            )
        by_class.setdefault(_class_label(parts[0]), []).append((info, path))
    return by_class


def _scan(
    zf: zipfile.ZipFile, by_class: dict[str, list[_Entry]], limits: Limits
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
    _check_budget(total_pixels, limits)
    return wanted


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


def _check_budget(total_pixels: int, limits: Limits) -> None:
    if total_pixels > limits.max_total_pixels:
        side = limits.image_size
        raise OwnImagesError(
            f"The images declare {total_pixels / 1e6:,.0f} megapixels in all; decoding one dataset is budgeted "
            f"at {limits.max_total_pixels / 1e6:,.0f} megapixels (the images end as {side} x {side}). "
            "Use fewer or smaller images."
        )


MAX_DECODERS = (
    2  # decoding children at once per web process: each imports torch (about 0.5 GB while it lives)
)
_DECODERS = threading.BoundedSemaphore(MAX_DECODERS)


def _isolated(fn: object, *args: object) -> dict[str, list[Image.Image]]:
    """Decode in a child process with a time limit (:mod:`explorer.sandbox.worker`), not in the web
    process; at most ``MAX_DECODERS`` at once, a caller waiting up to the same time limit."""
    if not _DECODERS.acquire(timeout=DECODE_TIMEOUT_S):
        raise OwnImagesError("The server is busy with other users' images: try again in a minute.")
    try:
        return run_isolated(fn, *args, timeout_s=DECODE_TIMEOUT_S, what="decoding your images")  # type: ignore[arg-type]
    except WorkerError as err:
        raise OwnImagesError(f"{err} Use fewer or smaller images.") from err
    finally:
        _DECODERS.release()


def _decode_zip(
    data: bytes, wanted: list[tuple[str, int]], limits: Limits
) -> dict[str, list[Image.Image]]:
    """(In the child) the checked entries decoded and reduced, per class."""
    images: dict[str, list[Image.Image]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        for cls, k in wanted:
            raw = read_entry(zf, infos[k], limits.max_file_bytes, OwnImagesError)
            images.setdefault(cls, []).append(_decode(raw, infos[k].filename, limits))
    return images


def _decode_lists(
    per_class: dict[str, list[bytes]], limits: Limits
) -> dict[str, list[Image.Image]]:
    """(In the child) images added per class, decoded and reduced."""
    return {
        c: [_decode(b, f"{c} image {i + 1}", limits) for i, b in enumerate(v)]
        for c, v in per_class.items()
    }


def _decode(raw: bytes, name: str, limits: Limits) -> Image.Image:
    try:
        decoded = decode_image(raw, max_bytes=limits.max_file_bytes, max_side=limits.decode_side)
    except ImageInputError as err:
        raise OwnImagesError(f"{name!r} is not an image this app can read: {err}") from err
    return decoded.display.resize((limits.image_size, limits.image_size), Image.Resampling.BILINEAR)


def _check_classes(counts: dict[str, int], limits: Limits) -> None:
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


def from_images(
    per_class: dict[str, list[bytes]], folder: Path | str, limits: Limits = Limits()
) -> OwnDataset:
    """The same dataset from images added per class (uploads or the camera): bytes per class name."""
    per_class = {_class_label(c): v for c, v in per_class.items() if v}
    _check_classes({c: len(v) for c, v in per_class.items()} or {"": 0}, limits)
    names = {c: [f"{c} image {i + 1}" for i in range(len(v))] for c, v in per_class.items()}
    total = sum(
        declared_pixels(b, names[c][i], limits)
        for c, v in per_class.items()
        for i, b in enumerate(v)
    )
    _check_budget(total, limits)
    images = _isolated(_decode_lists, per_class, limits)
    return _write(images, Path(folder), limits, [])


def _write(
    images: dict[str, list[Image.Image]], folder: Path, limits: Limits, skipped: list[str]
) -> OwnDataset:
    """PNG files under names made here (class index / image index), and the class names as JSON."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    classes = tuple(sorted(images))
    for k, cls in enumerate(classes):
        sub = folder / f"{k:02d}"
        sub.mkdir()
        for i, im in enumerate(images[cls]):
            im.save(sub / f"{i:04d}.png")
    counts = {c: len(images[c]) for c in classes}
    (folder / "classes.json").write_text(
        json.dumps({"classes": classes, "image_size": limits.image_size})
    )
    return OwnDataset(folder, classes, counts, limits.image_size, skipped)


def load_own(folder: Path | str, seed: int = 0, val_fraction: float = 0.15) -> Splits:
    """Train / validation / test splits of a dataset written by this module, stratified per class
    (each class gives at least one validation and one test image)."""
    folder = Path(folder)
    meta_path = folder / "classes.json"
    if not meta_path.is_file():
        raise OwnImagesError("Your images have expired or were cleared: add them again.")
    meta = json.loads(meta_path.read_text())
    classes = tuple(str(c) for c in meta["classes"])
    size = int(meta["image_size"])
    g = torch.Generator().manual_seed(seed)
    parts: dict[str, list[tuple[torch.Tensor, int]]] = {"train": [], "val": [], "test": []}
    for k in range(len(classes)):
        paths = sorted((folder / f"{k:02d}").glob("*.png"))
        xs = [image_to_tensor(Image.open(p).convert("RGB")) for p in paths]
        order = torch.randperm(len(xs), generator=g).tolist()
        n_hold = max(1, round(val_fraction * len(xs)))
        for rank, i in enumerate(order):
            split = "val" if rank < n_hold else "test" if rank < 2 * n_hold else "train"
            parts[split].append((xs[i], k))

    def stack(items: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack([x for x, _ in items]), torch.tensor(
            [y for _, y in items], dtype=torch.long
        )  # N x 3 x S x S

    info = DatasetInfo(
        KEY,
        "Your images",
        "Images you uploaded, one folder per class.",
        (3, size, size),
        classes,
        sizes=tuple(len(parts[s]) for s in ("train", "val", "test")),
        source="uploaded by you",
    )
    return Splits(
        info,
        *stack(parts["train"]),
        *stack(parts["val"]),
        *stack(parts["test"]),
        meta={"folder": str(folder)},
    )
