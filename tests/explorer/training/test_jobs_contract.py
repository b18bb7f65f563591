"""One contract, every backend: the same job tests against threads, local worker processes and a
real local Ray cluster (started here on 127.0.0.1, one per module).

Jobs are :class:`JobSpec` of the torch-free generators in ``explorer.training.backends.demo``,
controlled across processes through gate files.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from explorer.training.backends.demo import DemoIdle, DemoInfo, DemoTick
from explorer.training.job_manager import JobBusyError, JobManager, JobSpec, JobState

BACKENDS = ["thread", "process", pytest.param("ray", marks=pytest.mark.slow)]


def spec(**kwargs) -> JobSpec:
    return JobSpec("explorer.training.backends.demo:ticks", {"n": 5, **kwargs})


def wait_for(cond, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def ticks_of(job) -> list[int]:
    return [e.step for e in job.log if isinstance(e, DemoTick)]


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the optional extra 'ray' is not installed")
    ray.init(
        address="local",
        num_cpus=2,
        num_gpus=0,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        configure_logging=False,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def backends(request):
    made: dict[str, object] = {}
    yield made
    for backend in made.values():
        backend.close()


@pytest.fixture(params=BACKENDS)
def make_manager(request, backends, tmp_path):
    name = request.param
    if name not in backends:
        if name == "process":
            from explorer.training.backends.process import ProcessBackend

            backends[name] = ProcessBackend(preload=())
        elif name == "ray":
            request.getfixturevalue("ray_cluster")
            from explorer.training.backends.ray_cluster import RayBackend

            backends[name] = RayBackend()
        else:
            from explorer.training.backends.thread import ThreadBackend

            backends[name] = ThreadBackend()
    managers: list[JobManager] = []

    def make(**kwargs) -> JobManager:
        m = JobManager(slots={"cpu": 1}, backend=backends[name], **kwargs)
        managers.append(m)
        return m

    make.backend = name
    yield make
    for m in managers:
        m.shutdown(timeout=20)


def test_submit_runs_to_the_end_with_events_in_order(make_manager):
    m = make_manager()
    job = m.submit("alice", "cpu", spec(n=6), title="demo")
    assert job.wait(60), job.state
    assert job.state is JobState.FINISHED and job.result == "done" and job.error is None
    assert ticks_of(job) == [0, 1, 2, 3, 4, 5]
    assert isinstance(job.log[0], DemoInfo)
    events, cursor = job.events_since(3)
    assert [e.step for e in events] == [2, 3, 4, 5] and cursor == 7
    if make_manager.backend != "thread":
        assert job.log[0].pid != os.getpid()  # it ran outside this process


def test_queue_order_and_positions(make_manager, tmp_path):
    m = make_manager()
    gates = [tmp_path / f"gate{i}" for i in range(3)]
    jobs = [m.submit(o, "cpu", spec(n=2, gate=str(g))) for o, g in zip("abc", gates, strict=True)]
    assert [j.state for j in jobs] == [JobState.RUNNING, JobState.QUEUED, JobState.QUEUED]
    assert [m.queue_position(j) for j in jobs] == [0, 1, 2]
    gates[0].touch()
    assert jobs[0].wait(60) and jobs[0].state is JobState.FINISHED
    assert jobs[1].state is JobState.RUNNING and m.queue_position(jobs[2]) == 1
    gates[1].touch()
    gates[2].touch()
    assert jobs[1].wait(60) and jobs[2].wait(60)
    assert jobs[1].started >= jobs[0].ended and jobs[2].started >= jobs[1].ended  # one slot, FIFO


def test_pause_resume_then_stop_finishes_with_the_partial_result(make_manager):
    m = make_manager()
    job = m.submit("alice", "cpu", spec(n=100_000, step_s=0.005))
    assert wait_for(lambda: len(ticks_of(job)) >= 3)
    job.pause()
    assert job.state is JobState.PAUSED
    time.sleep(0.5)  # in-flight events land
    held = len(ticks_of(job))
    time.sleep(0.5)
    assert len(ticks_of(job)) == held  # no step while paused
    job.resume()
    assert job.state is JobState.RUNNING
    assert wait_for(lambda: len(ticks_of(job)) > held + 2)
    job.stop()
    assert job.wait(60)
    assert job.state is JobState.FINISHED
    assert job.result.startswith("stopped at ") and int(job.result.split()[-1]) >= held + 2


def test_cancel_closes_the_generator(make_manager, tmp_path):
    m = make_manager()
    closed = tmp_path / "closed"
    job = m.submit("alice", "cpu", spec(n=10, gate=str(tmp_path / "never"), closed=str(closed)))
    assert wait_for(lambda: job.latest(DemoIdle) is not None)
    job.cancel()
    assert job.wait(60)
    assert job.state is JobState.CANCELLED and job.result is None
    assert closed.read_text() == "closed"


def test_cancel_of_a_queued_job_is_immediate(make_manager, tmp_path):
    m = make_manager()
    first = m.submit("a", "cpu", spec(gate=str(tmp_path / "g")))
    second = m.submit("b", "cpu", spec())
    second.cancel()
    assert second.state is JobState.CANCELLED and m.queue_position(second) is None
    (tmp_path / "g").touch()
    assert first.wait(60) and first.state is JobState.FINISHED


def test_a_failing_job_keeps_its_message_and_events(make_manager):
    m = make_manager()
    job = m.submit("alice", "cpu", spec(fail_at=2))
    assert job.wait(60)
    assert job.state is JobState.FAILED
    assert job.error == "demo failure at step 2"
    assert ticks_of(job) == [0, 1]


def test_a_killed_worker_fails_the_job_with_a_message_and_the_slot_recovers(make_manager, tmp_path):
    if make_manager.backend == "thread":
        pytest.skip("a thread cannot be killed on its own")
    m = make_manager()
    job = m.submit("alice", "cpu", spec(gate=str(tmp_path / "never")))
    assert wait_for(lambda: job.log and isinstance(job.log[0], DemoInfo))
    os.kill(job.log[0].pid, signal.SIGKILL)
    assert job.wait(60), "a dead worker must not leave the job hanging"
    assert job.state is JobState.FAILED
    assert "stopped unexpectedly" in job.error and "Start the run again" in job.error
    again = m.submit("alice", "cpu", spec(n=2))
    assert again.wait(60) and again.state is JobState.FINISHED and ticks_of(again) == [0, 1]


def test_one_job_per_owner_and_owners_are_isolated(make_manager, tmp_path):
    m = make_manager()
    gate = tmp_path / "gate"
    mine = m.submit("alice", "cpu", spec(gate=str(gate)))
    with pytest.raises(JobBusyError, match="already have a job running or queued"):
        m.submit("alice", "cpu", spec())
    theirs = m.submit("bob", "cpu", spec(gate=str(gate)))
    assert m.jobs_of("alice") == [mine] and m.jobs_of("bob") == [theirs]
    assert m.jobs_of("mallory") == []
    gate.touch()
    assert mine.wait(60) and theirs.wait(60)
    again = m.submit("alice", "cpu", spec(n=1))
    assert m.jobs_of("alice") == [again]  # the finished one is forgotten, bob's stays bob's
    assert m.jobs_of("bob") == [theirs]
    assert again.wait(60)


def test_the_wall_time_limit_stops_the_job_politely_with_a_notice(make_manager):
    if make_manager.backend == "ray":
        pytest.skip("the limit is enforced by the manager, the same code for every backend")
    m = make_manager(time_limit_s=1.0)
    job = m.submit("alice", "cpu", spec(n=100_000, step_s=0.01))
    assert job.wait(60)
    assert job.state is JobState.FINISHED and job.result.startswith("stopped at ")
    assert job.note == (
        "Stopped at the time limit of 1 s per job (EXPLORER_JOB_TIME_LIMIT_S): "
        "the result is what it had learnt by then."
    )
    assert job.end_reason == "time limit"


def test_a_job_runs_with_the_threads_chosen_once_for_its_process(make_manager, monkeypatch):
    import torch

    from explorer.device import choose_threads

    monkeypatch.delenv("EXPLORER_THREADS", raising=False)
    m = make_manager()
    job = m.submit("alice", "cpu", JobSpec("explorer.training.backends.demo:threads"))
    assert job.wait(120) and job.state is JobState.FINISHED
    expected = {
        "thread": torch.get_num_threads(),  # this process's own choice (tests/conftest.py)
        "process": choose_threads(
            "worker", cpu_jobs=1, device="cpu"
        ),  # a worker's share of the cores
        "ray": 1,  # an actor reserves one CPU of its node
    }
    assert job.result == expected[make_manager.backend]
