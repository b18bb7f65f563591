"""What every job backend shares: the picklable job spec and the loop that runs one job.

A backend runs a :class:`JobSpec` somewhere (a thread, a local worker process, a Ray actor) and
reports back through plain messages, so the same loop (:func:`run_spec`) serves all of them:

    ("event", job_id, payload)                 payload = pickle of one event
    ("end", job_id, state, result, error)      state in finished / failed / cancelled;
                                               result = pickle of the return value (or None)

Transient events (``event.transient`` true: per-step ticks, image snapshots) are coalesced:
only the newest of each type is sent, at most every ``transient_every_s`` seconds, and always
before a kept event, a pause and the end. The consumer therefore sees every kept event in order
and the latest transient one of each type, at a bounded rate, whatever the step rate.
"""

from __future__ import annotations

import importlib
import logging
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("explorer.training.jobs")

TRANSIENT_EVERY_S = 0.1  # coalescing window of transient events (ticks, snapshots)


@dataclass(frozen=True)
class JobSpec:
    """What a job runs: ``target`` ("package.module:function") called with plain ``kwargs``.

    The function returns a generator of events and must accept ``should_stop`` (a callable
    polled between steps). Only importable names and picklable values cross the process
    boundary: no closures over live models.
    """

    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def resolve(self) -> Callable[..., Iterator[Any]]:
        module, _, name = self.target.partition(":")
        if not module or not name:
            raise ValueError(f"A job target is 'package.module:function', not {self.target!r}.")
        return getattr(importlib.import_module(module), name)

    def open(self, should_stop: Callable[[], bool]) -> Iterator[Any]:
        """Start the job's generator (imports the target in the process that runs it)."""
        return iter(self.resolve()(**self.kwargs, should_stop=should_stop))


class WorkerLost(RuntimeError):
    """The process or actor running a job died before the job ended."""


class Flags(Protocol):
    """The three controls a running job looks at between two events."""

    def paused(self) -> bool: ...
    def stop(self) -> bool: ...
    def cancelled(self) -> bool: ...


def run_spec(
    job_id: int,
    spec: JobSpec,
    flags: Flags,
    send: Callable[[tuple], None],
    transient_every_s: float = TRANSIENT_EVERY_S,
) -> None:
    """Run one job to its end where this is called, sending events and the outcome with ``send``."""
    pending: dict[type, Any] = {}
    last_flush = 0.0

    def flush() -> None:
        nonlocal last_flush
        for event in pending.values():
            send(("event", job_id, pickle.dumps(event)))
        pending.clear()
        last_flush = time.monotonic()

    state, result, error = "finished", None, None
    gen: Iterator[Any] | None = None
    try:
        gen = spec.open(should_stop=flags.stop)
        while True:
            if flags.paused() and not flags.cancelled():
                flush()
                while flags.paused() and not flags.cancelled():
                    time.sleep(0.02)
            if flags.cancelled():
                state = "cancelled"
                break
            try:
                event = next(gen)
            except StopIteration as stop:
                result = stop.value
                break
            if getattr(event, "transient", False):
                pending[type(event)] = event
                if time.monotonic() - last_flush >= transient_every_s:
                    flush()
            else:
                flush()
                send(("event", job_id, pickle.dumps(event)))
    except Exception as exc:  # the job ends with a message; the worker lives on
        log.warning("job %s failed", job_id, exc_info=True)
        state, error = "failed", str(exc) or type(exc).__name__
    finally:
        close = getattr(gen, "close", None)
        if close is not None:
            try:
                close()  # runs the generator's finally blocks (frees memory, removes hooks)
            except Exception:
                log.warning("closing job %s failed", job_id, exc_info=True)
    flush()
    payload = None
    if state == "finished" and result is not None:
        try:
            payload = pickle.dumps(result)
        except Exception as exc:
            state, error = "failed", f"The job's result could not be sent back: {exc}"
    send(("end", job_id, state, payload, error))
