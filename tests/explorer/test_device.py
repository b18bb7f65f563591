"""Device choice: CUDA -> MPS -> CPU, with an environment override."""

import pytest
import torch

from explorer.device import DeviceUnavailableError, available_devices, describe, pick_device


def test_cpu_override(monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert describe(torch.device("cpu")).startswith("CPU (")


def test_auto_picks_the_best_available(monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DEVICE", "auto")
    assert str(pick_device()) == available_devices()[0]
    assert available_devices()[-1] == "cpu"


def test_explicit_preference_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DEVICE", "cuda:7")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_cuda_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DEVICE", "cuda")
    with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
        pick_device()


def test_nonsense_device_is_a_clear_error() -> None:
    with pytest.raises(DeviceUnavailableError, match="Unknown device 'gpu0'"):
        pick_device("gpu0")
