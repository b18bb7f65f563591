"""Dataset registry: offline splits, and torchvision's real loaders on tiny files in their layout.

The MNIST-family files are the raw IDX files torchvision reads; the CIFAR-10 files are its
"python version" pickled batches (torchvision's own format and loader, used here on files the
test writes itself). No network is touched.
"""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.data.datasets import (
    DATASETS,
    DatasetUnavailableError,
    is_available,
    load_dataset,
    preview,
)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file as in yann.lecun.com/exdb/mnist: magic (0, 0, 0x08 = ubyte, ndim), dims, data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_mnist_layout(
    root: Path, folder: str, n_train: int = 60, n_test: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    raw = root / folder / "raw"
    images = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    labels = (np.arange(n_train) % 10).astype(np.uint8)
    write_idx(raw / "train-images-idx3-ubyte", images)
    write_idx(raw / "train-labels-idx1-ubyte", labels)
    write_idx(
        raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    )
    write_idx(raw / "t10k-labels-idx1-ubyte", (np.arange(n_test) % 10).astype(np.uint8))
    return images, labels


def make_cifar_layout(
    root: Path, monkeypatch: pytest.MonkeyPatch, per_batch: int = 10
) -> np.ndarray:
    """Tiny CIFAR-10 batches; torchvision's md5 lists are pointed at these files' digests."""
    from torchvision.datasets import CIFAR10

    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    first = None
    digests = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8)
        first = data if first is None else first
        blob = pickle.dumps({"data": data, "labels": [i % 10 for i in range(per_batch)]})
        (base / name).write_bytes(blob)
        digests[name] = hashlib.md5(blob).hexdigest()
    meta = pickle.dumps({"label_names": list(DATASETS["cifar10"].classes)})
    (base / "batches.meta").write_bytes(meta)
    monkeypatch.setattr(
        CIFAR10,
        "train_list",
        [[f"data_batch_{i}", digests[f"data_batch_{i}"]] for i in range(1, 6)],
    )
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", digests["test_batch"]]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": hashlib.md5(meta).hexdigest()})
    return first


@pytest.mark.parametrize("key", ["shapes", "digits", "circles_squares"])
def test_offline_datasets_split_shapes_and_seed(key):
    info = DATASETS[key]
    a = load_dataset(key, seed=0, sizes=(40, 10, 12))
    b = load_dataset(key, seed=0, sizes=(40, 10, 12))
    assert a.x_train.shape == (40, *info.input_shape)
    assert a.x_val.shape == (10, *info.input_shape) and a.x_test.shape == (12, *info.input_shape)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train[:10], a.x_val)  # splits come from different seeds
    assert info.offline and is_available(key)


def test_preview_gives_images_and_class_names():
    splits = load_dataset("circles_squares", sizes=(16, 8, 8))
    images, names = preview(splits, n=6)
    assert images.shape == (6, 3, 64, 64)
    assert names == [splits.classes[i] for i in splits.y_train[:6].tolist()]
    assert set(names) <= {"circle", "square"}


@pytest.mark.parametrize(("key", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_reads_torchvision_raw_files(tmp_path, key, folder):
    images, labels = make_mnist_layout(tmp_path, folder)
    splits = load_dataset(key, root=tmp_path, sizes=(30, 10, 20))
    assert splits.x_train.shape == (30, 1, 28, 28) and splits.x_val.shape == (10, 1, 28, 28)
    assert splits.x_test.shape == (20, 1, 28, 28)
    # Validation + train are disjoint rows of the official training file, scaled to [0, 1].
    rows = torch.cat([splits.x_val, splits.x_train])
    expected = torch.from_numpy(images).float().div(255)[:, None]
    matches = (rows[:, None] == expected[None]).flatten(2).all(2)  # 40 x 60
    assert bool((matches.sum(1) == 1).all())
    assert len(set(matches.float().argmax(1).tolist())) == 40
    assert is_available(key, root=tmp_path)


def test_cifar10_reads_torchvision_python_batches(tmp_path, monkeypatch):
    first = make_cifar_layout(tmp_path, monkeypatch)
    splits = load_dataset("cifar10", root=tmp_path, sizes=(40, 10, 10))
    assert splits.x_train.shape == (40, 3, 32, 32)
    assert splits.x_test.shape == (10, 3, 32, 32)
    assert splits.classes[0] == "airplane"
    # The first stored row (CHW order) appears among train/val, scaled to [0, 1].
    expected = torch.from_numpy(first[0].reshape(3, 32, 32)).float().div(255)
    rows = torch.cat([splits.x_train, splits.x_val])
    assert bool((rows == expected).flatten(1).all(1).any())


def test_missing_download_gives_a_clear_typed_error(tmp_path):
    with pytest.raises(
        DatasetUnavailableError, match=r"MNIST \(download\) is not in .*Tick 'download'"
    ):
        load_dataset("mnist", root=tmp_path)
    assert not is_available("cifar10", root=tmp_path)
    # The offline datasets are still there.
    assert all(is_available(k) for k, info in DATASETS.items() if info.offline)


def test_download_failure_offline_is_a_clear_message(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    def no_network(self):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(MNIST, "download", no_network)
    with pytest.raises(DatasetUnavailableError, match="network seems unreachable"):
        load_dataset("mnist", root=tmp_path, download=True)


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(KeyError, match="Unknown dataset 'imagenet'. Known: circles_squares"):
        load_dataset("imagenet")


@pytest.mark.parametrize("key", list(DATASETS))
def test_every_registered_dataset_loads_with_its_declared_shape_and_classes(
    key, tmp_path, monkeypatch
):
    """The registry test: each entry's own ``load`` gives the shapes, labels and split sizes its
    metadata declares (downloadable ones on files in torchvision's layout, written here)."""
    from dataclasses import fields

    from explorer.training.settings import TrainSettings

    info = DATASETS[key]
    assert info.key == key and callable(info.load)
    assert {k for k, _ in info.train_defaults} <= {f.name for f in fields(TrainSettings)}
    if info.key == "cifar10":
        make_cifar_layout(tmp_path, monkeypatch)
    elif not info.offline:
        make_mnist_layout(tmp_path, {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}[key])
    splits = load_dataset(key, sizes=(12, 5, 6), root=tmp_path)
    assert splits.info is info and splits.classes == info.classes
    for split, n in (("train", 12), ("val", 5), ("test", 6)):
        x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
        assert x.shape == (n, *info.input_shape) and x.dtype == torch.float32
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        assert y.shape == (n,) and y.dtype == torch.long
        assert int(y.min()) >= 0 and int(y.max()) < len(info.classes)
    assert info.task == "multiclass" or (info.task == "binary" and len(info.classes) == 2)


def test_every_dataset_names_a_sample_that_ships_or_none() -> None:
    from explorer.data.samples import list_samples

    shipped = {s.name for s in list_samples()}
    for info in DATASETS.values():
        assert info.sample is None or info.sample in shipped, (info.key, info.sample)
    assert DATASETS["digits"].sample == "digit" and DATASETS["circles_squares"].sample == "shapes"


def test_available_keys_are_the_offline_ones_and_those_on_disk(tmp_path) -> None:
    from explorer.data.datasets import DATASETS, available_keys

    offline = [k for k, info in DATASETS.items() if info.offline]
    assert offline and available_keys(tmp_path) == offline  # an empty folder: nothing downloaded
