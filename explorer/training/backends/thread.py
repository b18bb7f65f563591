"""The in-process backend: a job's generator runs in a thread of the calling process.

For scripts, notebooks and tests (it also accepts factories that close over live objects);
the web app uses the process or Ray backend so that training never competes with page
rendering for the interpreter lock.
"""

from __future__ import annotations

from typing import Any

from explorer.training.backends.base import JobHandle, close_generator, failure_message


class ThreadBackend:
    """Run each job in a daemon thread of this process (one thread per running job)."""

    name = "thread"

    def run(self, job: JobHandle) -> tuple[str, Any, str | None]:
        gen = None
        state, result, error = "finished", None, None
        try:
            gen = job.open_generator()
            while True:
                job.check_limits()
                job.wait_while_paused()
                if job.wants_cancel():
                    state = "cancelled"
                    break
                try:
                    event = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                job.record(event)
        except Exception as exc:  # the job must end with a message, never kill the process
            state, error = "failed", failure_message(exc, job.id)  # keeps no frame alive
        finally:
            # runs the generator's finally blocks (frees memory, hooks)
            close_generator(gen, job.id)
        return state, result, error

    def close(self) -> None:
        """Nothing to release: threads end with their jobs."""
