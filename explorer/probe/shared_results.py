"""Results of "What it looks for" that are nobody's own, computed once per server process.

An optimised input or a dataset-examples pass of a process-wide model (random, bundled or
ImageNet weights: ``explorer.probe.sources.SHARED_KINDS``) on an offline dataset or the sample
photos is the same for every browser, so a class opening one lecture link computes it once:
:data:`SHARED` keeps a bounded number of them, keyed by model + weights token, layer, source and
settings. Results on a user's own image set, upload, trained or imported model go to the
session's own store only and are never looked up here. Sessions run in threads: one lock guards
the store, and concurrent first asks for one key wait for a single computation; a pass that
runs as a background job is found in :data:`RUNNING`, so a second session follows that job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any

from explorer.bounded import BoundedStore
from explorer.probe.sources import SHARED_KINDS

# Shared results process-wide: a few layers of a few lecture models. A dataset-examples entry
# keeps its images (1,000 x 3 x 32 x 32 floats, 12 MB; the sample photos at 224 px, 6 MB).
SHARED_ENTRIES = 16


class SharedResults:
    """A bounded, thread-safe, process-wide store whose values are made once per key."""

    def __init__(self, max_entries: int) -> None:
        self._store: BoundedStore[Hashable, Any] = BoundedStore(max_entries, "shared looks-for")
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._store.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._store[key] = value

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value under ``key``, made by ``make()`` first if missing; a second thread asking
        for the same key meanwhile waits and gets the same value (no second computation)."""
        with self._lock:
            if key in self._store:
                return self._store[key]
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                if key in self._store:
                    return self._store[key]
            value = make()
            with self._lock:
                self._store[key] = value
                self._making.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._store.clear()


SHARED = SharedResults(SHARED_ENTRIES)


class RunningJobs:
    """The job computing each key now (anything with a ``done`` flag), so that two sessions
    asking for one shared result follow a single job instead of starting a second one."""

    def __init__(self, max_entries: int = 64) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Hashable, Any] = {}
        self._max = max_entries

    def get(self, key: Hashable) -> Any | None:
        """The job last started for ``key`` (running or ended, until forgotten), or None."""
        with self._lock:
            return self._jobs.get(key)

    def get_or_start(self, key: Hashable, start: Callable[[], Any]) -> Any:
        """The unfinished job for ``key``, else the one ``start()`` returns (its errors
        propagate, nothing is recorded); one start at a time."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.done:
                return job
            job = start()
            self._jobs[key] = job
            ended = [k for k, j in self._jobs.items() if j.done]
            for k in ended[: max(0, len(self._jobs) - self._max)]:
                del self._jobs[k]
            return job

    def forget(self, key: Hashable, job: Any) -> None:
        """Drop ``job`` (its result is stored now) unless a newer one runs for ``key``."""
        with self._lock:
            if self._jobs.get(key) is job:
                del self._jobs[key]

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()


RUNNING = RunningJobs()


def shareable(kind: str, source: str = "") -> bool:
    """Whether a result of a model with weights ``kind`` on ``source`` is nobody's own: a
    process-wide model on an offline dataset (``data:<key>``), the sample photos or no data at all
    (an optimised input). The user's own image set (``own``) never is."""
    return kind in SHARED_KINDS and (
        source == "" or source == "samples" or source.startswith("data:")
    )


def examples_key(token: str, layer: str, source: str, n: int, k: int) -> tuple:
    """The store key of one dataset-examples pass: model + weights, layer, image set, settings."""
    return ("examples", token, layer, source, n, k)


def lookup(session: MutableMapping, key: Hashable, shared: bool) -> Any | None:
    """The result under ``key``: this session's own, else (when ``shared``) the process's."""
    value = session.get(key)
    if value is None and shared:
        value = SHARED.get(key)
    return value


def keep(session: MutableMapping, key: Hashable, value: Any, shared: bool, most: int) -> None:
    """Keep a finished result: for every session when ``shared``, else in ``session`` (an
    ordered mapping, oldest first), which then holds at most ``most`` results."""
    if shared:
        SHARED.put(key, value)
        return
    session[key] = value
    while len(session) > most:
        session.pop(next(iter(session)))


def result_for(
    session: MutableMapping, key: Hashable, shared: bool, make: Callable[[], Any]
) -> Any:
    """The result under ``key``, made at most once per process when ``shared`` (every session
    gets the same object), else once per session (kept in ``session`` only)."""
    if shared:
        return SHARED.get_or_make(key, make)
    if key not in session:
        session[key] = make()
    return session[key]
