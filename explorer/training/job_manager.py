"""Background jobs: run generators of events on a backend, with device slots and a FIFO queue.

Nothing here knows about CNNs, Streamlit or training: a job runs a :class:`JobSpec` (an
importable generator function and plain, picklable arguments) or, in-process only, a *factory*
callable; the manager decides when it may start and a *backend* decides where it runs:

- ``ThreadBackend`` (default here): a thread of this process (scripts, notebooks, tests).
- ``ProcessBackend``: persistent local worker processes, one per slot (the web app's default).
- ``RayBackend``: actors on a Ray cluster (the web app when ``EXPLORER_RAY_ADDRESS`` is set).

The queue, the slots, ownership and the job objects live in the process that submits, so the
queue position and the controls look the same whatever the backend. ``explorer/ui/browser_jobs.py``
holds the app's training manager (the training page and the recurrent page both use it) and
builds its analysis manager too (``explorer.ui.feature_space_panel.manager``).

This module is the manager (queue, device slots, ownership, reaping) and the public face of the
job machinery: one job's record and controls live in ``explorer.training.job``, the backends'
shared loop in ``explorer.training.backends.base``; the names below are importable from here.

API (stable, see docs/architecture.md)::

    from explorer.training.job_manager import JobManager, JobSpec, JobState, JobBusyError

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
    manager.unavailable()     # None, or why the backend cannot run jobs now (answers at once)
    manager.reap()            # forget finished jobs of owners gone for longer than keep_finished_s
    manager.shutdown()        # cancel everything, stop the backend's workers

Events whose attribute ``transient`` is true (per-step ticks, image snapshots) are not appended to
the log; only the newest of each type is kept, so memory stays bounded on long runs.
Flags are checked between two items of the generator, so a generator that yields once per
optimisation step can be paused, stopped or cancelled between steps.

Owners who leave: a *running* job of an owner who has gone runs to its end and stays
retrievable for ``keep_finished_s`` (a reload finds it under the same browser id); a *queued*
job of an owner who has gone is dropped when its turn comes. Every job's end is logged (logger
``explorer.training.job_manager``: job, owner tag, kind, reason, run and wait durations).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from explorer.training.backends.base import Backend, JobSpec, WorkerLost
from explorer.training.backends.thread import ThreadBackend
from explorer.training.job import Job, JobControl, JobState, owner_tag, slot_key

__all__ = [
    "Backend",
    "Job",
    "JobBusyError",
    "JobControl",
    "JobManager",
    "JobSpec",
    "JobState",
    "TrainingUnavailableError",
    "WorkerLost",
    "owner_tag",
    "slot_key",
]

log = logging.getLogger(__name__)


class JobBusyError(RuntimeError):
    """The owner already has a job that has not ended (one job per user)."""


class TrainingUnavailableError(JobBusyError):
    """The backend cannot run jobs now (e.g. the Ray cluster does not answer); ``str(err)`` says why.

    A :class:`JobBusyError` so that every page that shows a refused submission shows this too.
    """


class JobManager:
    """Start jobs when their device has a free slot; queue the rest first-in first-out.

    ``backend`` runs :class:`JobSpec` jobs (default: a thread of this process); factories
    (callables) always run in a thread of this process. ``is_alive(owner)`` says whether an
    owner may still come back (default: always); ``time_limit_s`` caps each job's wall time;
    ``keep_finished_s`` is how long a finished job of a gone owner stays retrievable.
    ``keep_per_owner`` finished jobs are kept per owner, or per (owner, kind) when
    ``keep_per_kind`` (a manager that runs several kinds of job whose results a browser reads
    separately, so that one kind's new job never drops another kind's finished one).
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
        keep_per_kind: bool = False,
    ) -> None:
        self._slots = {slot_key(k): v for k, v in (slots or {}).items()}
        self._default_slots = default_slots
        self._max_log = max_log
        self._keep_per_owner = keep_per_owner
        self._keep_per_kind = keep_per_kind
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
        """Queue a job for ``owner``; it starts as soon as ``device`` has a free slot. Raises
        :class:`JobBusyError` (one job per owner) or :class:`TrainingUnavailableError`."""
        reason = (
            self.unavailable() if isinstance(factory, JobSpec) else None
        )  # asked outside the lock
        if reason:
            raise TrainingUnavailableError(f"Training is unavailable: {reason}.")
        with self._lock:
            mine = [j for j in self._jobs if j.owner == owner]
            if one_per_owner and any(not j.done for j in mine):
                raise JobBusyError(
                    "You already have a job running or queued. Stop it before starting another."
                )
            # Bounded memory: forget this owner's oldest finished jobs (of this kind).
            finished = [j for j in mine if j.done and (not self._keep_per_kind or j.kind == kind)]
            for old in finished[: max(len(finished) - self._keep_per_owner + 1, 0)]:
                self._jobs.remove(old)
            job = Job(
                next(self._ids),
                owner,
                device,
                factory,
                title,
                self._max_log,
                kind,
                time_limit_s=self.time_limit_s,
            )
            self._jobs.append(job)
            self._gone_since.pop(owner, None)
            self._schedule()
            return job

    def unavailable(self) -> str | None:
        """Why the backend cannot run jobs now (e.g. the Ray cluster does not answer), or None.
        Answers at once and takes no lock: pages ask on every visit."""
        probe = getattr(self.backend, "unavailable", None)
        return probe() if probe is not None else None

    def jobs_of(self, owner: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if j.owner == owner]

    def queue_position(self, job: Job) -> int | None:
        """0 while the job holds a slot, 1.. while it waits (1 = next), None once it ended."""
        with self._lock:
            if job.done:
                return None
            if job.state is not JobState.QUEUED:
                return 0
            waiting = [
                j for j in self._jobs if j.device == job.device and j.state is JobState.QUEUED
            ]
            return waiting.index(job) + 1 if job in waiting else None

    def reap(
        self, is_alive: Callable[[str], bool] | None = None, now: float | None = None
    ) -> list[Job]:
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
                    log.info(
                        "reaped job %s (%s) of owner %s: gone, result kept %.0f s",
                        job.id,
                        job.kind,
                        owner_tag(job.owner),
                        self.keep_finished_s,
                    )
            self._gone_since = {
                o: t for o, t in self._gone_since.items() if o in {j.owner for j in self._jobs}
            }
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
            if j.state is not JobState.QUEUED or running.get(j.device, 0) >= self.slots_for(
                j.device
            ):
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
    except Exception:  # when in doubt, keep the job: dropping someone's run is worse
        log.warning(
            "could not tell whether owner %s is still there: keeping their jobs",
            owner_tag(owner),
            exc_info=True,
        )
        return True
