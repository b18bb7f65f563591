"""Background jobs: run any generator of events in a thread, with device slots and a FIFO queue.

Nothing here knows about CNNs, Streamlit or training: a job runs a *factory* that returns an
iterator of events, and the manager decides when it may start. ``explorer/ui/jobs.py`` wraps one
manager per process for the app; the training page and the recurrent page both use it.

API (stable, see docs/interfaces.md)::

    from explorer.training.jobs import JobManager, JobControl, JobState, JobBusyError

    manager = JobManager(slots={"cpu": 1, "cuda": 2}, default_slots=1)
    job = manager.submit(
        owner="session-id",               # who may see / control it
        device="cpu",                     # slot key; "cuda:0" counts against "cuda:0", not "cuda"
        factory=lambda control: my_gen(should_stop=control.stop_requested),
        title="LeNet-5 on printed digits",
        kind="training",                  # free label: which page's job it is
    )                                     # raises JobBusyError if the owner has an unfinished job
    job.state                 # JobState.QUEUED / RUNNING / PAUSED / FINISHED / FAILED / CANCELLED
    manager.queue_position(job)  # 0 when it holds a slot, 1.. while waiting, None when done
    job.log                   # list of kept events (copy), in order
    job.latest(SomeEvent)     # newest event of that type (transient ones included), or None
    job.events_since(cursor)  # (new kept events, new cursor): cheap incremental polling
    job.pause(); job.resume() # takes effect between two events
    job.stop()                # polite: control.stop_requested() turns True, the generator winds down
                              # itself (e.g. evaluates and returns) and the job ends FINISHED
    job.cancel()              # hard: the generator is closed between two events -> CANCELLED
    job.result                # the generator's return value (StopIteration.value) once FINISHED
    job.error                 # one readable line once FAILED (str of the exception)
    job.wait(timeout)         # block until the job is done (tests, scripts)
    manager.jobs_of(owner)    # that owner's jobs, newest last; no one else's
    manager.reap(is_alive)    # cancel the jobs of owners for whom is_alive(owner) is False
    manager.shutdown()        # cancel everything (tests)

Events whose attribute ``transient`` is true (per-step ticks, image snapshots) are not appended to
the log; only the newest of each type is kept, so memory stays bounded on long runs.
Flags are checked between two items of the generator, so a generator that yields once per
optimisation step can be paused, stopped or cancelled between steps.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


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


class JobControl:
    """What a running generator may look at: a polite stop request."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop_requested(self) -> bool:
        return self._stop.is_set()


def slot_key(device: str) -> str:
    """Normalise a device name into a slot key: ``cuda`` means ``cuda:0``; ``cpu`` stays."""
    device = str(device)
    return "cuda:0" if device == "cuda" else device


