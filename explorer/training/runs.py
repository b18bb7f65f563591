"""Runs compared: histories kept per owner, overlay data, one CSV for several runs, and the
generator that trains several runs one after another inside ONE job.

One job per user is the house rule, so a comparison ("plain 20 vs residual 20") is a single job
whose generator trains its runs in turn and yields a :class:`RunMarker` before each run's own
events. Whoever folds the job's log (:meth:`RunBook.fold`) splits it at the markers; a job with
no marker is one run named after the job. Histories live in a :class:`RunStore`, per owner and
bounded, so they stay after their job has been forgotten.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from explorer.training.events import HISTORY_COLUMNS, History

MAX_RUNS_PER_OWNER = 12
MAX_OWNERS = 256
X_AXES = ("step", "seconds")
METRICS = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
}


@dataclass(frozen=True)
class RunMarker:
    """The events after this one belong to the run ``name`` (index ``index`` of ``total``)."""

    name: str
    index: int
    total: int
    note: str = ""


@dataclass(frozen=True)
class RunSpec:
    """One arm of a comparison: a job target and its plain arguments (picklable)."""

    name: str
    target: str  # "package.module:function" returning an event generator
    kwargs: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class ComparisonResult:
    """What a finished comparison returns: each run's final metrics, by run name."""

    metrics: dict[str, dict[str, float]]
    stopped: bool


def run_comparison(
    runs: list[RunSpec], should_stop: Callable[[], bool] | None = None
) -> Generator[Any, None, ComparisonResult]:
    """Train ``runs`` one after another, yielding a marker before each run's events.

    A stop request ends the current run politely (it evaluates) and skips the rest. The
    trained models are not returned (a comparison is about curves), only their metrics.
    """
    from explorer.training.backends.base import JobSpec

    metrics: dict[str, dict[str, float]] = {}
    stop = should_stop or (lambda: False)
    for i, run in enumerate(runs):
        if stop():
            break
        yield RunMarker(run.name, i, len(runs), run.note)
        result = yield from JobSpec(run.target, run.kwargs).open(should_stop=stop)
        got = getattr(result, "metrics", None)
        if isinstance(got, dict):
            metrics[run.name] = {k: v for k, v in got.items() if isinstance(v, int | float)}
        elif hasattr(result, "models"):  # a sequence comparison: each cell's final metric
            metrics[run.name] = {cell: float(m.metric) for cell, m in result.models.items()}
    return ComparisonResult(metrics, stop())


# -- histories --------------------------------------------------------------------------------


@dataclass
class RunRecord:
    """One run's curves, its name, and where it came from."""

    key: str  # "<job id>:<index>" (unique per owner)
    name: str
    history: History
    job_id: int
    created: float = field(default_factory=time.time)
    extra: list[Any] = field(default_factory=list)  # events History does not fold (kept, bounded)

    @property
    def finished(self) -> bool:
        return self.history.finished is not None


class RunBook:
    """One owner's runs, folded incrementally from their jobs' logs; the oldest dropped first."""

    def __init__(self, limit: int = MAX_RUNS_PER_OWNER) -> None:
        self.limit = limit
        self.runs: dict[str, RunRecord] = {}
        self._cursors: dict[int, tuple[int, str | None]] = {}  # job id -> (cursor, current run key)
        self._names: dict[str, str] = {}  # run key -> the name its marker gave
        self.touched = time.time()

    def fold(
        self, job_id: int, title: str, events: Iterable[Any], cursor: int | None = None
    ) -> None:
        """Add a job's new events (``cursor`` = the job's cursor after them)."""
        _, current = self._cursors.get(job_id, (0, None))
        for event in events:
            if isinstance(event, RunMarker):
                current = f"{job_id}:{event.index}"
                self._names[current] = event.name
                self._add(RunRecord(current, event.name, History(), job_id))
                continue
            if current is None:
                current = f"{job_id}:0"
                self._add(RunRecord(current, title, History(), job_id))
            key, name = current, None
            cell = getattr(event, "cell", None)
            if cell is not None:  # a sequence run trains its cells side by side: a run per cell
                key = f"{current}:{cell}"
                marker = self._names.get(current)
                name = f"{marker or title}: {cell.upper()}"
                base = self.runs.get(current)
                if base is not None and not base.history.steps and not base.history.epochs:
                    self.runs.pop(current)  # the cells' own records replace the empty umbrella
            record = self.runs.get(key)
            if record is None:  # a new cell, or dropped by the cap while it ran: start again
                record = RunRecord(key, name or title, History(), job_id)
                self._add(record)
            folded = _as_history_event(event)
            if folded is not None:
                record.history.add(folded)
            if type(event).__name__ == "TransferInfo":
                record.extra.append(event)
        self._cursors[job_id] = (cursor if cursor is not None else 0, current)
        self.touched = time.time()

    def cursor(self, job_id: int) -> int:
        return self._cursors.get(job_id, (0, None))[0]

    def _add(self, record: RunRecord) -> None:
        self.runs.pop(record.key, None)
        self.runs[record.key] = record
        while len(self.runs) > self.limit:
            self.runs.pop(next(iter(self.runs)))

    def remove(self, key: str) -> None:
        self.runs.pop(key, None)

    def records(self) -> list[RunRecord]:
        return list(self.runs.values())


