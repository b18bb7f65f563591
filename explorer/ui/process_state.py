"""Everything in ``explorer/ui/`` that one server process shares among all its sessions.

A Streamlit server runs every session's script in the same Python process, so a module-level
variable is seen by every browser at once. That is what a few things need (one job queue for the
whole class, one run store, one garbage-collection freeze) and what nothing else may have (a
student's data in a module variable would leak to the next student). So the process-wide state
of the ui lives here, in one place, each piece with why it is process-wide and what bounds it;
``tests/test_process_state.py`` keeps any other module under ``explorer/ui/`` from defining
module-level mutable state. Per-session state is ``st.session_state``; read-only shared models
and results are ``st.cache_resource`` caches (bounded by their ``max_entries``), next to the code
that builds them.

The owners read and write these names as attributes (``process_state.job_manager = ...``),
never with ``from ... import`` (that would copy the binding), and tests replace them with
``monkeypatch.setattr(process_state, name, value)``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.training.job_manager import JobManager
    from explorer.training.runs import RunStore

# -- background jobs (explorer.ui.browser_jobs) ---------------------------------------------
# The one JobManager of the server: its queue and device slots are shared by every browser, so
# a class of 30 students waits in one queue for the CPU/GPU instead of 30 runs competing. It is
# a plain module variable, not ``st.cache_resource``: the sidebar's "Clear cache" must not drop
# it (running jobs would be orphaned). Bounded by the manager itself: jobs per owner, finished
# jobs reaped after EXPLORER_JOB_KEEP_S.
job_manager: JobManager | None = None
job_manager_lock = threading.Lock()

# Browser id -> the Streamlit sessions (tabs, reloads) seen for it: the manager's reaper asks
# whether any of them is alive before dropping an owner's jobs, and only the server sees all
# tabs. One small set per browser seen by this process; ``owner_alive`` trims each set to its
# live sessions (or one dead one, so the owner stays known as gone).
owner_sessions: dict[str, set[str]] = {}
owner_sessions_lock = threading.Lock()

# Keys of the failures of Streamlit's private session API already logged with a traceback: the
# reaper asks every 10 s for every owner, so the traceback is logged once per process. A fixed
# handful of keys ("runtime", "session_mgr").
logged_failures: set[str] = set()

# -- analysis jobs (explorer.ui.feature_space_panel) ----------------------------------------
# A second manager, the analysis manager, for both kinds of analysis job: the feature-space
# comparisons of Training and the transfer panel, and the optimised inputs / hierarchy grids of
# Feature maps (explorer.ui.feature_views.vis_job): one job at a time per device, in worker
# processes (or on Ray) like the training runs. Not the training manager, which keeps one finished
# job per browser (a job there would drop the training run the Training page shows). Bounded like
# the first: one unfinished job per owner, one finished job per owner and kind, finished jobs
# reaped after EXPLORER_JOB_KEEP_S.
feature_space_manager: JobManager | None = None
feature_space_manager_lock = threading.Lock()

# -- compared runs (explorer.ui.runs_panel) -------------------------------------------------
# Histories of every browser's runs, keyed by browser id, folded from the job manager's jobs so
# they outlive a job that was forgotten; process-wide like the manager they read. Bounded by the
# store: 12 runs per browser, 256 browsers, a book expires EXPLORER_JOB_KEEP_S after it was last
# seen.
run_store: RunStore | None = None
run_store_lock = threading.Lock()

# -- garbage collection (explorer.ui.heap) --------------------------------------------------
# ``gc.freeze()`` acts on the whole interpreter, so when it last ran is a fact of the process:
# ``len(sys.modules)`` at the last freeze. One integer.
gc_frozen_at = 0
gc_freeze_lock = threading.Lock()
