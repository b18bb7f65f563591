"""Runs compared: histories split per run, overlay traces named by run, one CSV with every run,
a comparison trains its runs one after another in one generator."""

from __future__ import annotations

import csv
import io

import pytest

from explorer.training.events import EpochEnd, Finished, Progress, Started, drain
from explorer.training.experiments import EXPERIMENTS, experiment_spec
from explorer.training.runs import (
    RunBook,
    RunMarker,
    RunSpec,
    RunStore,
    overlay_series,
    run_comparison,
    runs_csv,
)
from explorer.training.sequence import SeqStep
from explorer.viz.runs import grad_norms_side_by_side, overlay_figure


def _progress(step: int, loss: float, acc: float, t: float, norms=None) -> Progress:
    return Progress(step, 1, step / 10, loss, acc, 1e-3, 100.0, 0.0, t, norms or {})


def _epoch(step: int, val_loss: float, val_acc: float, t: float) -> EpochEnd:
    return EpochEnd(1, step, 0.0, 0.0, val_loss, val_acc, 1e-3, t)


def fake_run(name: str, steps: int, should_stop=lambda: False):
    """A job target that yields a tiny history (importable, so run_comparison can open it)."""
    for s in range(1, steps + 1):
        yield _progress(s, 1.0 / s, 0.5 + s / 100, s * 0.1, {"conv1": 0.1 * s, "fc": 1.0})
        if should_stop():
            break
    yield _epoch(steps, 0.5, 0.75, steps * 0.1)

    class Result:
        metrics = {"test_accuracy": 0.5 + steps / 100, "name": name}

    return Result()


def _book_with_two_runs() -> RunBook:
    book = RunBook()
    events = [
        RunMarker("plain 20", 0, 2),
        _progress(1, 2.0, 0.1, 0.5),
        _progress(2, 1.9, 0.1, 1.0),
        _epoch(2, 1.95, 0.12, 1.1),
        RunMarker("residual 20", 1, 2),
        _progress(1, 2.0, 0.1, 0.4),
        _progress(2, 0.9, 0.7, 0.8),
        _epoch(2, 0.8, 0.75, 0.9),
    ]
    book.fold(7, "comparison", events, cursor=len(events))
    return book


def test_markers_split_a_job_into_named_runs():
    book = _book_with_two_runs()
    names = [r.name for r in book.records()]
    assert names == ["plain 20", "residual 20"]
    assert book.records()[1].history.train_loss == [2.0, 0.9]
    assert book.cursor(7) == 8


def test_a_job_without_markers_is_one_run_named_after_it():
    book = RunBook()
    book.fold(3, "LeNet-5 on digits", [_progress(1, 1.0, 0.5, 0.1)], cursor=1)
    book.fold(3, "LeNet-5 on digits", [_progress(2, 0.5, 0.6, 0.2)], cursor=2)
    (record,) = book.records()
    assert record.name == "LeNet-5 on digits" and record.history.steps == [1, 2]


def test_overlay_has_one_named_trace_per_run_in_steps_or_seconds():
    book = _book_with_two_runs()
    fig = overlay_figure(overlay_series(book.records(), "train_loss", "step"), "train_loss")
    assert [t.name for t in fig.data] == ["plain 20", "residual 20"]
    assert list(fig.data[1].y) == [2.0, 0.9] and list(fig.data[1].x) == [1.0, 2.0]
    secs = overlay_series(book.records(), "train_loss", "seconds")
    assert secs[0].x == [0.5, 1.0]
    val = overlay_series(book.records(), "val_acc", "step")
    assert [s.y for s in val] == [[0.12], [0.75]]
    with pytest.raises(ValueError, match="Unknown metric"):
        overlay_series(book.records(), "bogus")


def test_csv_holds_both_runs_with_their_names():
    rows = list(csv.DictReader(io.StringIO(runs_csv(_book_with_two_runs().records()))))
    assert [r["run"] for r in rows] == ["plain 20", "plain 20", "residual 20", "residual 20"]
    assert rows[3]["train_loss"] == "0.9" and rows[3]["val_acc"] == "0.75"
    assert rows[0]["val_loss"] == ""


def test_run_comparison_trains_runs_in_turn_and_returns_their_metrics():
    runs = [
        RunSpec("a", "tests.explorer.training.test_runs:fake_run", {"name": "a", "steps": 2}),
        RunSpec("b", "tests.explorer.training.test_runs:fake_run", {"name": "b", "steps": 3}),
    ]
    events, result = drain(run_comparison(runs))
    markers = [e for e in events if isinstance(e, RunMarker)]
    assert [(m.name, m.index, m.total) for m in markers] == [("a", 0, 2), ("b", 1, 2)]
    assert result.metrics == {"a": {"test_accuracy": 0.52}, "b": {"test_accuracy": 0.53}}
    book = RunBook()
    book.fold(1, "cmp", events, cursor=len(events))
    assert [len(r.history.steps) for r in book.records()] == [2, 3]
    fig = grad_norms_side_by_side({r.name: r.history for r in book.records()})
    assert [t.name for t in fig.data] == ["a", "b"]


def test_stop_ends_the_current_run_and_skips_the_rest():
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    runs = [
        RunSpec(x, "tests.explorer.training.test_runs:fake_run", {"name": x, "steps": 50})
        for x in "abc"
    ]
    events, result = drain(run_comparison(runs, should_stop=stop))
    assert result.stopped and list(result.metrics) == ["a"]
    assert sum(isinstance(e, RunMarker) for e in events) == 1


def test_sequence_steps_fold_into_one_run_per_cell():
    book = RunBook()
    events = [RunMarker("cells", 0, 1)] + [
        SeqStep(s, c, 0.5 / s, 0.5 / s, 1.0, s * 0.01) for s in (1, 2) for c in ("rnn", "lstm")
    ]
    book.fold(2, "job", events, cursor=len(events))
    assert [r.name for r in book.records()] == ["cells: RNN", "cells: LSTM"]
    assert book.records()[1].history.train_loss == [0.5, 0.25]


def test_store_is_per_owner_and_bounded():
    store = RunStore(max_owners=2, keep_s=10)

    class Job:
        def __init__(self, jid, events):
            self.id, self.title, self._events = jid, f"job {jid}", events

        def events_since(self, cursor):
            return self._events[cursor:], len(self._events)

    store.sync("alice", [Job(1, [_progress(1, 1.0, 0.5, 0.1)])])
    store.sync("bob", [Job(2, [_progress(1, 2.0, 0.5, 0.1)])])
    assert [r.name for r in store.book("alice").records()] == ["job 1"]
    assert [r.name for r in store.book("bob").records()] == ["job 2"]
    store.book("carol")
    assert "alice" not in store._books  # the least recently used owner went first
    assert store.expire(now=store.book("bob").touched + 11) >= 1


def test_every_experiment_builds_picklable_runs():
    import pickle

    for key in EXPERIMENTS:
        target, kwargs = experiment_spec(key)
        assert target == "explorer.training.runs:run_comparison"
        assert len(pickle.dumps(kwargs)) < 5_000_000
        assert kwargs["runs"]


def test_history_events_pass_through_unchanged():
    book = RunBook()
    started = Started(10, 5, 2, "cpu", False, 100, ("a", "b"), "multiclass", 10, 5, {})
    book.fold(4, "t", [started, _progress(1, 1.0, 0.5, 0.1)], cursor=2)
    assert book.records()[0].history.started is started
    assert not book.records()[0].finished
    assert Finished  # imported for the type's presence in the history API
