"""Background jobs: run generators of events on a backend, with device slots and a FIFO queue.

Nothing here knows about CNNs, Streamlit or training: a job runs a :class:`JobSpec` (an
importable generator function and plain, picklable arguments) or, in-process only, a *factory*
callable; the manager decides when it may start and a *backend* decides where it runs:

- ``ThreadBackend`` (default here): a thread of this process (scripts, notebooks, tests).
- ``ProcessBackend``: persistent local worker processes, one per slot (the web app's default).
- ``RayBackend``: actors on a Ray cluster (the web app when ``EXPLORER_RAY_ADDRESS`` is set).

The queue, the slots, ownership and the job objects live in the process that submits, so the
queue position and the controls look the same whatever the backend. ``explorer/ui/jobs.py``
holds the app's one manager; the training page and the recurrent page both use it.

API (stable, see docs/architecture.md)::

    from explorer.training.jobs import JobManager, JobSpec, JobState, JobBusyError

    manager = JobManager(slots={"cpu": 1, "cuda": 2}, backend=ProcessBackend())
    job = manager.submit(
        owner="browser-id",               # who may see / control it
        device="cpu",                     # slot key; "cuda:0" counts against "cuda:0", not "cuda"
        factory=JobSpec("explorer.training.fit:run_training", {"settings": settings}),
        title="LeNet-5 on printed digits",
        kind="training",                  # free label: which page's job it is
    )                                     # raises JobBusyError if the owner has an unfinished job
    job.state                 # JobState.QUEUED / RUNNING / PAUSED / FINISHED / FAILED / CANCELLED
    manager.queue_position(job)  # 0 when it holds a slot, 1.. while waiting, None when done
    job.log                   # list of kept events (copy), in order
    job.latest(SomeEvent)     # newest event of that type (transient ones included), or None
    job.events_since(cursor)  # (new kept events, new cursor): cheap incremental polling
    job.pause(); job.resume() # takes effect between two events
    job.stop()                # polite: should_stop() turns True, the generator winds down itself
                              # (e.g. evaluates and returns) and the job ends FINISHED
    job.cancel()              # hard: the generator is closed between two events -> CANCELLED
    job.result                # the generator's return value (StopIteration.value) once FINISHED
    job.error                 # one readable line once FAILED (str of the exception)
    job.note                  # a sentence from the manager (time limit reached, owner gone...)
    job.wait(timeout)         # block until the job is done (tests, scripts)
    manager.jobs_of(owner)    # that owner's jobs, newest last; no one else's
    manager.reap()            # forget finished jobs of owners gone for longer than keep_finished_s
    manager.shutdown()        # cancel everything, stop the backend's workers

Events whose attribute ``transient`` is true (per-step ticks, image snapshots) are not appended to
the log; only the newest of each type is kept, so memory stays bounded on long runs.
Flags are checked between two items of the generator, so a generator that yields once per
optimisation step can be paused, stopped or cancelled between steps.

Owners who leave: a *running* job of an owner who has gone runs to its end and stays
retrievable for ``keep_finished_s`` (a reload finds it under the same browser id); a *queued*
job of an owner who has gone is dropped when its turn comes. Every job's end is logged (logger
``explorer.training.jobs``: job, owner tag, kind, reason, run and wait durations).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, Protocol

from explorer.training.backends.base import JobSpec, WorkerLost
from explorer.training.backends.thread import ThreadBackend

__all__ = [
    "Backend", "Job", "JobBusyError", "JobControl", "JobManager", "JobSpec", "JobState", "WorkerLost",
    "owner_tag", "slot_key",
]  # fmt: skip

log = logging.getLogger(__name__)

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


class JobBusyError(RuntimeError):
    """The owner already has a job that has not ended (one job per user)."""


class Backend(Protocol):
    """Where jobs run: ``run`` blocks in the job's driver thread until the job has ended."""

    name: str

    def run(self, job: Job) -> tuple[str, Any, str | None]: ...
    def close(self) -> None: ...


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
        self.exception: BaseException | None = None
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
            log.exception("job %s: backend %s failed", self.id, backend.name)
            state, result, error = "failed", None, f"The job could not run: {exc}"
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
            self.id, self.kind, self.title, owner_tag(self.owner), self._state.value, self.end_reason,
            ran, waited,
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"Job(id={self.id}, owner={self.owner!r}, device={self.device}, state={self._state.value})"


