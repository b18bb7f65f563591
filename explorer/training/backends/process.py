"""The embedded backend: jobs run in local worker processes, one persistent worker per slot.

Workers are started with the ``spawn`` context (no fork of a threaded web server) and live on
between jobs, so torch and the models are imported once per worker, not once per job. The web
process talks to a worker through two one-way pipes and three shared flag bytes:

    web process --(job_id, JobSpec)------------> worker        (one job at a time)
    web process <--("event" / "end" messages)--- worker        (a pipe: bounded by the OS buffer)
    flags[0] pause, flags[1] stop, flags[2] cancel              (read by the worker between events)

A pipe blocks the worker when the web process does not read, so the channel is bounded; the
worker coalesces transient events (see ``base.run_spec``), so it rarely has to wait. When a worker
dies (killed, out of memory), the pipe reports end-of-file at once: the job ends FAILED with a
message and the slot gets a fresh worker for the next job.

Each worker chooses its CPU threads once, as it starts (``explorer.device.configure_threads``:
its share of the cores, one for a GPU job, or ``EXPLORER_THREADS``), before any computation.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing as mp
import pickle
import queue
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

from explorer.device import configure_threads
from explorer.training.backends.base import JobHandle, JobSpec, WorkerLost, run_spec

log = logging.getLogger("explorer.training.job_manager")

PRELOAD = ("torch", "explorer.training.fit", "explorer.training.sequence")
CANCEL_GRACE_S = 5.0  # a cancel not honoured by then (a long step) kills and replaces the worker


class _SharedFlags:
    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def paused(self) -> bool:
        return self._raw[0] == 1

    def stop(self) -> bool:
        return self._raw[1] == 1

    def cancelled(self) -> bool:
        return self._raw[2] == 1


def worker_main(
    inbox: Any,
    outbox: Any,
    raw_flags: Any,
    preload: tuple[str, ...],
    device: str = "cpu",
    cpu_jobs: int = 1,
) -> None:
    """A worker process: choose its CPU threads and import the heavy modules once, then run jobs
    until told to quit."""
    configure_threads("worker", cpu_jobs=cpu_jobs, device=device)  # once, before any computation
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # a failed preload shows up again, with its message, in the job
            log.warning("preloading %s failed", name, exc_info=True)
    flags = _SharedFlags(raw_flags)
    sender = _Sender(outbox)
    while True:
        try:
            msg = inbox.recv()
        except (EOFError, OSError):
            return  # the web process went away
        if msg is None:
            return
        job_id, spec = msg
        try:
            run_spec(job_id, spec, flags, sender.send)
        except (BrokenPipeError, OSError):
            return  # the web process went away: there is no one left to report to


class _Sender:
    """Writes a worker's messages to its pipe from a thread of its own.

    A snapshot is bigger than a pipe's buffer, so a direct write waits until the web process has
    read it all; when that process is busy drawing pages, training would wait with it. Through a
    bounded queue and this thread, a training step never waits for the reader (unless 64
    messages are already waiting, which bounds the worker's memory).
    """

    def __init__(self, conn: Any, maxsize: int = 64) -> None:
        self._conn = conn
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._broken = False
        threading.Thread(target=self._loop, name="job-sender", daemon=True).start()

    def send(self, msg: tuple) -> None:
        if self._broken:
            raise BrokenPipeError("the web process went away")
        self._queue.put(msg)

    def _loop(self) -> None:
        while True:
            msg = self._queue.get()
            try:
                self._conn.send(msg)
            except OSError:  # the web process went away: the next send() raises BrokenPipeError
                self._broken = True
                return


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Start a spawned child without re-importing ``__main__`` in it.

    Spawn re-runs the parent's main module in the child; during a Streamlit script run that
    module *is* the page script (Streamlit installs it as ``__main__``), so the worker would run
    the app. The worker needs nothing from ``__main__``: hide it while the child starts.
    """
    with _MAIN_LOCK:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


class _Worker:
    """One worker process and its channels (web-process side)."""

    def __init__(self, ctx: Any, device: str, preload: tuple[str, ...], cpu_jobs: int = 1) -> None:
        self.device = device
        self.flags = ctx.RawArray("b", 3)
        inbox_r, self.inbox = ctx.Pipe(duplex=False)
        self.outbox, outbox_w = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=worker_main,
            args=(inbox_r, outbox_w, self.flags, preload, device, cpu_jobs),
            name=f"explorer-job-worker-{device}",
            daemon=True,
        )
        with _bare_main():
            self.proc.start()
        # Close our copies of the child's ends: a dead child then reads as end-of-file at once.
        inbox_r.close()
        outbox_w.close()

    def set_flags(self, pause: bool, stop: bool, cancel: bool) -> None:
        self.flags[0], self.flags[1], self.flags[2] = int(pause), int(stop), int(cancel)

    def alive(self) -> bool:
        return self.proc.is_alive()

    def exit_description(self) -> str:
        self.proc.join(1.0)
        code = self.proc.exitcode
        if code is not None and code < 0:
            return f"killed by signal {-code}" + (
                ": often the machine ran out of memory" if code == -9 else ""
            )
        return f"exit code {code}"

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5.0)
        for conn in (self.inbox, self.outbox):
            conn.close()

    def quit(self) -> None:
        with contextlib.suppress(
            OSError
        ):  # a worker that already died is killed below all the same
            self.inbox.send(None)
        self.proc.join(2.0)
        self.kill()


