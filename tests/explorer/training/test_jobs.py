"""JobManager semantics: slots, FIFO queue, pause/resume/stop/cancel, ownership, reaping."""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from dataclasses import dataclass

import pytest

from explorer.training.job_manager import JobBusyError, JobManager, JobState


@dataclass
class Tick:
    i: int
    transient: bool = False


def gated(gate: threading.Event, n: int = 1000):
    """A factory whose generator yields one tick per opening of ``gate`` (tests drive it)."""

    def factory(control):
        def gen():
            for i in range(n):
                if control.stop_requested():
                    return f"stopped at {i}"
                while not gate.wait(0.02):  # idle ticks keep the job responsive to cancel
                    yield Tick(-1, transient=True)
                yield Tick(i)
            return "done"

        return gen()

    return factory


def counting(n: int, started: list | None = None):
    def factory(control):
        def gen():
            if started is not None:
                started.append(threading.current_thread().name)
            for i in range(n):
                if control.stop_requested():
                    return "stopped"
                yield Tick(i, transient=(i % 2 == 1))
            return n

        return gen()

    return factory


@pytest.fixture
def manager():
    m = JobManager(slots={"cpu": 1}, default_slots=1)
    yield m
    m.shutdown()


def test_job_runs_to_completion_and_keeps_only_non_transient_events(manager):
    job = manager.submit("alice", "cpu", counting(10), title="t")
    assert job.wait(10)
    assert job.state is JobState.FINISHED
    assert job.result == 10
    assert [e.i for e in job.log] == [0, 2, 4, 6, 8]
    assert job.latest(Tick).i == 9  # transient events still update "latest"
    events, cursor = job.events_since(3)
    assert [e.i for e in events] == [6, 8] and cursor == 5


def test_two_jobs_respect_a_single_slot_and_queue_fifo():
    m = JobManager(slots={"cpu": 1})
    gate_a, gate_b, gate_c = threading.Event(), threading.Event(), threading.Event()
    try:
        a = m.submit("a", "cpu", gated(gate_a, 3))
        b = m.submit("b", "cpu", gated(gate_b, 3))
        c = m.submit("c", "cpu", gated(gate_c, 3))
        assert a.state is JobState.RUNNING
        assert b.state is JobState.QUEUED and c.state is JobState.QUEUED
        assert [m.queue_position(j) for j in (a, b, c)] == [0, 1, 2]
        gate_a.set()
        assert a.wait(10) and a.state is JobState.FINISHED
        assert (
            b.state is JobState.RUNNING and m.queue_position(b) == 0
        )  # started before a's end was signalled
        assert c.state is JobState.QUEUED and m.queue_position(c) == 1
        gate_b.set()
        gate_c.set()
        assert b.wait(10) and c.wait(10)
        assert (b.result, c.result) == ("done", "done")
    finally:
        m.shutdown()


def test_two_slots_run_two_jobs_at_once_and_other_devices_are_independent():
    m = JobManager(slots={"cuda": 2, "cpu": 1})
    gate = threading.Event()
    try:
        jobs = [m.submit(o, "cuda", gated(gate, 2)) for o in ("a", "b", "c")]
        other = m.submit("d", "cpu", gated(gate, 2))
        assert [j.state for j in jobs] == [JobState.RUNNING, JobState.RUNNING, JobState.QUEUED]
        assert other.state is JobState.RUNNING
        assert jobs[0].device == "cuda:0"
        gate.set()
        for j in (*jobs, other):
            assert j.wait(10) and j.state is JobState.FINISHED
    finally:
        m.shutdown()


def test_pause_resume_and_stop_between_events(manager):
    gate = threading.Event()
    gate.set()
    job = manager.submit("alice", "cpu", gated(gate, 10_000_000))
    job.pause()
    assert job.state is JobState.PAUSED
    n = len(job.log)
    threading.Event().wait(0.2)
    m = len(job.log)
    threading.Event().wait(0.2)
    assert len(job.log) == m and m - n <= 1  # at most the item in flight lands after pause
    job.resume()
    assert job.state is JobState.RUNNING
    deadline = threading.Event()
    while len(job.log) <= m and not deadline.wait(0.01):
        pass
    job.stop()
    assert job.wait(10)
    assert job.state is JobState.FINISHED
    assert job.result.startswith("stopped at")


def test_cancel_closes_the_generator(manager):
    closed = threading.Event()
    gate = threading.Event()
    gate.set()

    def factory(control):
        def gen():
            try:
                while True:
                    yield Tick(0, transient=True)
            finally:
                closed.set()

        return gen()

    job = manager.submit("alice", "cpu", factory)
    job.cancel()
    assert job.wait(10)
    assert job.state is JobState.CANCELLED and closed.is_set()


