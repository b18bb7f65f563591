"""The dataset registry for training: offline datasets the project generates, optional downloads.

``load_dataset(key)`` returns whole tensors split into train / validation / test, so the
training loop slices batches out of memory (on the training device) with no DataLoader and
no per-sample Python. MNIST, Fashion-MNIST and CIFAR-10 come through torchvision into a data
folder, downloaded only when asked; without them (offline) a :class:`DatasetUnavailableError`
says so and the offline datasets remain on offer.

Note on CIFAR-10: torchvision reads its "python version" batches with ``pickle``. That is
torchvision's own loader for a file the user chose to download from the official source;
nothing a user uploads is ever unpickled by this project.

Adding a dataset: one ``DatasetInfo`` in ``DATASETS`` with its ``load`` callable (and the
training defaults it suggests), plus its test; the registry test loads every entry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from explorer.data import synthetic

DATA_DIR_ENV = "EXPLORER_DATA_DIR"


class DatasetUnavailableError(RuntimeError):
    """A downloadable dataset is not on disk and could not (or may not) be downloaded."""


# load(info, sizes, *, seed, difficulty, root, download) -> Splits
Loader = Callable[..., "Splits"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, before loading it."""

    key: str
    title: str
    description: str
    input_shape: tuple[int, int, int]  # C x H x W
    classes: tuple[str, ...]
    task: str = "multiclass"  # "multiclass" | "binary" (one logit, label 1 = classes[1])
    offline: bool = True  # generated here, needs no file and no network
    hflip: bool = True  # horizontal flips keep the label (not for digits or letters)
    sizes: tuple[int, int, int] = (6000, 1000, 1000)  # default train / val / test counts
    source: str = ""
    # How to load it: ``load(info, sizes, seed=, difficulty=, root=, download=)`` -> Splits.
    load: Loader | None = field(default=None, repr=False, compare=False)
    # Training settings this dataset suggests (e.g. a larger validation set, augmentation),
    # applied over a model's recipe by ``explorer.training.settings.default_settings``.
    train_defaults: tuple[tuple[str, Any], ...] = ()
    # The bundled sample image (explorer.data.samples) most like this data: the Feature maps page
    # shows it first for a model trained on the dataset; None: no opinion.
    sample: str | None = None


@dataclass
class Splits:
    """Train / validation / test tensors of one dataset: images in [0, 1], N x C x H x W."""

    info: DatasetInfo
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: dict = field(default_factory=dict)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.info.classes

    def to(self, device: torch.device | str) -> Splits:
        """A copy with every tensor on ``device`` (the training loop slices batches there)."""
        moved = {
            k: getattr(self, k).to(device)
            for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
        }
        return Splits(self.info, meta=dict(self.meta), **moved)


def _offline(make: Callable[..., tuple[torch.Tensor, torch.Tensor]], **fixed: Any) -> Loader:
    """A loader for a generated dataset: ``make(n, seed=, difficulty=, **fixed)`` per split.

    Each split is drawn from its own seed (``3 seed``, ``3 seed + 1``, ``3 seed + 2``), so the
    test set never overlaps training and is the same whatever the training size.
    """

    def load(
        info: DatasetInfo,
        sizes: tuple[int, int, int],
        *,
        seed: int,
        difficulty: float,
        root: Path | None = None,
        download: bool = False,
    ) -> Splits:
        parts = [
            make(n, difficulty=difficulty, seed=seed * 3 + k, **fixed) for k, n in enumerate(sizes)
        ]
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = parts
        return Splits(info, x_tr, y_tr, x_va, y_va, x_te, y_te, meta={"difficulty": difficulty})

    return load


def _torchvision(name: str) -> Loader:
    """A loader for ``torchvision.datasets.<name>`` read from ``root`` (downloaded only when asked)."""

    def load(
        info: DatasetInfo,
        sizes: tuple[int, int, int],
        *,
        seed: int,
        difficulty: float = 0.0,
        root: Path | None = None,
        download: bool = False,
    ) -> Splits:
        from torchvision import datasets as tvd

        root = Path(root) if root is not None else data_dir()
        return _load_torchvision(info, getattr(tvd, name), sizes, seed, root, download)

    return load