class JobManager:
    """Start jobs when their device has a free slot; queue the rest first-in first-out.

    ``backend`` runs :class:`JobSpec` jobs (default: a thread of this process); factories
    (callables) always run in a thread of this process. ``is_alive(owner)`` says whether an
    owner may still come back (default: always); ``time_limit_s`` caps each job's wall time;
    ``keep_finished_s`` is how long a finished job of a gone owner stays retrievable.
    """

    def __init__(
        self,
        slots: dict[str, int] | None = None,
        default_slots: int = 1,
        max_log: int = 20_000,
        keep_per_owner: int = 1,
        backend: Backend | None = None,
        is_alive: Callable[[str], bool] | None = None,
        time_limit_s: float | None = None,
        keep_finished_s: float = 3600.0,
    ) -> None:
        self._slots = {slot_key(k): v for k, v in (slots or {}).items()}
        self._default_slots = default_slots
        self._max_log = max_log
        self._keep_per_owner = keep_per_owner
        self._own_backend = backend is None
        self.backend: Backend = backend or ThreadBackend()
        self._threads = ThreadBackend()
        self._is_alive = is_alive or (lambda owner: True)
        self.time_limit_s = time_limit_s
        self.keep_finished_s = keep_finished_s
        self._jobs: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._reaper: threading.Thread | None = None
        self._reaper_stop = threading.Event()
        self._gone_since: dict[str, float] = {}  # owner -> when the reaper first saw them gone

    def slots_for(self, device: str) -> int:
        return self._slots.get(slot_key(device), self._default_slots)

    def submit(
        self,
        owner: str,
        device: str,
        factory: JobSpec | Callable[[JobControl], Iterator[Any]],
        title: str = "",
        one_per_owner: bool = True,
        kind: str = "job",
    ) -> Job:
        """Queue a job for ``owner``; it starts as soon as ``device`` has a free slot."""
        with self._lock:
            mine = [j for j in self._jobs if j.owner == owner]
            if one_per_owner and any(not j.done for j in mine):
                raise JobBusyError(
                    "You already have a job running or queued. Stop it before starting another."
                )
            # Bounded memory: forget this owner's oldest finished jobs.
            finished = [j for j in mine if j.done]
            for old in finished[: max(len(finished) - self._keep_per_owner + 1, 0)]:
                self._jobs.remove(old)
            job = Job(next(self._ids), owner, device, factory, title, self._max_log, kind,
                      time_limit_s=self.time_limit_s)  # fmt: skip
            self._jobs.append(job)
            self._gone_since.pop(owner, None)
            self._schedule()
            return job

    def jobs_of(self, owner: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if j.owner == owner]

    def active_jobs(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if not j.done]

    def queue_position(self, job: Job) -> int | None:
        """0 while the job holds a slot, 1.. while it waits (1 = next), None once it ended."""
        with self._lock:
            if job.done:
                return None
            if job.state is not JobState.QUEUED:
                return 0
            waiting = [j for j in self._jobs if j.device == job.device and j.state is JobState.QUEUED]
            return waiting.index(job) + 1 if job in waiting else None

    def reap(self, is_alive: Callable[[str], bool] | None = None, now: float | None = None) -> list[Job]:
        """Forget the finished jobs of owners gone for longer than ``keep_finished_s``.

        Running jobs of gone owners are left to finish (their result waits for a reload);
        queued ones are dropped when their turn comes. Returns the jobs forgotten.
        """
        alive = is_alive or self._is_alive
        now = time.time() if now is None else now
        with self._lock:
            owners = {j.owner for j in self._jobs}
        gone = {o for o in owners if not _safe_alive(alive, o)}
        forgotten: list[Job] = []
        with self._lock:
            for owner in owners - gone:
                self._gone_since.pop(owner, None)
            for owner in gone:
                self._gone_since.setdefault(owner, now)
            for job in list(self._jobs):
                since = self._gone_since.get(job.owner)
                if since is None or not job.done:
                    continue
                if now - max(since, job.ended or since) >= self.keep_finished_s:
                    self._jobs.remove(job)
                    forgotten.append(job)
                    log.info("reaped job %s (%s) of owner %s: gone, result kept %.0f s",
                             job.id, job.kind, owner_tag(job.owner), self.keep_finished_s)  # fmt: skip
            self._gone_since = {o: t for o, t in self._gone_since.items() if o in {j.owner for j in self._jobs}}
            self._schedule()
        return forgotten

    def start_reaper(self, interval: float = 10.0) -> None:
        """Run :meth:`reap` every ``interval`` seconds in a daemon thread (idempotent)."""
        with self._lock:
            if self._reaper is not None and self._reaper.is_alive():
                return

            def loop() -> None:
                while not self._reaper_stop.wait(interval):
                    try:
                        self.reap()
                    except Exception:
                        log.exception("job reaper failed")

            self._reaper = threading.Thread(target=loop, name="job-reaper", daemon=True)
            self._reaper.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every job, wait for their ends, and stop the backend if the manager made it."""
        self._reaper_stop.set()
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.cancel("server shutting down")
        for job in jobs:
            job.wait(timeout)
        if self._own_backend:
            self.backend.close()

    # -- scheduling ------------------------------------------------------------------------
    def _on_exit(self, job: Job) -> None:
        with self._lock:
            self._schedule()

    def _schedule(self) -> None:
        # caller holds self._lock; start queued jobs in submission order while slots are free
        running: dict[str, int] = {}
        for j in self._jobs:
            if j.state in (JobState.RUNNING, JobState.PAUSED):
                running[j.device] = running.get(j.device, 0) + 1
        for j in self._jobs:
            if j.state is not JobState.QUEUED or running.get(j.device, 0) >= self.slots_for(j.device):
                continue
            if not _safe_alive(self._is_alive, j.owner):
                j.note = "Dropped from the queue: its owner had left when its turn came."
                j.cancel("owner gone before its turn")
                continue
            running[j.device] = running.get(j.device, 0) + 1
            j._start(self.backend if j.spec is not None else self._threads, self._on_exit)


def _safe_alive(is_alive: Callable[[str], bool], owner: str) -> bool:
    try:
        return bool(is_alive(owner))
    except Exception:
        return True  # when in doubt, keep the job: dropping someone's run is worse