def test_failure_keeps_the_message(manager):
    def factory(control):
        def gen():
            yield Tick(0)
            raise ValueError("loss is NaN: lower the learning rate")

        return gen()

    job = manager.submit("alice", "cpu", factory)
    assert job.wait(10)
    assert job.state is JobState.FAILED
    assert job.error == "loss is NaN: lower the learning rate"
    assert [e.i for e in job.log] == [0]


def test_a_failed_job_keeps_its_message_and_log_but_not_its_frames(manager, caplog):
    """The traceback's frames would keep the generator's model and data alive (GPU memory)."""
    refs: list[weakref.ref] = []

    class Big:  # stands for a model or a batch on the GPU
        def __init__(self) -> None:
            self.data = bytearray(10_000_000)

    def factory(control):
        def gen():
            big = Big()
            refs.append(weakref.ref(big))
            yield Tick(0)
            raise ValueError(f"loss is NaN after {len(big.data)} bytes")

        return gen()

    with caplog.at_level(logging.WARNING, logger="explorer.training.job_manager"):
        job = manager.submit("alice", "cpu", factory)
        assert job.wait(10)
    assert job.state is JobState.FAILED and job.error == "loss is NaN after 10000000 bytes"
    assert (
        "Traceback" in caplog.text and "ValueError: loss is NaN" in caplog.text
    )  # the text is logged
    gc.collect()
    assert refs and refs[0]() is None  # nothing holds the failed generator's locals


def test_one_job_per_owner_and_owners_see_only_their_jobs(manager):
    gate = threading.Event()
    mine = manager.submit("alice", "cpu", gated(gate, 2))
    with pytest.raises(JobBusyError, match="already have a job"):
        manager.submit("alice", "cpu", gated(gate, 2))
    theirs = manager.submit("bob", "cpu", gated(gate, 2))
    assert manager.jobs_of("alice") == [mine]
    assert manager.jobs_of("bob") == [theirs]
    gate.set()
    assert mine.wait(10)
    again = manager.submit("alice", "cpu", counting(2))
    assert manager.jobs_of("alice") == [again]  # the finished one is forgotten


def test_a_gone_owner_keeps_a_running_job_and_loses_a_queued_one():
    present = {"runner", "waiter", "other"}
    m = JobManager(slots={"cpu": 1}, is_alive=lambda owner: owner in present, keep_finished_s=60)
    gate = threading.Event()
    try:
        running = m.submit("runner", "cpu", gated(gate, 3))
        queued = m.submit("waiter", "cpu", gated(gate, 3))
        last = m.submit("other", "cpu", gated(gate, 3))
        present -= {"runner", "waiter"}  # both tabs closed
        assert (
            m.reap(now=1000.0) == []
        )  # nothing finished yet: nothing forgotten, nothing cancelled
        assert running.state is JobState.RUNNING
        gate.set()
        assert running.wait(10) and running.state is JobState.FINISHED and running.result == "done"
        # the queued job of the gone owner was dropped when its turn came; the next one ran
        assert (
            queued.state is JobState.CANCELLED and queued.end_reason == "owner gone before its turn"
        )
        assert "its owner had left" in queued.note
        assert last.wait(10) and last.state is JobState.FINISHED
        # the finished run stays retrievable for keep_finished_s after its owner was seen gone
        assert m.jobs_of("runner") == [running]
        t0 = max(running.ended, 1000.0)
        assert m.reap(now=t0 + 30) == [] and m.jobs_of("runner") == [running]
        present.add("runner")  # a reload within the window finds it (and keeps it)
        assert running not in m.reap(now=t0 + 90) and m.jobs_of("runner") == [running]
        present.discard("runner")
        m.reap(now=t0 + 100)  # seen gone again from now on
        forgotten = m.reap(now=t0 + 100 + 61)
        assert running in forgotten and m.jobs_of("runner") == []
    finally:
        m.shutdown()


def test_every_end_and_reap_is_logged(caplog):
    present = {"someone"}
    m = JobManager(slots={"cpu": 1}, is_alive=lambda owner: owner in present, keep_finished_s=0)
    with caplog.at_level(logging.INFO, logger="explorer.training.job_manager"):
        job = m.submit("someone", "cpu", counting(3), title="t", kind="training")
        assert job.wait(10)
        present.clear()
        m.reap()
    from explorer.training.job_manager import owner_tag

    text = caplog.text
    assert (
        f"job {job.id} (training, 't') of owner {owner_tag('someone')} ended finished (finished)"
        in text
    )
    assert f"reaped job {job.id} (training) of owner {owner_tag('someone')}" in text
    assert "someone" not in text  # the owner id itself (it grants access) never reaches the log


def test_cancel_of_a_queued_job_is_immediate(manager):
    gate = threading.Event()
    first = manager.submit("a", "cpu", gated(gate, 2))
    second = manager.submit("b", "cpu", gated(gate, 2))
    second.cancel()
    assert second.state is JobState.CANCELLED and manager.queue_position(second) is None
    gate.set()
    assert first.wait(10)
