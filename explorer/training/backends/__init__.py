"""Where jobs run: a thread, local worker processes (the app's default), or a Ray cluster.

``backend_from_env()`` picks the app's backend: Ray when ``EXPLORER_RAY_ADDRESS`` is set (the
optional ``ray`` extra must be installed), local worker processes otherwise.
"""

from __future__ import annotations

import os
from typing import Any

from explorer.training.backends.base import JobSpec, WorkerLost


def backend_from_env(**process_kwargs: Any) -> Any:
    """The backend the environment asks for (see the README's class-server settings)."""
    address = os.environ.get("EXPLORER_RAY_ADDRESS", "").strip()
    if address:
        from explorer.training.backends.ray_cluster import RayBackend

        try:
            import ray  # noqa: F401
        except ImportError as err:
            raise RuntimeError(
                "EXPLORER_RAY_ADDRESS is set but Ray is not installed: pip install -e '.[ray]'."
            ) from err
        return RayBackend(address=address)
    from explorer.training.backends.process import ProcessBackend

    return ProcessBackend(**process_kwargs)


__all__ = ["JobSpec", "WorkerLost", "backend_from_env"]
