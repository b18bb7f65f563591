"""Results that are nobody's own are made once per process; a user's own never leave the session."""

from __future__ import annotations

import threading
import time

import pytest

from explorer.probe import shared_results as sr
from explorer.probe.feature_vis import VisEvent
from explorer.probe.feature_vis_job import complete


@pytest.fixture(autouse=True)
def _empty() -> None:
    sr.SHARED.clear()


def test_what_is_shared() -> None:
    for kind in ("bundled", "imagenet", "random"):
        assert sr.shareable(kind)  # an optimised input of a process-wide model
        assert sr.shareable(kind, "data:shapes") and sr.shareable(kind, "samples")
        assert not sr.shareable(kind, "own")  # the user's image set never is
    for kind in ("user", "upload"):
        assert not sr.shareable(kind) and not sr.shareable(kind, "samples")


def test_a_bundled_result_is_made_once_for_two_owners() -> None:
    calls: list[str] = []
    alice: dict = {}
    bob: dict = {}
    key = sr.examples_key("resnet_small|bundled|1", "7", "data:shapes", 1000, 8)
    shared = sr.shareable("bundled", "data:shapes")
    first = sr.result_for(alice, key, shared, lambda: calls.append("alice") or object())
    second = sr.result_for(bob, key, shared, lambda: calls.append("bob") or object())
    assert second is first and calls == ["alice"]  # the second session did not recompute
    assert sr.lookup({}, key, shared=True) is first


def test_a_private_result_is_not_visible_to_another_owner() -> None:
    alice: dict = {}
    bob: dict = {}
    key = sr.examples_key("resnet_small|user|abc", "7", "own", 1000, 8)
    mine = sr.result_for(alice, key, sr.shareable("user", "own"), lambda: "alice's")
    assert mine == "alice's" and alice[key] == "alice's"
    assert sr.lookup(bob, key, shared=sr.shareable("user")) is None
    assert sr.SHARED.get(key) is None
    theirs = sr.result_for(bob, key, False, lambda: "bob's")
    assert theirs == "bob's" and alice[key] == "alice's"


def test_concurrent_first_asks_wait_for_one_computation() -> None:
    calls: list[int] = []

    def make() -> object:
        calls.append(1)
        time.sleep(0.2)
        return object()

    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(sr.SHARED.get_or_make("k", make)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1


def test_the_store_is_bounded() -> None:
    store = sr.SharedResults(2)
    for i in range(3):
        store.put(i, i)
    assert store.get(0) is None and store.get(1) == 1 and store.get(2) == 2


def test_only_a_complete_job_result_is_shared() -> None:
    assert complete(VisEvent(16, 16, 1.0), None)
    assert not complete(VisEvent(5, 16, 1.0), None)  # stopped half-way
    assert complete([(), (), ()], 3) and not complete([(), ()], 3)


class _Job:
    def __init__(self) -> None:
        self.done = False


def test_two_asks_for_one_running_key_follow_one_job() -> None:
    running = sr.RunningJobs()
    started: list[_Job] = []

    def start() -> _Job:
        started.append(_Job())
        return started[-1]

    first = running.get_or_start("k", start)
    assert running.get_or_start("k", start) is first and len(started) == 1
    first.done = True  # ended (stopped or failed): the next ask starts a new job
    second = running.get_or_start("k", start)
    assert second is not first and len(started) == 2
    running.forget("k", first)  # an older job's harvest does not drop the newer one
    assert running.get("k") is second
    running.forget("k", second)
    assert running.get("k") is None


def test_keep_bounds_a_private_store_and_shares_a_shared_result() -> None:
    from collections import OrderedDict

    sr.SHARED.clear()
    session: OrderedDict = OrderedDict()
    for i in range(4):
        sr.keep(session, i, i, False, 3)
    assert list(session) == [1, 2, 3] and sr.SHARED.get(3) is None
    sr.keep(session, "s", "v", True, 3)
    assert sr.SHARED.get("s") == "v" and "s" not in session
    sr.SHARED.clear()
