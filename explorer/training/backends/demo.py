"""Tiny job generators with no torch in them (but :func:`threads`, which reports torch's setting):
the backend contract tests, the benchmarks and a smoke test of a cluster
(``python -m explorer.training.backends.demo``) use them.

Cross-process control goes through files: ``gate`` (a path) holds each step until the file
exists; ``closed`` (a path) is written when the generator is closed, so a test in another
process can see that cancel ran the generator's ``finally``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoInfo:
    """First event: where the job runs (the pid lets a test kill the worker)."""

    pid: int


@dataclass(frozen=True)
class DemoTick:
    step: int
    transient: bool = False


@dataclass(frozen=True)
class DemoIdle:
    """Waiting at the gate (transient: only the newest is kept)."""

    step: int
    transient: bool = True


def ticks(
    n: int,
    should_stop: Callable[[], bool],
    gate: str | None = None,
    fail_at: int | None = None,
    step_s: float = 0.0,
    closed: str | None = None,
) -> Iterator[object]:
    """Yield ``n`` kept ticks; return "done", or "stopped at i" after a polite stop."""
    try:
        yield DemoInfo(os.getpid())
        for i in range(n):
            if should_stop():
                return f"stopped at {i}"
            while gate is not None and not os.path.exists(gate):
                time.sleep(0.02)
                yield DemoIdle(i)
                if should_stop():
                    return f"stopped at {i}"
            if fail_at == i:
                raise ValueError(f"demo failure at step {i}")
            if step_s:
                time.sleep(step_s)
            yield DemoTick(i)
        return "done"
    finally:
        if closed is not None:
            Path(closed).write_text("closed")


def threads(should_stop: Callable[[], bool]) -> Iterator[object]:
    """Return the intra-op threads of the process that runs the job (this one imports torch)."""
    import torch

    yield DemoInfo(os.getpid())
    return torch.get_num_threads()


if __name__ == "__main__":  # smoke test of the configured backend (EXPLORER_RAY_ADDRESS or local)
    from explorer.training.backends import backend_from_env
    from explorer.training.job_manager import JobManager, JobSpec

    backend = backend_from_env(preload=())
    manager = JobManager(backend=backend)
    job = manager.submit(
        "smoke-test",
        "cpu",
        JobSpec("explorer.training.backends.demo:ticks", {"n": 20, "step_s": 0.05}),
    )
    job.wait(120)
    print(
        f"{backend.name} backend: job {job.state.value}, result {job.result!r}, {len(job.log)} events, "
        f"worker pid {job.log[0].pid if job.log else '?'}"
    )
    manager.shutdown()
    backend.close()