class RunStore:
    """Run books by owner (browser id), thread-safe, bounded in owners and runs per owner."""

    def __init__(self, max_owners: int = MAX_OWNERS, keep_s: float = 3600.0) -> None:
        self.max_owners = max_owners
        self.keep_s = keep_s
        self._books: dict[str, RunBook] = {}
        self._lock = threading.Lock()

    def book(self, owner: str) -> RunBook:
        with self._lock:
            book = self._books.pop(owner, None) or RunBook()
            self._books[owner] = book  # most recently used last
            while len(self._books) > self.max_owners:
                self._books.pop(next(iter(self._books)))
            return book

    def sync(self, owner: str, jobs: Iterable[Any]) -> RunBook:
        """Fold the new events of ``jobs`` (objects with id, title, events_since) into the book."""
        book = self.book(owner)
        for job in jobs:
            events, cursor = job.events_since(book.cursor(job.id))
            if events or job.id not in book._cursors:
                book.fold(job.id, job.title, events, cursor)
        return book

    def expire(self, now: float | None = None) -> int:
        """Forget books untouched for ``keep_s``; returns how many went."""
        now = time.time() if now is None else now
        with self._lock:
            old = [o for o, b in self._books.items() if now - b.touched > self.keep_s]
            for o in old:
                del self._books[o]
        return len(old)


def _as_history_event(event: Any) -> Any:
    """Image runs' events as they are; a sequence step as a Progress point (loss, no accuracy)
    and a held-out evaluation as an epoch end, so every run folds into the same History."""
    from explorer.training.events import EpochEnd, Progress

    name = type(event).__name__
    if name == "SeqStep":
        return Progress(
            event.step,
            1,
            float(event.step),
            event.loss,
            float("nan"),
            0.0,
            0.0,
            0.0,
            event.elapsed,
            {},
        )
    if name == "SeqVal":
        return EpochEnd(
            0, event.step, float("nan"), float("nan"), event.loss, float("nan"), 0.0, event.elapsed
        )
    return event


# -- overlay data and CSV ---------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One curve of one run: x and y values, and the run's name (the legend entry)."""

    name: str
    x: list[float]
    y: list[float]


def overlay_series(
    records: Iterable[RunRecord], metric: str = "train_loss", x: str = "step"
) -> list[Series]:
    """One series per run for ``metric`` (training per logged step, validation per epoch),
    against steps or seconds of training."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}: choose one of {', '.join(METRICS)}.")
    if x not in X_AXES:
        raise ValueError(f"Unknown x axis {x!r}: choose step or seconds.")
    out = []
    for r in records:
        h = r.history
        if metric.startswith("train_"):
            ys = list(getattr(h, metric))
            xs = list(h.steps) if x == "step" else list(h.elapsed_s)
        else:
            ys = [getattr(e, metric) for e in h.epochs]
            xs = [e.step if x == "step" else e.elapsed_s for e in h.epochs]
        out.append(Series(r.name, [float(v) for v in xs], [float(v) for v in ys]))
    return out


def runs_csv(records: Iterable[RunRecord]) -> str:
    """One CSV with a ``run`` column before the history columns, every run's rows in turn."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=("run", *HISTORY_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in records:
        for row in r.history.rows():
            writer.writerow({"run": r.name, **row})
    return buf.getvalue()
