"""Background jobs for the app: one JobManager per process, jobs owned by the browser session.

Pages call :func:`submit` / :func:`current_job`; they never see another session's jobs. Slots
per device come from ``EXPLORER_CPU_JOBS`` (default 1) and ``EXPLORER_CUDA_JOBS`` (default 2),
so one GPU (or the CPU) is shared by a whole class through a FIFO queue. A reaper thread cancels
the jobs of sessions that have ended (closed tab, after Streamlit's reconnect grace period).

Usage (the recurrent page does the same with its own generator)::

    from explorer.ui import jobs
    job = jobs.current_job()                     # this session's latest job, or None
    job = jobs.submit(lambda control: my_events(control.stop_requested), device="cpu", title="...")
    jobs.queue_position(job)                     # 0 running, 1.. waiting, None done
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterator
from typing import Any

import streamlit as st

from explorer.training.jobs import Job, JobBusyError, JobControl, JobManager, JobState

__all__ = [
    "Job", "JobBusyError", "JobState", "current_job", "manager", "queue_position", "session_alive",
    "session_id", "submit",
]  # fmt: skip

REAP_INTERVAL_S = 10.0


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def session_alive(sid: str) -> bool:
    """Whether the Streamlit session ``sid`` still exists (connected, or disconnected but
    still within ``server.disconnectedSessionTTL`` and so able to reconnect)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return True  # no server (AppTest, scripts): nobody to reap
        runtime = Runtime.instance()
        if runtime.is_active_session(sid):
            return True
        # A disconnected session may still come back; it is gone once the manager forgets it.
        mgr = getattr(runtime, "_session_mgr", None)
        info = mgr.get_session_info(sid) if mgr is not None else None
        return info is not None
    except Exception:  # if we cannot tell, keep the job: cancelling someone's run is worse
        return True


@st.cache_resource(max_entries=1)
def manager() -> JobManager:
    """The process-wide manager (slots are a property of the machine, not of a user)."""
    m = JobManager(
        slots={"cpu": _env_int("EXPLORER_CPU_JOBS", 1), "cuda": _env_int("EXPLORER_CUDA_JOBS", 2)},
        default_slots=1,
    )
    m.start_reaper(session_alive, interval=REAP_INTERVAL_S)
    # At exit, close running jobs between two steps rather than killing their threads mid-op.
    atexit.register(m.shutdown, 5.0)
    return m


def session_id() -> str:
    """The current browser session's id (owner of its jobs)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        raise RuntimeError("session_id() must be called from a Streamlit script run.")
    return ctx.session_id


def current_job(kind: str | None = None) -> Job | None:
    """This session's newest job (of ``kind``, as given to :func:`submit`), or None."""
    jobs = manager().jobs_of(session_id())
    if kind is not None:
        jobs = [j for j in jobs if j.kind == kind]
    return jobs[-1] if jobs else None


def submit(
    factory: Callable[[JobControl], Iterator[Any]], device: str, title: str = "", kind: str = "job"
) -> Job:
    """Queue a job for this session; raises JobBusyError if it already has one running."""
    return manager().submit(session_id(), device, factory, title=title, kind=kind)


def queue_position(job: Job) -> int | None:
    return manager().queue_position(job)


def status_line(job: Job) -> str:
    """A short sentence for the page: state, queue position, error."""
    pos = queue_position(job)
    if job.state is JobState.QUEUED:
        return f"Waiting for a free {job.device.split(':')[0].upper()} slot: position {pos} in the queue."
    if job.state is JobState.RUNNING:
        return "Running."
    if job.state is JobState.PAUSED:
        return "Paused. Resume to continue from the same step."
    if job.state is JobState.FINISHED:
        return "Finished."
    if job.state is JobState.CANCELLED:
        return "Cancelled."
    return f"Stopped with an error: {job.error}"
