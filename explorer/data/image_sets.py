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
The caps and the checks that need no decoding live in :mod:`explorer.data.image_set_checks`, a
zip's entry checks in :mod:`explorer.data.image_set_zip`; this module makes and reads the dataset.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from explorer.data.datasets import DatasetInfo, Splits
from explorer.data.decode import image_to_tensor
from explorer.data.image_set_checks import (
    Limits,
    OwnImagesError,
    check_budget,
    check_classes,
    class_label,
    declared_pixels,
)
from explorer.data.image_set_decode import decode_lists, decode_zip
from explorer.data.image_set_zip import by_class, scan, zip_files
from explorer.sandbox.worker import WorkerError, run_isolated

# The caps and checks live in image_set_checks, a zip's entry checks in image_set_zip; these
# names are this module's public face too.
__all__ = [
    "KEY",
    "Limits",
    "OwnDataset",
    "OwnImagesError",
    "declared_pixels",
    "from_images",
    "load_own",
    "read_zip",
]


KEY = "own_images"
DEFAULT_LIMITS = Limits()
# The child process that decodes one dataset's images is stopped after this.
DECODE_TIMEOUT_S = 120.0


def stored_shape(limits: Limits = DEFAULT_LIMITS) -> tuple[int, int, int]:
    """The shape every image of a set is stored (and trained) at: colour, ``image_size`` square."""
    return (3, limits.image_size, limits.image_size)


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


def read_zip(data: bytes, folder: Path | str, limits: Limits = DEFAULT_LIMITS) -> OwnDataset:
    """Validate a zip of class folders (``cats/1.jpg``, ``dogs/2.png``..., optionally inside one top
    folder) and write the dataset to ``folder``; raises :class:`OwnImagesError`."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise OwnImagesError(
            "This file is not a readable zip archive. Zip a folder with one sub-folder per class."
        ) from err
    with zf:
        files, skipped = zip_files(zf, limits)
        classes = by_class(files)
        check_classes({c: len(v) for c, v in classes.items()}, limits)
        wanted = scan(zf, classes, limits)
    images = _isolated(decode_zip, data, wanted, limits)
    return _write(images, Path(folder), limits, skipped)


# Decoding children at once per web process (each holds the decoded images while it lives)
MAX_DECODERS = 2


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


def from_images(
    per_class: dict[str, list[bytes]], folder: Path | str, limits: Limits = DEFAULT_LIMITS
) -> OwnDataset:
    """The same dataset from images added per class (uploads or the camera): bytes per class name."""
    per_class = {class_label(c): v for c, v in per_class.items() if v}
    check_classes({c: len(v) for c, v in per_class.items()} or {"": 0}, limits)
    names = {c: [f"{c} image {i + 1}" for i in range(len(v))] for c, v in per_class.items()}
    total = sum(
        declared_pixels(b, names[c][i], limits)
        for c, v in per_class.items()
        for i, b in enumerate(v)
    )
    check_budget(total, limits)
    images = _isolated(decode_lists, per_class, limits)
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
