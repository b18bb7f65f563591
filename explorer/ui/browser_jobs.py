"""Background jobs for the app: one process-wide JobManager; jobs owned by the browser.

Pages call :func:`submit` with a :class:`JobSpec` (an importable generator function and plain
arguments) and :func:`current_job` to find it again. The jobs run outside the web process: in
local worker processes (default, nothing to install), or on a Ray cluster when
``EXPLORER_RAY_ADDRESS`` is set. The owner is the browser's stable anonymous id
(``explorer.ui.identity.browser_id``), so a reload finds the job again and no other browser
ever sees it. The class-server limits (README, "Class-server settings") come from:

    EXPLORER_CPU_JOBS          CPU jobs at once (default 1)
    EXPLORER_CUDA_JOBS         jobs at once per GPU (default 2)
    EXPLORER_JOB_TIME_LIMIT_S  wall time per job, paused time included (default 900)
    EXPLORER_JOB_KEEP_S        how long a finished job of a browser that left stays (default 3600)
    EXPLORER_RAY_ADDRESS       run jobs on this Ray cluster instead of local workers
    EXPLORER_RAY_CONNECT_TIMEOUT_S  how long the first connection may take (default 30); an
                               address that does not answer makes training unavailable, with
                               the reason on the pages (:func:`unavailable_notice`), not a hang

Usage (the recurrent page does the same with its own generator)::

    from explorer.ui import browser_jobs
    job = browser_jobs.current_job("training")           # this browser's latest job of that kind, or None
    job = browser_jobs.submit(JobSpec("explorer.training.fit:run_training", {"settings": s}),
                      device="cpu", title="...", kind="training")
    browser_jobs.queue_position(job)                     # 0 running, 1.. waiting, None done
    browser_jobs.poll_interval(job)                      # how often a live view should poll it
"""

from __future__ import annotations

import atexit
import functools
import logging
import os

from explorer.training.events import History
from explorer.training.job_manager import (
    Job,
    JobBusyError,
    JobControl,
    JobManager,
    JobSpec,
    JobState,
    TrainingUnavailableError,
)
from explorer.ui import process_state

__all__ = [
    "Job",
    "JobBusyError",
    "JobControl",
    "JobSpec",
    "JobState",
    "compact_history",
    "current_job",
    "manager",
    "owner_alive",
    "owner_id",
    "poll_interval",
    "queue_position",
    "server_settings",
    "session_alive",
    "session_id",
    "start_manager",
    "status_line",
    "submit",
    "TrainingUnavailableError",
    "unavailable",
    "unavailable_notice",
]

log = logging.getLogger(__name__)

REAP_INTERVAL_S = 10.0
QUEUED_POLL_S = 5.0  # a queued view only waits for its turn: poll rarely, draw nothing heavy
RUNNING_POLL_S = 1.0  # a running view redraws at most this often
MAX_CURVE_POINTS = 300  # live curves are drawn from at most this many points per series


def _env_float(name: str, default: float, minimum: float) -> float:
    try:
        return max(minimum, float(os.environ.get(name, default)))
    except ValueError:
        log.warning("%s=%r is not a number: using %s", name, os.environ.get(name), default)
        return default


def server_settings() -> dict[str, float | int | str]:
    """The class-server limits in force (from the environment; see the README table)."""
    return {
        "cpu_jobs": int(_env_float("EXPLORER_CPU_JOBS", 1, 1)),
        "cuda_jobs": int(_env_float("EXPLORER_CUDA_JOBS", 2, 1)),
        "time_limit_s": _env_float("EXPLORER_JOB_TIME_LIMIT_S", 900, 1),
        "keep_s": _env_float("EXPLORER_JOB_KEEP_S", 3600, 0),
        "ray_address": os.environ.get("EXPLORER_RAY_ADDRESS", "").strip(),
    }


