"""Shared fixtures. Tests never touch the network and always run on the CPU."""

import os

import pytest
import torch

os.environ.setdefault("EXPLORER_DEVICE", "cpu")

from explorer.device import configure_threads

configure_threads()  # once per process, as the app does at start (EXPLORER_THREADS overrides)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def offline_torch_home(tmp_path, monkeypatch):
    """An empty TORCH_HOME: no cached weights, as on a fresh offline machine."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"
