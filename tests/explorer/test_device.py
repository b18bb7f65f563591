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


@pytest.fixture
def fresh_threads(monkeypatch):
    """A process that has not chosen its threads yet; torch's setting is restored afterwards."""
    import explorer.device as device

    before = torch.get_num_threads()
    monkeypatch.setattr(device, "_threads_chosen", None)
    monkeypatch.delenv("EXPLORER_THREADS", raising=False)
    yield device
    torch.set_num_threads(before)


def test_threads_share_the_cores_between_the_server_and_cpu_jobs() -> None:
    from explorer.device import choose_threads

    assert choose_threads("server", cpu_jobs=1, cores=16) == 8
    assert choose_threads("worker", cpu_jobs=1, cores=16, device="cpu") == 8
    assert choose_threads("worker", cpu_jobs=3, cores=16, device="cpu") == 4
    assert choose_threads("worker", cpu_jobs=1, cores=2, device="cpu") == 1  # never more than the cores
    assert choose_threads("worker", cpu_jobs=4, cores=2, device="cpu") == 1  # at least one
    assert choose_threads("worker", cpu_jobs=1, cores=16, device="cuda:0") == 1  # the GPU does the work


def test_configure_threads_sets_what_it_returns_once_per_process(fresh_threads) -> None:
    expected = fresh_threads.choose_threads("server", cpu_jobs=1)
    assert fresh_threads.configure_threads("server", cpu_jobs=1) == expected == torch.get_num_threads()
    torch.set_num_threads(expected + 1)  # e.g. a library changed it meanwhile
    assert fresh_threads.configure_threads("worker", default=5) == expected  # later calls change nothing
    assert torch.get_num_threads() == expected + 1


def test_environment_overrides_the_thread_choice(fresh_threads, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_THREADS", "3")
    assert fresh_threads.configure_threads("worker", device="cuda", default=1) == 3
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize("raw", ["two", "0", "-1", "1.5"])
def test_an_invalid_thread_count_falls_back_with_a_log_message(fresh_threads, monkeypatch, caplog, raw) -> None:
    import logging

    monkeypatch.setenv("EXPLORER_THREADS", raw)
    with caplog.at_level(logging.WARNING, logger="explorer.device"):
        n = fresh_threads.configure_threads("worker", default=2)
    assert n == 2 == torch.get_num_threads()
    assert f"EXPLORER_THREADS={raw!r} is not a positive whole number: ignored, using the default" in caplog.text


def test_describe_counts_threads_in_words() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert describe(torch.device("cpu")) == "CPU (1 thread)"
        torch.set_num_threads(2)
        assert describe(torch.device("cpu")) == "CPU (2 threads)"
    finally:
        torch.set_num_threads(before)
