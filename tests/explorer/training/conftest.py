"""Tiny models and datasets for fast training tests."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.data.datasets import DatasetInfo, Splits


def tiny_cnn(in_channels: int = 1, num_classes: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 4 x 4 x 4
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, num_classes),
    )


def bars_splits(n: int = 384, task: str = "multiclass", seed: int = 0) -> Splits:
    """8x8 grey images with a bright horizontal, vertical or diagonal bar (3 classes) or 2 for binary."""
    k = 2 if task == "binary" else 3
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(k, (n,), generator=g)
    x = 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    pos = torch.randint(1, 7, (n,), generator=g)
    idx = torch.arange(n)
    h, v = y == 0, y == 1
    x[idx[h], 0, pos[h], :] = 1.0
    x[idx[v], 0, :, pos[v]] = 1.0
    if k == 3:
        d = idx[y == 2]
        x[d, 0] += torch.eye(8) * 0.9
    classes = ("horizontal", "vertical", "diagonal")[:k]
    info = DatasetInfo("bars", "bars", "test", (1, 8, 8), classes, task=task, hflip=False)
    a, b = int(n * 0.6), int(n * 0.8)
    return Splits(info, x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


@pytest.fixture
def splits() -> Splits:
    return bars_splits()
