"""The app's job manager (``explorer.ui.browser_jobs``): a process singleton that "Clear cache" cannot drop,
and session liveness that keeps reaping when Streamlit's private session API fails."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest
import streamlit as st

from explorer.training.backends.thread import ThreadBackend
from explorer.ui import browser_jobs, process_state


@pytest.fixture
def app_manager(monkeypatch):
    """A fresh app manager whose jobs run in threads (no worker process to start)."""
    import explorer.training.backends as backends

    monkeypatch.setattr(process_state, "job_manager", None)
    monkeypatch.setattr(backends, "backend_from_env", lambda **kwargs: ThreadBackend())
    monkeypatch.setattr(
        browser_jobs.atexit, "register", lambda fn: None
    )  # this test shuts it down itself
    yield browser_jobs.manager
    made = process_state.job_manager
    if made is not None:
        made.shutdown()


def test_clearing_streamlit_caches_does_not_orphan_running_jobs(app_manager):
    gate = threading.Event()

    def gated(control):
        while not gate.wait(0.02):
            yield "waiting"
        return "done"

    manager = app_manager()
    job = manager.submit("b" + "e" * 32, "cpu", gated, kind="training")
    st.cache_resource.clear()  # the sidebar's "Clear cache" does both
    st.cache_data.clear()
    assert app_manager() is manager  # the same manager: its queue, slots and jobs
    assert manager.jobs_of("b" + "e" * 32) == [job] and not job.done
    gate.set()
    assert job.wait(10) and job.result == "done"


class _Runtime:
    def __init__(self, active: set[str], resumable: set[str] | None) -> None:
        self._active = active
        if resumable is not None:  # None: a Streamlit without the private session manager
            self._session_mgr = SimpleNamespace(
                get_session_info=lambda sid: sid if sid in resumable else None
            )

    def is_active_session(self, sid: str) -> bool:
        return sid in self._active


def _serve(monkeypatch, runtime: _Runtime) -> None:
    from streamlit.runtime import Runtime

    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: runtime))
    monkeypatch.setattr(process_state, "logged_failures", set())


def test_session_liveness_counts_connected_and_resumable_sessions(monkeypatch):
    _serve(monkeypatch, _Runtime(active={"tab"}, resumable={"dropped"}))
    assert browser_jobs.session_alive("tab") and browser_jobs.session_alive("dropped")
    assert not browser_jobs.session_alive("closed")


def test_a_failing_private_session_call_is_logged_and_reaping_goes_on(monkeypatch, caplog):
    _serve(monkeypatch, _Runtime(active={"tab"}, resumable=None))
    with caplog.at_level(logging.DEBUG, logger="explorer.ui.browser_jobs"):
        assert browser_jobs.session_alive("tab")  # the public answer still counts
        assert not browser_jobs.session_alive(
            "closed"
        )  # a gone session is seen gone: its jobs get reaped
        assert not browser_jobs.session_alive("closed")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "session manager did not answer" in warnings[0].getMessage()
    assert warnings[0].exc_info is not None  # with its traceback, once; later ones at debug level
