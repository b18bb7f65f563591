"""The Ray backend: each job runs in a Ray actor on a cluster (``EXPLORER_RAY_ADDRESS``).

The web process keeps the queue, the slots and the job objects (so the page shows the queue
position the same way as with local workers); each started job becomes one actor that asks for
one CPU, or one CPU and one GPU for a CUDA job, so Ray places it on a node that has them. The
actor runs the same loop as a local worker (``base.run_spec``) in a thread and buffers its
messages in a bounded queue; the web process polls it, sending the pause / stop / cancel flags
with each poll. An actor that dies (node lost, process killed, out of memory) surfaces as
``RayActorError``: the job ends FAILED with a message; nothing waits forever.

The web process connects once, in a thread of its own with a time limit
(``EXPLORER_RAY_CONNECT_TIMEOUT_S``, default 30 s), never under a lock a page waits for: until
it is connected, or after it failed, :meth:`RayBackend.unavailable` says why at once (pages show
it; the manager refuses new jobs with it). A failure is kept: one new attempt after
``RETRY_AFTER_S`` (10 minutes), never one per page visit.

Every node needs this package installed in the same environment as the app
(``pip install -e '.[ray]'``); see the README's three-command set-up.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any

from explorer.device import configure_threads
from explorer.training.backends.base import JobHandle, JobSpec, WorkerLost, run_spec

log = logging.getLogger("explorer.training.job_manager")

CONNECT_TIMEOUT_S = (
    30.0  # default of EXPLORER_RAY_CONNECT_TIMEOUT_S: an address that does not answer
)
RETRY_AFTER_S = 600.0  # a failed connection is tried again after this, at most once at a time
POLL_WAIT_S = 0.2  # how long a poll waits in the actor for the first message
ANSWER_TIMEOUT_S = 120.0  # an actor that answers no poll for this long is treated as lost
CANCEL_GRACE_S = 5.0
BUFFER = 256  # messages the actor holds before the job waits for the web process


class _ListFlags:
    def __init__(self, values: list[bool]) -> None:
        self._v = values

    def paused(self) -> bool:
        return self._v[0]

    def stop(self) -> bool:
        return self._v[1]

    def cancelled(self) -> bool:
        return self._v[2]


class JobActor:
    """Runs one job in a thread; ``poll`` hands back its messages and takes the flags."""

    def __init__(self) -> None:
        self._flags = [False, False, False]
        self._box: queue.Queue = queue.Queue(maxsize=BUFFER)
        self._thread: threading.Thread | None = None

    def start(self, job_id: int, spec: JobSpec) -> int:
        configure_threads("worker", default=1)  # the actor's own process; it reserved one CPU
        self._thread = threading.Thread(
            target=run_spec,
            args=(job_id, spec, _ListFlags(self._flags), self._box.put),
            daemon=True,
        )
        self._thread.start()
        return os.getpid()

    def poll(
        self, pause: bool, stop: bool, cancel: bool, wait_s: float = POLL_WAIT_S
    ) -> list[tuple]:
        self._flags[0], self._flags[1], self._flags[2] = pause, stop, cancel
        out: list[tuple] = []
        try:
            out.append(self._box.get(timeout=wait_s))
            while len(out) < 64:
                out.append(self._box.get_nowait())
        except queue.Empty:
            pass
        return out


def connect(address: str | None) -> None:
    """``ray.init`` for the web process (a module-level name, so that tests can replace it)."""
    import ray

    ray.init(
        address=address,
        ignore_reinit_error=True,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )


def _connect_timeout() -> float:
    try:
        return max(1.0, float(os.environ.get("EXPLORER_RAY_CONNECT_TIMEOUT_S", CONNECT_TIMEOUT_S)))
    except ValueError:
        return CONNECT_TIMEOUT_S


class RayBackend:
    """Run job specs as Ray actors; connects to ``address`` (in the background, with a time limit)
    unless Ray is already initialised."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        cancel_grace_s: float = CANCEL_GRACE_S,
        connect_timeout_s: float | None = None,
        retry_after_s: float = RETRY_AFTER_S,
    ) -> None:
        import ray

        self._ray = ray
        self._address = address
        self._owns_ray = False
        self._cancel_grace_s = cancel_grace_s
        self._connect_timeout_s = (
            _connect_timeout() if connect_timeout_s is None else connect_timeout_s
        )
        self._retry_after_s = retry_after_s
        self._actors: set[Any] = set()
        self._lock = threading.Lock()  # the actors
        self._state = threading.Lock()  # the connection's state: held only for a few assignments
        self._ready = threading.Event()
        self._failure: str | None = None
        self._since = time.monotonic()  # when the current attempt started or failed
        self._attempt: threading.Thread | None = None
        self._actor_cls: Any = None
        if ray.is_initialized():
            self._connected(owns=False)
        else:
            self._start_attempt()

    # -- the connection ----------------------------------------------------------------------
    def _where(self) -> str:
        return f"the Ray cluster at {self._address}" if self._address else "a local Ray cluster"

    def _connected(self, owns: bool) -> None:
        self._actor_cls = self._ray.remote(max_restarts=0, max_concurrency=2)(JobActor)
        with self._state:
            self._owns_ray = owns
            self._failure = None
        self._ready.set()

    def _start_attempt(self) -> None:
        # caller holds self._state or is __init__
        self._since = time.monotonic()
        self._failure = None
        self._attempt = threading.Thread(target=self._try_connect, name="ray-connect", daemon=True)
        self._attempt.start()

    def _try_connect(self) -> None:
        try:
            connect(self._address)
        except Exception as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            with self._state:
                self._failure = (
                    f"{self._where()} could not be reached ({type(err).__name__}: {first})"
                )
                self._since = time.monotonic()
            log.warning(
                "Ray: %s; training is unavailable (next attempt in %.0f s)",
                self._failure,
                self._retry_after_s,
            )
            return
        self._connected(owns=True)
        log.info("Ray: connected to %s", self._where())

    def unavailable(self) -> str | None:
        """None when jobs can run; else why not, in words (connecting, no answer, refused). Answers at
        once; a failure is kept and retried once after ``retry_after_s``, not on every call."""
        if self._ready.is_set():
            return None
        now = time.monotonic()
        with self._state:
            connecting = self._attempt is not None and self._attempt.is_alive()
            if connecting and self._failure is None and now - self._since > self._connect_timeout_s:
                self._failure = (
                    f"{self._where()} did not answer within {self._connect_timeout_s:g} s"
                )
                self._since = now
                log.warning("Ray: %s; training is unavailable", self._failure)
            if (
                self._failure is not None
                and not connecting
                and now - self._since >= self._retry_after_s
            ):
                self._start_attempt()
            if self._failure is None:
                return f"still connecting to {self._where()} (for {now - self._since:.0f} s)"
            return self._failure

    def _wait_connected(self) -> None:
        """In a job's driver thread (never a page's): wait for the connection, within its time limit."""
        if not self._ready.wait(self._connect_timeout_s):
            raise RuntimeError(f"Training is unavailable: {self.unavailable()}.")

    # -- jobs --------------------------------------------------------------------------------
    def run(self, job: JobHandle) -> tuple[str, Any, str | None]:
        """Run ``job.spec`` in a fresh actor; returns (state, result, error) when it has ended."""
        import pickle

        self._wait_connected()
        ray = self._ray
        from ray.exceptions import GetTimeoutError, RayActorError

        wants_gpu = job.device.startswith("cuda")
        actor = self._actor_cls.options(num_cpus=1, num_gpus=1 if wants_gpu else 0).remote()
        with self._lock:
            self._actors.add(actor)
        try:
            started = actor.start.remote(job.id, job.spec)
            job.note = "Waiting for a worker on the Ray cluster."
            while True:  # placement: Ray starts the actor when a node has the resources
                job.check_limits()
                if job.wants_cancel():
                    return "cancelled", None, None
                try:
                    ray.get(started, timeout=1.0)
                    break
                except GetTimeoutError:
                    continue
                except RayActorError as err:
                    raise WorkerLost(_lost(err)) from err
            job.note = None
            cancel_since: float | None = None
            while True:
                job.check_limits()
                if job.wants_cancel():
                    cancel_since = cancel_since or time.monotonic()
                    if time.monotonic() - cancel_since > self._cancel_grace_s:
                        return "cancelled", None, None
                ref = actor.poll.remote(job.wants_pause(), job.wants_stop(), job.wants_cancel())
                try:
                    messages = ray.get(ref, timeout=ANSWER_TIMEOUT_S)
                except RayActorError as err:
                    raise WorkerLost(_lost(err)) from err
                except GetTimeoutError as err:
                    raise WorkerLost(
                        f"The Ray worker running this job stopped answering for {ANSWER_TIMEOUT_S:.0f} s."
                    ) from err
                for msg in messages:
                    if msg[0] == "event":
                        job.record(pickle.loads(msg[2]))  # our own actor's bytes, never user data
                    else:
                        _, _, state, payload, error = msg
                        return (
                            state,
                            (pickle.loads(payload) if payload is not None else None),
                            error,
                        )
        finally:
            with self._lock:
                self._actors.discard(actor)
            ray.kill(actor, no_restart=True)

    def close(self) -> None:
        with self._lock:
            actors = list(self._actors)
            self._actors.clear()
        for actor in actors:
            self._ray.kill(actor, no_restart=True)
        if self._owns_ray and self._ready.is_set():
            self._ray.shutdown()


def _lost(err: BaseException) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (
        "The Ray worker running this job stopped unexpectedly "
        f"({type(err).__name__}: {first[:160]}). Start the run again, perhaps with a smaller batch or model."
    )
