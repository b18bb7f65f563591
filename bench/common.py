"""Shared helpers for the benchmarks: medians, the one output format, and a real Streamlit
server on a free local port (the class and memory benchmarks)."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(fn: Callable[[], object], repeats: int = 10, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, value: float, unit: str, human: str, target: str = "") -> None:
    """One human line and one machine line ``BENCH <name> <value> <unit>``."""
    suffix = f"  (target {target})" if target else ""
    print(f"{human}: {value:.4g} {unit}{suffix}")
    print(f"BENCH {name} {value:.6g} {unit}", flush=True)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(
    port: int,
    log: Path,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    script: str | Path = "app.py",
) -> subprocess.Popen:
    """`streamlit run <script>` (the app by default) headless on 127.0.0.1:port, on the CPU
    (EXPLORER_DEVICE=cpu), its output in ``log``; ``args`` are extra server options, ``env``
    replaces os.environ."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        *args,
    ]
    full_env = {**(os.environ if env is None else env), "EXPLORER_DEVICE": "cpu"}
    return subprocess.Popen(
        command, cwd=ROOT, env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def wait_healthy(port: int, timeout: float = 120.0, poll: float = 0.02) -> None:
    """Return once /_stcore/health answers 200; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"Streamlit did not become healthy on port {port}.")
