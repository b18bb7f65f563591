"""Shared timing helpers for the benchmarks: medians, and the one output format."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


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
