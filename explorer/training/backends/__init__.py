"""Where jobs run: a thread, local worker processes (the app's default), or a Ray cluster.

``backend_from_env()`` picks the app's backend: Ray when ``EXPLORER_RAY_ADDRESS`` is set (the
optional ``ray`` extra must be installed), local worker processes otherwise. A backend that
cannot run jobs (Ray missing or unreachable) says why through ``unavailable()``; the manager
refuses new jobs with that reason and the pages show it.
"""

from __future__ import annotations

import os
from typing import Any

from explorer.training.backends.base import JobSpec, UnavailableBackend, WorkerLost


def backend_from_env(**process_kwargs: Any) -> Any:
    """The backend the environment asks for (see the README's class-server settings)."""
    address = os.environ.get("EXPLORER_RAY_ADDRESS", "").strip()
    if address:
        try:
            import ray  # noqa: F401
        except ImportError:
            return UnavailableBackend(
                "EXPLORER_RAY_ADDRESS is set but Ray is not installed (pip install -e '.[ray]')"
            )
        from explorer.training.backends.ray_cluster import RayBackend

        return RayBackend(address=address)  # connects in the background: never blocks a page
    from explorer.training.backends.process import ProcessBackend

    return ProcessBackend(**process_kwargs)


__all__ = ["JobSpec", "UnavailableBackend", "WorkerLost", "backend_from_env"]