class ProcessBackend:
    """Run job specs in persistent local worker processes (spawn), one per running job.

    ``cpu_jobs`` (CPU jobs at once) sizes each worker's share of the cores
    (``explorer.device.choose_threads``).
    """

    name = "process"

    def __init__(
        self,
        preload: tuple[str, ...] = PRELOAD,
        cancel_grace_s: float = CANCEL_GRACE_S,
        cpu_jobs: int = 1,
    ) -> None:
        self._ctx = mp.get_context("spawn")
        self._preload = tuple(preload)
        self._cpu_jobs = cpu_jobs
        self._cancel_grace_s = cancel_grace_s
        self._idle: dict[str, list[_Worker]] = {}
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def warm(self, device: str) -> None:
        """Start an idle worker for ``device`` now, so the first job does not wait for imports."""
        with self._lock:
            if not self._closed and not self._idle.get(device):
                self._idle.setdefault(device, []).append(self._new_worker(device))

    def _new_worker(self, device: str) -> _Worker:
        return _Worker(self._ctx, device, self._preload, self._cpu_jobs)

    def _acquire(self, device: str) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("The job backend has been shut down.")
            pool = self._idle.setdefault(device, [])
            while pool:
                worker = pool.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.kill()
            worker = self._new_worker(device)
            self._busy.add(worker)
            return worker

    def _release(self, worker: _Worker, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            if healthy and not self._closed and worker.alive():
                self._idle.setdefault(worker.device, []).append(worker)
                return
        worker.kill()

    def run(self, job: JobHandle) -> tuple[str, Any, str | None]:
        """Run ``job.spec`` in a worker; returns (state, result, error) when it has ended."""
        spec: JobSpec = job.spec
        worker = self._acquire(job.device)
        healthy = False
        try:
            worker.set_flags(False, False, False)
            worker.inbox.send((job.id, spec))
            cancel_since: float | None = None
            while True:
                job.check_limits()
                worker.set_flags(job.wants_pause(), job.wants_stop(), job.wants_cancel())
                if job.wants_cancel():
                    cancel_since = cancel_since or time.monotonic()
                    if time.monotonic() - cancel_since > self._cancel_grace_s:
                        log.warning(
                            "job %s did not honour cancel within %.0f s: worker killed",
                            job.id,
                            self._cancel_grace_s,
                        )
                        return "cancelled", None, None
                try:
                    ready = worker.outbox.poll(0.1)
                    msg = worker.outbox.recv() if ready else None
                except (EOFError, OSError):
                    msg, ready = None, False
                    if worker.alive():
                        worker.proc.join(1.0)
                if msg is None:
                    if not worker.alive():
                        raise WorkerLost(
                            f"The worker process running this job stopped unexpectedly "
                            f"({worker.exit_description()}). Start the run again, perhaps with a "
                            "smaller batch or model."
                        )
                    continue
                if msg[1] != job.id:
                    continue  # a late message of an earlier job on this worker
                if msg[0] == "event":
                    job.record(pickle.loads(msg[2]))  # our own worker's bytes, never user data
                    continue
                _, _, state, payload, error = msg
                healthy = True
                return state, (pickle.loads(payload) if payload is not None else None), error
        finally:
            self._release(worker, healthy)

    def close(self) -> None:
        """Stop every worker (process exit, tests)."""
        with self._lock:
            self._closed = True
            workers = [w for pool in self._idle.values() for w in pool] + list(self._busy)
            self._idle.clear()
        for worker in workers:
            worker.quit()