def session_alive(sid: str) -> bool:
    """Whether the Streamlit session ``sid`` still exists (connected, or disconnected but
    still within ``server.disconnectedSessionTTL`` and so able to reconnect).

    Only the second half needs Streamlit's private session manager. If that call fails (another
    Streamlit version), the failure is logged and the answer falls back to "connected or not",
    so owners who left are still seen gone and their finished jobs still reaped.
    """
    from streamlit.runtime import Runtime

    try:
        if not Runtime.exists():
            return True  # no server (AppTest, scripts): nobody leaves
        runtime = Runtime.instance()
        if runtime.is_active_session(sid):
            return True
    except Exception:  # if we cannot tell at all, keep the job: dropping someone's run is worse
        _log_once("runtime", "cannot ask Streamlit whether a session is active: keeping its jobs")
        return True
    return _resumable(runtime, sid)


def _resumable(runtime: object, sid: str) -> bool:
    """Whether a session that is not active may still reconnect (Streamlit's private API)."""
    try:
        return runtime._session_mgr.get_session_info(sid) is not None  # type: ignore[attr-defined]
    except Exception:
        _log_once(
            "session_mgr",
            "Streamlit's session manager did not answer: a disconnected session counts as gone",
        )
        return False


def _log_once(key: str, message: str) -> None:
    """Log a failure with its traceback the first time, then briefly (the reaper asks every 10 s)."""
    if key in process_state.logged_failures:
        log.debug(message, exc_info=True)
        return
    process_state.logged_failures.add(key)
    log.warning(message, exc_info=True)


def owner_alive(owner: str) -> bool:
    """Whether any session of this browser is still there (another tab, or a reload)."""
    sessions = process_state.owner_sessions
    with process_state.owner_sessions_lock:
        sids = set(sessions.get(owner, ()))
    if not sids:
        return True  # never seen through a page (scripts, tests): keep its jobs
    alive = {s for s in sids if session_alive(s)}
    with process_state.owner_sessions_lock:
        if alive:
            sessions[owner] = alive | (sessions.get(owner, set()) - sids)
        else:  # keep one dead session so the owner stays known as gone
            sessions[owner] = {next(iter(sids))} | (sessions.get(owner, set()) - sids)
    return bool(alive)


def manager() -> JobManager:
    """The process-wide manager, kept in ``process_state`` (no cache that "Clear cache" drops)."""
    with process_state.job_manager_lock:
        if process_state.job_manager is None:
            conf = server_settings()
            process_state.job_manager = start_manager(
                "training", {"cpu": int(conf["cpu_jobs"]), "cuda": int(conf["cuda_jobs"])}
            )
        return process_state.job_manager


def start_manager(
    name: str, slots: dict[str, int], *, keep_per_kind: bool = False, warm: bool = True
) -> JobManager:
    """A manager of the app's jobs named ``name`` (in the log), with ``slots`` jobs at once per
    device, on the server's backend (``backend_from_env``: local worker processes, or Ray when
    ``EXPLORER_RAY_ADDRESS`` is set) and the server's time limit and keep time; its reaper
    started, its end registered at exit, and (``warm``) a worker started for this machine's
    device so that the first job does not wait for torch to import. ``keep_per_kind``: finished
    jobs are kept per (browser, kind), not per browser (see :class:`JobManager`)."""
    from explorer.training.backends import backend_from_env

    conf = server_settings()
    backend = backend_from_env(cpu_jobs=conf["cpu_jobs"])
    made = JobManager(
        slots=slots,
        default_slots=1,
        backend=backend,
        is_alive=owner_alive,
        time_limit_s=conf["time_limit_s"],
        keep_finished_s=conf["keep_s"],
        keep_per_kind=keep_per_kind,
    )
    made.start_reaper(REAP_INTERVAL_S)
    starter = getattr(backend, "warm", None)
    if warm and starter is not None:
        from explorer.device import pick_device
        from explorer.training.job_manager import slot_key

        starter(slot_key(str(pick_device())))
    atexit.register(functools.partial(_shutdown, made))
    log.info("%s job manager started: backend %s, settings %s", name, backend.name, conf)
    return made


