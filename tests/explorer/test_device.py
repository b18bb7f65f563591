"""Device choice: CUDA -> MPS -> CPU, with an environment override."""

import pytest
import torch

from explorer.device import DeviceUnavailableError, available_devices, describe, pick_device


def test_cpu_override(monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert describe(torch.device("cpu")).startswith("CPU (")


def _fake(monkeypatch, cuda: int, mps: bool) -> None:
    """This machine with ``cuda`` CUDA devices and Apple's MPS present or not."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "best", "found"),
    [
        (2, True, "cuda:0", ["cuda:0", "cuda:1", "mps", "cpu"]),  # CUDA before MPS
        (1, False, "cuda:0", ["cuda:0", "cpu"]),
        (0, True, "mps", ["mps", "cpu"]),  # MPS before the CPU
        (0, False, "cpu", ["cpu"]),
    ],
)
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, best, found) -> None:
    _fake(monkeypatch, cuda, mps)
    assert available_devices() == found
    for env in ("auto", " AUTO ", ""):
        monkeypatch.setenv("EXPLORER_DEVICE", env)
        assert pick_device() == torch.device(best)
    monkeypatch.delenv("EXPLORER_DEVICE")
    assert pick_device() == torch.device(best)


@pytest.mark.parametrize(
    ("env", "chosen"), [("cpu", "cpu"), ("mps", "mps"), ("cuda:1", "cuda:1"), ("CUDA", "cuda")]
)
def test_the_override_wins_over_the_automatic_order(monkeypatch, env, chosen) -> None:
    _fake(monkeypatch, cuda=2, mps=True)
    monkeypatch.setenv("EXPLORER_DEVICE", env)
    assert pick_device() == torch.device(chosen)
    assert pick_device("auto") == torch.device(
        "cuda:0"
    )  # an explicit preference wins over the override


def test_explicit_preference_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DEVICE", "cuda:7")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(
    ("cuda", "mps", "env", "message"),
    [
        (0, True, "cuda", "EXPLORER_DEVICE asks for cuda, but CUDA is not available here."),
        (2, True, "cuda:2", "EXPLORER_DEVICE asks for cuda:2, but only 2 CUDA device(s) exist."),
        (1, False, "mps", "EXPLORER_DEVICE asks for mps, but MPS is not available here."),
        (1, True, "gpu0", "Unknown device 'gpu0' (use cpu, cuda, cuda:N or mps)."),
    ],
)
def test_a_bad_override_gives_its_message(monkeypatch, cuda, mps, env, message) -> None:
    _fake(monkeypatch, cuda, mps)
    monkeypatch.setenv("EXPLORER_DEVICE", env)
    with pytest.raises(DeviceUnavailableError) as err:
        pick_device()
    assert str(err.value) == message


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
    assert (
        choose_threads("worker", cpu_jobs=1, cores=2, device="cpu") == 1
    )  # never more than the cores
    assert choose_threads("worker", cpu_jobs=4, cores=2, device="cpu") == 1  # at least one
    assert (
        choose_threads("worker", cpu_jobs=1, cores=16, device="cuda:0") == 1
    )  # the GPU does the work


def test_configure_threads_sets_what_it_returns_once_per_process(fresh_threads) -> None:
    expected = fresh_threads.choose_threads("server", cpu_jobs=1)
    assert (
        fresh_threads.configure_threads("server", cpu_jobs=1) == expected == torch.get_num_threads()
    )
    torch.set_num_threads(expected + 1)  # e.g. a library changed it meanwhile
    assert (
        fresh_threads.configure_threads("worker", default=5) == expected
    )  # later calls change nothing
    assert torch.get_num_threads() == expected + 1


def test_environment_overrides_the_thread_choice(fresh_threads, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_THREADS", "3")
    assert fresh_threads.configure_threads("worker", device="cuda", default=1) == 3
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize("raw", ["two", "0", "-1", "1.5"])
def test_an_invalid_thread_count_falls_back_with_a_log_message(
    fresh_threads, monkeypatch, caplog, raw
) -> None:
    import logging

    monkeypatch.setenv("EXPLORER_THREADS", raw)
    with caplog.at_level(logging.WARNING, logger="explorer.device"):
        n = fresh_threads.configure_threads("worker", default=2)
    assert n == 2 == torch.get_num_threads()
    assert (
        f"EXPLORER_THREADS={raw!r} is not a positive whole number: ignored, using the default"
        in caplog.text
    )


def test_describe_counts_threads_in_words() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert describe(torch.device("cpu")) == "CPU (1 thread)"
        torch.set_num_threads(2)
        assert describe(torch.device("cpu")) == "CPU (2 threads)"
    finally:
        torch.set_num_threads(before)
