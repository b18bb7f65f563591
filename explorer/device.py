"""Pick the compute device (CUDA, then Apple's MPS, then the CPU) and this process's CPU threads.

The environment variable ``EXPLORER_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``)
overrides the automatic choice, so a class server can pin the app to one card and a
test run can force the CPU.

Intra-op threads are chosen once per process by :func:`configure_threads` (the app at start,
each job worker process at start; ``EXPLORER_THREADS`` overrides). Never toggle
``torch.set_num_threads`` around a call: the setting is process-wide, and each thread adopts the
value in force at its first parallel operation and keeps it, so a toggle leaks into whichever
threads start meanwhile. The choice is documented in docs/architecture.md ("CPU threads").
"""

from __future__ import annotations

import logging
import os
from typing import Literal

import torch

ENV_VAR = "EXPLORER_DEVICE"
THREADS_ENV = "EXPLORER_THREADS"

log = logging.getLogger(__name__)

_TORCH_DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice, read before anyone sets it
_threads_chosen: int | None = None  # what configure_threads set in this process


class DeviceUnavailableError(RuntimeError):
    """The requested device does not exist on this machine."""


def available_devices() -> list[str]:
    """Every device this machine can run on, best first (``cuda:0``..., ``mps``, ``cpu``)."""
    found: list[str] = []
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    found.append("cpu")
    return found


def _check(device: torch.device) -> torch.device:
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"{ENV_VAR} asks for {device}, but CUDA is not available here."
            )
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"{ENV_VAR} asks for {device}, but only {torch.cuda.device_count()} CUDA device(s) exist."
            )
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise DeviceUnavailableError(f"{ENV_VAR} asks for mps, but MPS is not available here.")
    return device


def pick_device(preference: str | None = None) -> torch.device:
    """The device to compute on.

    ``preference`` (``"auto"``, ``"cpu"``, ``"cuda"``, ...) wins over ``EXPLORER_DEVICE``,
    which wins over the automatic order CUDA -> MPS -> CPU.
    """
    choice = (preference or os.environ.get(ENV_VAR, "") or "auto").strip().lower()
    if choice == "auto":
        return torch.device(available_devices()[0])
    try:
        device = torch.device(choice)
    except RuntimeError as err:
        raise DeviceUnavailableError(
            f"Unknown device {choice!r} (use cpu, cuda, cuda:N or mps)."
        ) from err
    return _check(device)


def describe(device: torch.device | str | None = None) -> str:
    """One line for the sidebar, e.g. ``CUDA: NVIDIA H100 (79.1 GiB)`` or ``CPU (2 threads)``."""
    device = torch.device(device) if device is not None else pick_device()
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"CUDA: {props.name} ({props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "Apple MPS (unified memory)"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"


def supports_bf16(device: torch.device) -> bool:
    """Whether mixed precision in bfloat16 is worth offering on ``device``."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def available_cores() -> int:
    """CPU cores this process may use: torch's default (physical cores, or ``OMP_NUM_THREADS``),
    bounded by the CPUs the process is allowed to run on (a container's or a task set's)."""
    allowed = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    return max(1, min(_TORCH_DEFAULT_THREADS, allowed))


def choose_threads(
    role: Literal["server", "worker"] = "server",
    cpu_jobs: int = 1,
    device: str = "cpu",
    cores: int | None = None,
) -> int:
    """The documented default of intra-op threads for a process (``EXPLORER_THREADS`` aside).

    The web server and each CPU job worker get an equal share of the cores, ``cores // (cpu_jobs
    + 1)`` and at least one, so jobs at once never ask for more threads than there are cores: an
    oversubscribed OpenMP team waits on preempted threads (a fused LSTM ran ~100x slower with 2
    threads than with 1 while jobs shared 2 cores). A worker of a GPU job gets one thread: the
    GPU does its work, and its CPU threads would only take cores from the others.
    """
    cores = available_cores() if cores is None else cores
    if role == "worker" and not str(device).startswith("cpu"):
        return 1
    return max(1, cores // (max(1, cpu_jobs) + 1))


def _threads_from_env() -> int | None:
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        log.warning(
            "%s=%r is not a positive whole number: ignored, using the default", THREADS_ENV, raw
        )
        return None
    return value


def configure_threads(
    role: Literal["server", "worker"] = "server",
    cpu_jobs: int = 1,
    device: str = "cpu",
    default: int | None = None,
) -> int:
    """Set this process's intra-op threads once, before its threads compute; return the number.

    ``EXPLORER_THREADS`` (a positive whole number) wins; else ``default`` when given; else
    :func:`choose_threads` for ``role``. Later calls change nothing and return the first choice,
    so the app may call this on every rerun of its entry script.
    """
    global _threads_chosen
    if _threads_chosen is not None:
        return _threads_chosen
    n = _threads_from_env() or default or choose_threads(role, cpu_jobs, device)
    torch.set_num_threads(n)
    _threads_chosen = n
    log.info(
        "%s process %s: %d intra-op thread(s) of %d core(s)",
        role,
        os.getpid(),
        n,
        available_cores(),
    )
    return n
