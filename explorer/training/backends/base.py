"""What every job backend shares: the job spec, the backend protocol and the loop that runs one job.

A backend runs a :class:`JobSpec` somewhere (a thread, a local worker process, a Ray actor) and
reports back through plain messages, so the same loop (:func:`run_spec`) serves all of them:

    ("event", job_id, payload)                 payload = pickle of one event
    ("end", job_id, state, result, error)      state in finished / failed / cancelled;
                                               result = pickle of the return value (or None)

Transient events (``event.transient`` true: per-step ticks, image snapshots) are coalesced:
only the newest of each type is sent, at most every ``transient_every_s`` seconds, and always
before a kept event, a pause and the end. The consumer therefore sees every kept event in order
and the latest transient one of each type, at a bounded rate, whatever the step rate.

A failed job is reported by its message only (:func:`failure_message` logs the traceback and
drops its frames), so nothing keeps the failed generator's model and data alive.
"""

from __future__ import annotations

import importlib
import logging
import pickle
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("explorer.training.job_manager")

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


class JobHandle(Protocol):
    """What a backend sees of a job: exactly the members the thread, process and Ray backends use.

    :class:`explorer.training.job.Job` satisfies it. Backends type against this protocol, so the
    dependency runs one way, ``job -> backends.base``, and no backend imports the job module.
    """

    id: int
    device: str  # a slot key: "cpu", "cuda:0", ...
    spec: JobSpec | None  # None for an in-process factory (thread backend only)
    note: str | None  # a backend may say what the job waits for (Ray placement)

    def open_generator(self) -> Iterator[Any]: ...
    def record(self, event: Any) -> None: ...
    def check_limits(self) -> None: ...
    def wait_while_paused(self) -> None: ...
    def wants_pause(self) -> bool: ...
    def wants_stop(self) -> bool: ...
    def wants_cancel(self) -> bool: ...


class Backend(Protocol):
    """Where jobs run: ``run`` blocks in the job's driver thread until the job has ended."""

    name: str

    def run(self, job: JobHandle) -> tuple[str, Any, str | None]: ...
    def close(self) -> None: ...


class UnavailableBackend:
    """A backend that cannot run anything, and says why (e.g. Ray asked for but not installed): the
    app still renders and pages show the reason instead of failing."""

    name = "unavailable"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def unavailable(self) -> str:
        return self.reason

    def run(self, job: JobHandle) -> tuple[str, Any, str | None]:
        raise RuntimeError(f"Training is unavailable: {self.reason}.")

    def close(self) -> None:
        pass


def failure_message(exc: BaseException, job_id: int) -> str:
    """Log a failed job's traceback, then drop its frames; return the one line the job keeps.

    A traceback references every frame it passed through, so it would keep the generator's
    locals (the model, its batches, GPU memory) alive as long as anything holds the exception.
    The text is logged here; the frames are cleared and nothing stores the exception.
    """
    text = "".join(traceback.format_exception(exc))
    log.warning("job %s failed:\n%s", job_id, text.rstrip())
    message = str(exc) or type(exc).__name__
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # the exception and those it was raised from
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__
    return message


def close_generator(gen: Iterator[Any] | None, job_id: int) -> None:
    """Close a job's generator: runs its ``finally`` blocks (frees memory, removes hooks)."""
    close = getattr(gen, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:  # a failing clean-up is logged; the job's outcome stands
        failure_message(exc, job_id)


class _Coalescer:
    """Sends kept events at once and the newest transient event of each type at a bounded rate."""

    def __init__(self, job_id: int, send: Callable[[tuple], None], every_s: float) -> None:
        self._job_id, self._send, self._every_s = job_id, send, every_s
        self._pending: dict[type, Any] = {}
        self._last_flush = 0.0

    def add(self, event: Any) -> None:
        if getattr(event, "transient", False):
            self._pending[type(event)] = event
            if time.monotonic() - self._last_flush >= self._every_s:
                self.flush()
        else:
            self.flush()
            self._send(("event", self._job_id, pickle.dumps(event)))

    def flush(self) -> None:
        for event in self._pending.values():
            self._send(("event", self._job_id, pickle.dumps(event)))
        self._pending.clear()
        self._last_flush = time.monotonic()


def _hold_while_paused(flags: Flags, events: _Coalescer) -> None:
    if flags.paused() and not flags.cancelled():
        events.flush()
        while flags.paused() and not flags.cancelled():
            time.sleep(0.02)


def _drain(gen: Iterator[Any], flags: Flags, events: _Coalescer) -> tuple[str, Any]:
    """Pull events until the generator returns or a cancel arrives: (state, return value)."""
    while True:
        _hold_while_paused(flags, events)
        if flags.cancelled():
            return "cancelled", None
        try:
            event = next(gen)
        except StopIteration as stop:
            return "finished", stop.value
        events.add(event)


def run_spec(
    job_id: int,
    spec: JobSpec,
    flags: Flags,
    send: Callable[[tuple], None],
    transient_every_s: float = TRANSIENT_EVERY_S,
) -> None:
    """Run one job to its end where this is called, sending events and the outcome with ``send``."""
    events = _Coalescer(job_id, send, transient_every_s)
    state, result, error = "finished", None, None
    gen: Iterator[Any] | None = None
    try:
        gen = spec.open(should_stop=flags.stop)
        state, result = _drain(gen, flags, events)
    except Exception as exc:  # the job ends with a message; the worker lives on
        state, error = "failed", failure_message(exc, job_id)
    finally:
        close_generator(gen, job_id)
    events.flush()
    payload = None
    if state == "finished" and result is not None:
        try:
            payload = pickle.dumps(result)
        except Exception as exc:
            state, error = (
                "failed",
                f"The job's result could not be sent back: {failure_message(exc, job_id)}",
            )
    send(("end", job_id, state, payload, error))
