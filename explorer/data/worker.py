"""The spawned-child runner moved to :mod:`explorer.sandbox.worker` (a lower layer, shared with
model imports); this name keeps its callers working."""

from explorer.sandbox.worker import IsolatedError, WorkerError, run_isolated

__all__ = ["IsolatedError", "WorkerError", "run_isolated"]
