"""One background job: its state, its log of events, its controls, and the thread that drives it.

A :class:`Job` is the record the page polls and the handle its owner controls (pause, resume,
stop, cancel); a backend runs its generator and feeds events back through :meth:`Job.record`.
The queue and the device slots that decide *when* a job starts live in
``explorer.training.job_manager`` (:class:`~explorer.training.job_manager.JobManager`), which also re-exports
these names: import them from there.

A failed job keeps one readable line (``job.error``), never the exception object: its traceback
would keep the generator's frames, and with them the model and its data (GPU memory), alive.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

from explorer.training.backends.base import Backend, JobSpec, WorkerLost, failure_message

__all__ = ["LIMIT_GRACE_S", "Job", "JobControl", "JobState", "owner_tag", "slot_key"]

log = logging.getLogger("explorer.training.job_manager")  # one logger for the whole job machinery

LIMIT_GRACE_S = 60.0  # after the time limit's polite stop, a job has this long to wind down


class JobState(StrEnum):
    """Life cycle of a job: queued -> running <-> paused -> finished | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        return self in (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)


class JobControl:
    """What a running in-process generator may look at: a polite stop request."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop_requested(self) -> bool:
        return self._stop.is_set()


def slot_key(device: str) -> str:
    """Normalise a device name into a slot key: ``cuda`` means ``cuda:0``; ``cpu`` stays."""
    device = str(device)
    return "cuda:0" if device == "cuda" else device


def owner_tag(owner: str) -> str:
    """A short, stable, non-reversible tag of an owner id for logs (the id itself grants access)."""
    return hashlib.sha256(owner.encode()).hexdigest()[:10]


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class Job:
    """One background run of an event generator. Create through :meth:`JobManager.submit`."""

    def __init__(
        self,
        job_id: int,
        owner: str,
        device: str,
        factory: JobSpec | Callable[[JobControl], Iterator[Any]],
        title: str,
        max_log: int,
        kind: str = "job",
        time_limit_s: float | None = None,
    ) -> None:
        self.id = job_id
        self.kind = kind  # which page's job this is (e.g. "training", "recurrent")
        self.owner = owner
        self.device = slot_key(device)
        self.title = title
        self.created = time.time()
        self.started: float | None = None
        self.ended: float | None = None
        self.result: Any = None
        self.error: str | None = None
        self.note: str | None = None  # the manager's word: time limit reached, owner gone
        self.end_reason: str | None = None
        self.time_limit_s = time_limit_s
        self.control = JobControl()
        self.spec: JobSpec | None = factory if isinstance(factory, JobSpec) else None
        self._factory = None if isinstance(factory, JobSpec) else factory
        self._max_log = max_log
        self._state = JobState.QUEUED
        self._log: list[Any] = []
        self._dropped = 0  # events dropped from the front when the log exceeds max_log
        self._latest: dict[type, Any] = {}
        self._lock = threading.Lock()
        self._resume = threading.Event()
        self._resume.set()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._limit_hit = False
        self._reason: str | None = None  # why a stop / cancel was asked (for the end log)
        self._thread: threading.Thread | None = None

    # -- reading ---------------------------------------------------------------------------
    @property
    def state(self) -> JobState:
        return self._state

    @property
    def done(self) -> bool:
        return self._state.done

    @property
    def log(self) -> list[Any]:
        with self._lock:
            return list(self._log)

    def latest(self, kind: type) -> Any:
        with self._lock:
            return self._latest.get(kind)

    def events_since(self, cursor: int) -> tuple[list[Any], int]:
        """Kept events after ``cursor`` (a count of events seen) and the new cursor."""
        with self._lock:
            start = max(cursor - self._dropped, 0)
            return list(self._log[start:]), self._dropped + len(self._log)

    @property
    def cursor(self) -> int:
        """How many kept events exist so far (compare with a saved cursor: did anything change?)."""
        with self._lock:
            return self._dropped + len(self._log)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended; True if it did within ``timeout``."""
        return self._done.wait(timeout)

    # -- control ---------------------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            if self._state is JobState.RUNNING:
                self._resume.clear()
                self._state = JobState.PAUSED

    def resume(self) -> None:
        with self._lock:
            if self._state is JobState.PAUSED:
                self._state = JobState.RUNNING
            self._resume.set()

    def stop(self, reason: str = "stopped by its owner") -> None:
        """Ask the generator to wind down itself; a queued job is simply cancelled."""
        self._reason = self._reason or reason
        self.control._stop.set()
        self.resume()
        if self._state is JobState.QUEUED:
            self.cancel(reason)

    def cancel(self, reason: str = "cancelled by its owner") -> None:
        """Close the generator between two events; the job ends CANCELLED."""
        self._reason = self._reason or reason
        self._cancel.set()
        self._resume.set()
        with self._lock:
            queued = self._state is JobState.QUEUED
            if queued:
                self._finish(JobState.CANCELLED)
        if queued:
            self._log_end()

    # -- what backends call (from the job's driver thread) ---------------------------------
    def open_generator(self) -> Iterator[Any]:
        """Start this job's generator in the calling process (thread backend)."""
        if self.spec is not None:
            return self.spec.open(should_stop=self.control.stop_requested)
        return iter(self._factory(self.control))

    def record(self, event: Any) -> None:
        """Keep an event (a transient one only as the newest of its type)."""
        with self._lock:
            self._latest[type(event)] = event
            if not getattr(event, "transient", False):
                self._log.append(event)
                if len(self._log) > self._max_log:
                    drop = len(self._log) - self._max_log
                    del self._log[:drop]
                    self._dropped += drop

    def wants_pause(self) -> bool:
        return not self._resume.is_set()

    def wants_stop(self) -> bool:
        return self.control.stop_requested()

    def wants_cancel(self) -> bool:
        return self._cancel.is_set()

    def wait_while_paused(self) -> None:
        while not self._resume.wait(0.2):
            self.check_limits()

    def check_limits(self) -> None:
        """Enforce the wall-time limit: a polite stop at the limit, a cancel a minute later."""
        if self.time_limit_s is None or self.started is None or self.done:
            return
        over = time.time() - self.started - self.time_limit_s
        if over < 0:
            return
        if not self._limit_hit:
            self._limit_hit = True
            self.note = (
                f"Stopped at the time limit of {_duration(self.time_limit_s)} per job "
                "(EXPLORER_JOB_TIME_LIMIT_S): the result is what it had learnt by then."
            )
            log.info("job %s reached the time limit of %.0f s", self.id, self.time_limit_s)
            self.stop("time limit")
        elif over > LIMIT_GRACE_S and not self._cancel.is_set():
            self.cancel("time limit (did not wind down)")

    # -- running (called by the manager) ---------------------------------------------------
    def _start(self, backend: Backend, on_exit: Callable[[Job], None]) -> None:
        with self._lock:
            self._state = JobState.RUNNING
        self.started = time.time()
        self._thread = threading.Thread(
            target=self._drive, args=(backend, on_exit), name=f"job-{self.id}", daemon=True
        )
        self._thread.start()

    def _drive(self, backend: Backend, on_exit: Callable[[Job], None]) -> None:
        try:
            state, result, error = backend.run(self)
        except WorkerLost as exc:
            state, result, error = "failed", None, str(exc)
        except Exception as exc:  # a backend fault must still end the job with a message
            log.error("job %s: backend %s failed", self.id, backend.name)
            state, result, error = (
                "failed",
                None,
                f"The job could not run: {failure_message(exc, self.id)}",
            )
        final = JobState(state)
        self.result = result if final is JobState.FINISHED else None
        self.error = error if final is JobState.FAILED else None
        with self._lock:
            self._finish(final, signal=False)
        self._log_end()
        on_exit(self)  # frees the slot before anyone waiting on us wakes up
        self._done.set()

    def _finish(self, state: JobState, signal: bool = True) -> None:
        # caller holds self._lock
        if self._state.done:
            return
        self._state = state
        self.ended = time.time()
        self._resume.set()
        if state is JobState.FAILED:
            self.end_reason = f"failed: {self.error}"
        elif state is JobState.FINISHED:
            self.end_reason = self._reason or "finished"
        else:
            self.end_reason = self._reason or "cancelled"
        if signal:
            self._done.set()

    def _log_end(self) -> None:
        ran = (self.ended or time.time()) - self.started if self.started else 0.0
        waited = (self.started or self.ended or time.time()) - self.created
        log.info(
            "job %s (%s, %r) of owner %s ended %s (%s): ran %.1f s after waiting %.1f s",
            self.id,
            self.kind,
            self.title,
            owner_tag(self.owner),
            self._state.value,
            self.end_reason,
            ran,
            waited,
        )

    def __repr__(self) -> str:
        return f"Job(id={self.id}, owner={self.owner!r}, device={self.device}, state={self._state.value})"