def _shutdown(made: JobManager) -> None:
    # At exit, jobs end between two steps and workers are told to quit.
    made.shutdown(5.0)
    made.backend.close()


def unavailable() -> str | None:
    """Why training cannot run on this server now (Ray unreachable or missing), or None; at once."""
    return manager().unavailable()


def unavailable_notice() -> bool:
    """A warning on the page when training is unavailable, with the reason; True if shown."""
    reason = unavailable()
    if reason is None:
        return False
    import streamlit as st

    from explorer.ui.state import escape_text

    st.warning(
        f"Training is unavailable on this server: {escape_text(reason, limit=300)}. "
        "The other pages work as usual; ask whoever runs the server."
    )
    return True


def session_id() -> str:
    """The current browser session's id (one per tab and per reload)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        raise RuntimeError("session_id() must be called from a Streamlit script run.")
    return ctx.session_id


def owner_id() -> str:
    """Who owns this session's jobs: the browser's stable id, so a reload finds its job again."""
    from explorer.ui.identity import browser_id

    owner, sid = browser_id(), session_id()
    with process_state.owner_sessions_lock:
        process_state.owner_sessions.setdefault(owner, set()).add(sid)
    return owner


def current_job(kind: str | None = None) -> Job | None:
    """This browser's newest job (of ``kind``, as given to :func:`submit`), or None."""
    jobs = manager().jobs_of(owner_id())
    if kind is not None:
        jobs = [j for j in jobs if j.kind == kind]
    return jobs[-1] if jobs else None


def submit(spec: JobSpec, device: str, title: str = "", kind: str = "job") -> Job:
    """Queue a job for this browser; raises JobBusyError if it already has one running."""
    if not isinstance(spec, JobSpec):
        raise TypeError("Jobs of the app are JobSpec (they run in another process), not callables.")
    return manager().submit(owner_id(), device, spec, title=title, kind=kind)


def queue_position(job: Job) -> int | None:
    return manager().queue_position(job)


def poll_interval(job: Job | None) -> float | None:
    """How often a live view of ``job`` should poll: rarely while queued, never once done."""
    if job is None or job.done:
        return None
    return QUEUED_POLL_S if job.state is JobState.QUEUED else RUNNING_POLL_S


def status_line(job: Job) -> str:
    """A short sentence for the page: state, queue position, error, the manager's notes."""
    if job.state is JobState.QUEUED:
        return f"Waiting for a free {job.device.split(':')[0].upper()} slot: position {queue_position(job)} in the queue."
    if job.state is JobState.RUNNING:
        return job.note or "Running."
    if job.state is JobState.PAUSED:
        return "Paused. Resume to continue from the same step."
    if job.state is JobState.FINISHED:
        return job.note or "Finished."
    if job.state is JobState.CANCELLED:
        return job.note or "Cancelled."
    return f"Stopped with an error: {job.error}"


def compact_history(h: History, max_points: int = MAX_CURVE_POINTS) -> History:
    """A copy of ``h`` with at most ``max_points`` evenly spaced step points (the last kept).

    Live curves of a long run then cost the same to build and send at step 30,000 as at 300;
    epoch-level points (validation) are few and kept whole.
    """
    n = len(h.steps)
    if n <= max_points:
        return h
    keep = sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})
    g = History(started=h.started, last=h.last, finished=h.finished, epochs=list(h.epochs))
    for name in ("steps", "epoch_x", "train_loss", "train_acc", "lr", "samples_per_s", "elapsed_s"):
        values = getattr(h, name)
        setattr(g, name, [values[i] for i in keep])
    m = len(h.grad_steps)
    gkeep = (
        sorted({round(i * (m - 1) / (max_points - 1)) for i in range(max_points)})
        if m > max_points
        else range(m)
    )
    g.grad_steps = [h.grad_steps[i] for i in gkeep]
    g.grad_norms = {k: [v[i] for i in gkeep] for k, v in h.grad_norms.items()}
    return g