class Job:
    """One background run of an event generator. Create through :meth:`JobManager.submit`."""

    def __init__(
        self,
        job_id: int,
        owner: str,
        device: str,
        factory: Callable[[JobControl], Iterator[Any]],
        title: str,
        max_log: int,
        kind: str = "job",
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
        self.control = JobControl()
        self._factory = factory
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
        self._thread: threading.Thread | None = None
        self._on_exit: Callable[[Job], None] | None = None

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

    def stop(self) -> None:
        """Ask the generator to wind down itself; a queued job is simply cancelled."""
        self.control._stop.set()
        self.resume()
        if self._state is JobState.QUEUED:
            self.cancel()

    def cancel(self) -> None:
        """Close the generator between two events; the job ends CANCELLED."""
        self._cancel.set()
        self._resume.set()
        with self._lock:
            if self._state is JobState.QUEUED:
                self._finish(JobState.CANCELLED)

    # -- running (called by the manager) ---------------------------------------------------
    def _start(self, on_exit: Callable[[Job], None]) -> None:
        self._on_exit = on_exit
        with self._lock:
            self._state = JobState.RUNNING
        self.started = time.time()
        self._thread = threading.Thread(target=self._run, name=f"job-{self.id}", daemon=True)
        self._thread.start()

    def _record(self, event: Any) -> None:
        with self._lock:
            self._latest[type(event)] = event
            if not getattr(event, "transient", False):
                self._log.append(event)
                if len(self._log) > self._max_log:
                    drop = len(self._log) - self._max_log
                    del self._log[:drop]
                    self._dropped += drop

    def _run(self) -> None:
        gen: Iterator[Any] | None = None
        final = JobState.FINISHED
        try:
            gen = self._factory(self.control)
            while True:
                self._resume.wait()
                if self._cancel.is_set():
                    final = JobState.CANCELLED
                    break
                try:
                    event = next(gen)
                except StopIteration as stop:
                    self.result = stop.value
                    break
                self._record(event)
        except Exception as exc:  # the job must end with a message, never kill the process
            log.exception("job %s failed", self.id)
            self.exception = exc
            self.error = str(exc) or type(exc).__name__
            final = JobState.FAILED
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                try:
                    close()  # runs the generator's finally blocks (frees memory, hooks)
                except Exception:
                    log.exception("closing job %s failed", self.id)
            with self._lock:
                self._finish(final, signal=False)
            if self._on_exit is not None:
                self._on_exit(self)  # frees the slot before anyone waiting on us wakes up
            self._done.set()

    def _finish(self, state: JobState, signal: bool = True) -> None:
        # caller holds self._lock
        if self._state.done:
            return
        self._state = state
        self.ended = time.time()
        self._resume.set()
        if signal:
            self._done.set()

    def __repr__(self) -> str:
        return f"Job(id={self.id}, owner={self.owner!r}, device={self.device}, state={self._state.value})"


class JobManager:
    """Start jobs when their device has a free slot; queue the rest first-in first-out."""

    def __init__(
        self,
        slots: dict[str, int] | None = None,
        default_slots: int = 1,
        max_log: int = 20_000,
        keep_per_owner: int = 1,
    ) -> None:
        self._slots = {slot_key(k): v for k, v in (slots or {}).items()}
        self._default_slots = default_slots
        self._max_log = max_log
        self._keep_per_owner = keep_per_owner
        self._jobs: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._reaper: threading.Thread | None = None
        self._reaper_stop = threading.Event()
        self._gone: set[str] = set()  # owners reaped while their job was still winding down

    def slots_for(self, device: str) -> int:
        return self._slots.get(slot_key(device), self._default_slots)

    def submit(
        self,
        owner: str,
        device: str,
        factory: Callable[[JobControl], Iterator[Any]],
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
            job = Job(next(self._ids), owner, device, factory, title, self._max_log, kind)
            self._jobs.append(job)
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

    def reap(self, is_alive: Callable[[str], bool]) -> list[Job]:
        """Cancel the unfinished jobs of owners that are gone; returns the cancelled jobs."""
        with self._lock:
            owners = {j.owner for j in self._jobs if not j.done}
        gone = {o for o in owners if not _safe_alive(is_alive, o)}
        cancelled = []
        with self._lock:
            for job in self._jobs:
                if job.owner in gone and not job.done:
                    job.cancel()
                    cancelled.append(job)
            # Forget every job of an owner who left: nobody can look at them any more. Jobs still
            # winding down keep their slot until their thread ends (see _on_exit).
            self._gone |= gone
            self._forget_gone()
            self._schedule()
        return cancelled

    def start_reaper(self, is_alive: Callable[[str], bool], interval: float = 5.0) -> None:
        """Run :meth:`reap` every ``interval`` seconds in a daemon thread (idempotent)."""
        with self._lock:
            if self._reaper is not None and self._reaper.is_alive():
                return

            def loop() -> None:
                while not self._reaper_stop.wait(interval):
                    try:
                        self.reap(is_alive)
                    except Exception:
                        log.exception("job reaper failed")

            self._reaper = threading.Thread(target=loop, name="job-reaper", daemon=True)
            self._reaper.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every job and wait for their threads (tests and process exit)."""
        self._reaper_stop.set()
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.wait(timeout)

    # -- scheduling ------------------------------------------------------------------------
    def _on_exit(self, job: Job) -> None:
        with self._lock:
            self._forget_gone()
            self._schedule()

    def _forget_gone(self) -> None:
        # caller holds self._lock
        self._jobs = [j for j in self._jobs if j.owner not in self._gone or not j.done]
        self._gone &= {j.owner for j in self._jobs}

    def _schedule(self) -> None:
        # caller holds self._lock; start queued jobs in submission order while slots are free
        running: dict[str, int] = {}
        for j in self._jobs:
            if j.state in (JobState.RUNNING, JobState.PAUSED):
                running[j.device] = running.get(j.device, 0) + 1
        for j in self._jobs:
            if j.state is JobState.QUEUED and running.get(j.device, 0) < self.slots_for(j.device):
                running[j.device] = running.get(j.device, 0) + 1
                j._start(self._on_exit)


def _safe_alive(is_alive: Callable[[str], bool], owner: str) -> bool:
    try:
        return bool(is_alive(owner))
    except Exception:
        return True  # when in doubt, keep the job: cancelling someone's run is worse
