"""fit() inside a background job: pause holds the step, resume continues, stop evaluates and ends."""

from __future__ import annotations

import threading
import time

from explorer.training.events import Finished, Tick
from explorer.training.fit import fit
from explorer.training.job_manager import JobManager, JobState
from explorer.training.settings import TrainSettings
from tests.explorer.training.conftest import bars_splits, tiny_cnn


def wait_for(cond, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_pause_resume_stop_of_a_training_job():
    data = bars_splits(n=3000)
    settings = TrainSettings(
        model="lenet5",
        dataset="shapes",
        lr=0.01,
        batch_size=8,
        epochs=50,
        device="cpu",
        train_samples=1800,
        val_samples=600,
    )
    manager = JobManager(slots={"cpu": 1})
    try:
        job = manager.submit(
            "me",
            "cpu",
            lambda c: fit(tiny_cnn(), data, settings, should_stop=c.stop_requested),
            kind="training",
        )
        assert wait_for(lambda: (job.latest(Tick) or Tick(0, 0)).step >= 3)
        job.pause()
        assert job.state is JobState.PAUSED
        time.sleep(0.1)
        held = job.latest(Tick).step
        time.sleep(0.3)
        assert job.latest(Tick).step == held  # no step while paused
        job.resume()
        assert wait_for(lambda: job.latest(Tick).step > held)
        job.stop()
        assert job.wait(30)
        assert job.state is JobState.FINISHED
        fin = job.latest(Finished)
        assert fin.stopped_early and fin.step < settings.epochs * 225
        assert job.result.stopped_early and "test_accuracy" in job.result.metrics
    finally:
        manager.shutdown()


def test_two_training_jobs_share_one_slot_in_order():
    data = bars_splits(n=200)
    settings = TrainSettings(
        model="lenet5",
        dataset="shapes",
        lr=0.01,
        batch_size=32,
        epochs=1,
        device="cpu",
        train_samples=120,
        val_samples=40,
    )
    gate = threading.Event()

    def held_fit(control):
        assert gate.wait(60)  # the first run holds its slot until the test has looked at the queue
        return (yield from fit(tiny_cnn(), data, settings, should_stop=control.stop_requested))

    manager = JobManager(slots={"cpu": 1})
    try:
        first = manager.submit("a", "cpu", held_fit)
        second = manager.submit(
            "b", "cpu", lambda c: fit(tiny_cnn(), data, settings, should_stop=c.stop_requested)
        )
        assert first.state is JobState.RUNNING and second.state is JobState.QUEUED
        assert [manager.queue_position(first), manager.queue_position(second)] == [0, 1]
        gate.set()
        assert first.wait(60) and second.wait(60)
        assert first.state is second.state is JobState.FINISHED
        assert second.started >= first.ended  # never both at once
    finally:
        gate.set()
        manager.shutdown()
