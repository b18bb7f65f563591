"""An unreachable EXPLORER_RAY_ADDRESS (issue 24, item 3): the connection is made once, in the
background with a time limit, never under a lock a page waits for; the failure is kept (no retry
per visit); the manager refuses jobs with the reason and the Training page renders and says it.

No real cluster is started: ``ray_cluster.connect`` (the one place that calls ``ray.init``) is
replaced by a function that blocks, or fails, and counts its calls."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the optional extra 'ray' is not installed")

from explorer.training.backends import ray_cluster
from explorer.training.backends.ray_cluster import RayBackend
from explorer.training.job_manager import JobManager, JobSpec, TrainingUnavailableError

ADDRESS = "127.0.0.1:1"
SPEC = JobSpec("explorer.training.fit:run_training", {})


class FakeConnect:
    """Blocks until released (then fails like a refused connection), or fails at once."""

    def __init__(self, block: bool) -> None:
        self.calls: list[str | None] = []
        self.release = threading.Event()
        self.block = block

    def __call__(self, address: str | None) -> None:
        self.calls.append(address)
        if self.block:
            self.release.wait(60)
        raise ConnectionError("Connection refused by 127.0.0.1:1")


@pytest.fixture
def fake_connect(monkeypatch: pytest.MonkeyPatch):
    def make(block: bool) -> FakeConnect:
        fake = FakeConnect(block)
        monkeypatch.setattr(ray_cluster, "connect", fake)
        monkeypatch.setattr(
            ray_cluster.RayBackend, "__init__", _init_not_initialised(RayBackend.__init__)
        )
        made.append(fake)
        return fake

    made: list[FakeConnect] = []
    yield make
    for fake in made:
        fake.release.set()


def _init_not_initialised(init):
    """RayBackend.__init__ as if no Ray were initialised in this process (another test may have one)."""

    def wrapped(self, *args, **kwargs):
        import ray

        real = ray.is_initialized
        ray.is_initialized = lambda: False
        try:
            init(self, *args, **kwargs)
        finally:
            ray.is_initialized = real

    return wrapped


def answered(fn, timeout: float = 20.0):
    """``fn()`` run in a thread; fails the test if it does not return (it would hang on the connect)."""
    box: list = []

    def call() -> None:
        try:
            box.append((True, fn()))
        except Exception as err:  # handed to the test's thread
            box.append((False, err))

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(timeout)
    assert box, "the call waited on the blocked connection"
    ok, value = box[0]
    if not ok:
        raise value
    return value


def test_blocked_connect_makes_training_unavailable_at_once(fake_connect) -> None:
    fake = fake_connect(block=True)
    backend = answered(lambda: RayBackend(address=ADDRESS, connect_timeout_s=0.2))
    manager = JobManager(backend=backend)
    first = answered(manager.unavailable)
    assert first.startswith("still connecting to the Ray cluster at 127.0.0.1:1 (for ")
    time.sleep(0.3)  # past the connection's time limit
    for _ in range(20):  # every page visit asks: each answers, none connects again
        assert (
            answered(manager.unavailable)
            == "the Ray cluster at 127.0.0.1:1 did not answer within 0.2 s"
        )
    with pytest.raises(TrainingUnavailableError) as err:
        answered(lambda: manager.submit("owner", "cpu", SPEC))
    assert (
        str(err.value)
        == "Training is unavailable: the Ray cluster at 127.0.0.1:1 did not answer within 0.2 s."
    )
    assert manager.jobs_of("owner") == []
    assert fake.calls == [ADDRESS]
    manager.shutdown(1.0)


def test_a_refused_connection_is_kept_and_retried_only_after_the_interval(fake_connect) -> None:
    fake = fake_connect(block=False)
    backend = RayBackend(address=ADDRESS, connect_timeout_s=30, retry_after_s=3600)
    deadline = time.monotonic() + 20
    while backend.unavailable().startswith("still connecting") and time.monotonic() < deadline:
        time.sleep(0.05)
    reason = "the Ray cluster at 127.0.0.1:1 could not be reached (ConnectionError: Connection refused by 127.0.0.1:1)"
    for _ in range(10):
        assert backend.unavailable() == reason
    assert fake.calls == [ADDRESS]
    backend._retry_after_s = (
        0.0  # the long interval has passed: a page's next question starts one new attempt
    )
    deadline = time.monotonic() + 20
    while len(fake.calls) < 2 and time.monotonic() < deadline:
        backend.unavailable()
        time.sleep(0.05)
    assert fake.calls == [ADDRESS, ADDRESS]


def test_training_page_renders_and_says_why(fake_connect, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from explorer.ui import process_state

    fake = fake_connect(block=True)
    monkeypatch.setenv("EXPLORER_RAY_ADDRESS", ADDRESS)
    monkeypatch.setenv("EXPLORER_RAY_CONNECT_TIMEOUT_S", "1")
    # a fresh app-wide manager for this server's settings
    monkeypatch.setattr(process_state, "job_manager", None)
    root = Path(__file__).resolve().parents[3]
    at = AppTest.from_file(str(root / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/training.py").run()
    assert not at.exception
    time.sleep(1.1)  # past the connection's time limit
    at.run()
    assert not at.exception
    warnings = [w.value for w in at.warning if "Training is unavailable" in w.value]
    assert warnings == [
        "Training is unavailable on this server: the Ray cluster at 127\\.0\\.0\\.1\\:1 did not answer within "
        "1 s. The other pages work as usual; ask whoever runs the server."
    ]
    assert [t.value for t in at.title][:1] and fake.calls == [
        ADDRESS
    ]  # the page rendered; one attempt in all
    made = process_state.job_manager
    assert made is not None and made.unavailable() is not None
    made.shutdown(1.0)