_CIRCLE_SQUARE = ("circle", "square")
SHAPES = DatasetInfo(
    "shapes",
    "Synthetic shapes (32x32 colour)",
    "Circles, squares, triangles, crosses, rings and bars in random colours, sizes, positions "
    "and rotations, with noise. Generated here in a second; no download.",
    (3, 32, 32),
    synthetic.SHAPE_CLASSES,
    sizes=(6000, 1000, 1000),
    source="generated by the project",
    load=_offline(synthetic.make_shapes),
    train_defaults=(("val_samples", 500),),
    sample="shapes",
)
DIGITS = DatasetInfo(
    "digits",
    "Printed digits (28x28 grey)",
    "The digits 0-9 rendered from fonts, then randomly rotated, scaled, sheared, shifted and "
    "noised: an offline stand-in for MNIST.",
    (1, 28, 28),
    synthetic.DIGIT_CLASSES,
    hflip=False,
    sizes=(8000, 1000, 2000),
    source="generated by the project from Pillow's and the system's fonts",
    load=_offline(synthetic.make_digits),
    train_defaults=(("val_samples", 500),),
    sample="digit",
)
CIRCLES_SQUARES = DatasetInfo(
    "circles_squares",
    "Circles vs squares (64x64 colour, binary)",
    "The project's stand-in for the course's binary example (the course names no data set): one shape against another, "
    "one sigmoid output (label 1 = square).",
    (3, 64, 64),
    _CIRCLE_SQUARE,
    task="binary",
    sizes=(2000, 500, 500),
    source="generated by the project",
    load=_offline(synthetic.make_shapes, classes=_CIRCLE_SQUARE, size=64),
    sample="shapes",
)
MNIST = DatasetInfo(
    "mnist",
    "MNIST (download)",
    "Handwritten digits, 60,000 training and 10,000 test images.",
    (1, 28, 28),
    synthetic.DIGIT_CLASSES,
    offline=False,
    hflip=False,
    sizes=(10000, 2000, 10000),
    source="torchvision.datasets.MNIST",
    load=_torchvision("MNIST"),
    train_defaults=(("val_samples", 1000), ("augment", False)),
    sample="digit",
)
FASHION_MNIST = DatasetInfo(
    "fashion_mnist",
    "Fashion-MNIST (download)",
    "Zalando's clothing images, 10 classes, 28x28 grey.",
    (1, 28, 28),
    (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    offline=False,
    sizes=(10000, 2000, 10000),
    source="torchvision.datasets.FashionMNIST",
    load=_torchvision("FashionMNIST"),
    train_defaults=(("val_samples", 1000), ("augment", False)),
    sample="digit",  # grey 28 x 28 like the digit sample: no clothing sample ships
)
CIFAR10 = DatasetInfo(
    "cifar10",
    "CIFAR-10 (download)",
    "Small colour photos of 10 object classes, 32x32.",
    (3, 32, 32),
    ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    offline=False,
    sizes=(10000, 2000, 10000),
    source="torchvision.datasets.CIFAR10",
    load=_torchvision("CIFAR10"),
    train_defaults=(("val_samples", 1000), ("augment", True)),
)

DATASETS: dict[str, DatasetInfo] = {
    d.key: d for d in (CIRCLES_SQUARES, SHAPES, DIGITS, MNIST, FASHION_MNIST, CIFAR10)
}


def get_dataset_info(key: str) -> DatasetInfo:
    try:
        return DATASETS[key]
    except KeyError:
        raise KeyError(f"Unknown dataset {key!r}. Known: {', '.join(DATASETS)}.") from None


def data_dir() -> Path:
    """Where downloadable datasets live: ``$EXPLORER_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).expanduser()


def load_dataset(
    key: str,
    *,
    seed: int = 0,
    sizes: tuple[int, int, int] | None = None,
    difficulty: float = 0.5,
    root: Path | str | None = None,
    download: bool = False,
) -> Splits:
    """Train / validation / test tensors of dataset ``key``.

    The entry's ``load`` callable does the work. Offline datasets draw each split from its own
    seed (``3 seed``, ``3 seed + 1``, ``3 seed + 2``), so the test set never overlaps training and
    is the same whatever the training size. Downloadable ones read ``root`` (default
    :func:`data_dir`) and download only when ``download`` is true; ``sizes`` caps how many
    images each split keeps.
    """
    info = get_dataset_info(key)
    sizes = sizes or info.sizes
    if min(sizes) < 1:
        raise ValueError(f"every split needs at least one image, got sizes {sizes}")
    if info.load is None:
        raise KeyError(f"Dataset {key!r} has no loader.")
    return info.load(info, sizes, seed=seed, difficulty=difficulty, root=root, download=download)


def _to_tensor(ds) -> tuple[torch.Tensor, torch.Tensor]:
    data = ds.data
    if isinstance(data, torch.Tensor):  # MNIST family: N x H x W uint8
        x = data[:, None]
    else:  # CIFAR: numpy N x H x W x C uint8
        x = torch.from_numpy(data).permute(0, 3, 1, 2)
    x = x.contiguous().float().div_(255.0)  # N x C x H x W in [0, 1]
    y = torch.as_tensor(ds.targets, dtype=torch.long)
    return x, y


def _load_torchvision(
    info: DatasetInfo, cls: type, sizes: tuple[int, int, int], seed: int, root: Path, download: bool
) -> Splits:
    try:
        train = cls(str(root), train=True, download=download)
        test = cls(str(root), train=False, download=download)
    except RuntimeError as err:
        if download:
            raise DatasetUnavailableError(
                f"{info.title}: the downloaded files are incomplete ({err})."
            ) from err
        raise DatasetUnavailableError(
            f"{info.title} is not in {root}. Tick 'download' to fetch it (needs the internet), "
            "or train on one of the offline datasets."
        ) from err
    except OSError as err:  # URLError, socket errors, DNS failure: no network
        raise DatasetUnavailableError(
            f"Could not download {info.title}: the network seems unreachable ({err}). "
            "The offline datasets (shapes, printed digits, circles vs squares) work without it."
        ) from err
    x_all, y_all = _to_tensor(train)
    x_te, y_te = _to_tensor(test)
    # Validation comes out of the official training set, chosen by seed; test is the official test.
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x_all), generator=g)
    n_val = min(sizes[1], max(len(x_all) // 6, 1))
    val_idx, train_idx = order[:n_val], order[n_val : n_val + sizes[0]]
    return Splits(
        info,
        x_all[train_idx],
        y_all[train_idx],
        x_all[val_idx],
        y_all[val_idx],
        x_te[: sizes[2]],
        y_te[: sizes[2]],
        meta={"root": str(root)},
    )


def is_available(key: str, root: Path | str | None = None) -> bool:
    """Whether ``key`` can be loaded right now without a download."""
    info = get_dataset_info(key)
    if info.offline:
        return True
    try:
        load_dataset(key, sizes=(1, 1, 1), root=root, download=False)
    except DatasetUnavailableError:
        return False
    return True


def available_keys(root: Path | str | None = None) -> list[str]:
    """The datasets that load right now without a download: the offline ones and those on disk."""
    return [k for k in DATASETS if is_available(k, root)]


def preview(splits: Splits, n: int = 32, split: str = "train") -> tuple[torch.Tensor, list[str]]:
    """The first ``n`` images of a split and their class names, for a preview grid."""
    x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
    n = min(n, len(x))
    return x[:n].cpu(), [splits.classes[int(i)] for i in y[:n].tolist()]
