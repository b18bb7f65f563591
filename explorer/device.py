"""Pick the compute device: CUDA, then Apple's MPS, then the CPU.

The environment variable ``EXPLORER_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``)
overrides the automatic choice, so a class server can pin the app to one card and a
test run can force the CPU.
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "EXPLORER_DEVICE"


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
            raise DeviceUnavailableError(f"{ENV_VAR} asks for {device}, but CUDA is not available here.")
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
        raise DeviceUnavailableError(f"Unknown device {choice!r} (use cpu, cuda, cuda:N or mps).") from err
    return _check(device)


def describe(device: torch.device | str | None = None) -> str:
    """One line for the sidebar, e.g. ``CUDA: NVIDIA H100 (79.1 GiB)`` or ``CPU (2 threads)``."""
    device = torch.device(device) if device is not None else pick_device()
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"CUDA: {props.name} ({props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "Apple MPS (unified memory)"
    return f"CPU ({torch.get_num_threads()} threads)"


def supports_bf16(device: torch.device) -> bool:
    """Whether mixed precision in bfloat16 is worth offering on ``device``."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()
