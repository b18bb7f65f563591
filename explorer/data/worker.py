"""Run one function in a fresh child process with a time limit, for work on untrusted input
(decoding a user's images) that must not cost the web process its CPU time or memory.

The child is started with the ``spawn`` context (no fork of a threaded web server) and gets
the function (an importable module-level callable) and its arguments by pickle; it sends back
the result or the exception it raised. If it runs past ``timeout_s`` it is killed; if it dies
(killed for memory, a crash in a native decoder), the caller gets a :class:`WorkerError` with a
sentence, never a hang.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

_MAIN_LOCK = threading.Lock()


class WorkerError(RuntimeError):
    """The child ran past its time limit or died before answering; ``str(err)`` says which."""


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Spawn re-runs the parent's ``__main__`` in the child; during a Streamlit script run that is
    the page script. The child needs nothing from it: hide it while the child starts (as
    ``explorer.training.backends.process`` does for its workers)."""
    with _MAIN_LOCK:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


def _child(conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        answer: tuple[bool, Any] = (True, fn(*args, **kwargs))
    except Exception as err:  # sent back to the caller, who re-raises it
        answer = (False, err)
    try:
        conn.send(answer)
    except Exception as err:  # the result or the exception did not pickle
        conn.send((False, RuntimeError(f"the worker's answer could not be sent back ({type(err).__name__})")))
    finally:
        conn.close()


def run_isolated(fn: Callable[..., Any], *args: Any, timeout_s: float, what: str = "the work", **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a spawned child; its result, or the exception it raised.

    Raises :class:`WorkerError` when the child runs longer than ``timeout_s`` (it is killed)
    or dies without answering. ``what`` names the work in those messages.
    """
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, kwargs), name="explorer-isolated", daemon=True)
    with _bare_main():
        proc.start()
    send.close()  # our copy: a dead child then reads as end-of-file at once
    try:
        if not recv.poll(timeout_s):
            raise WorkerError(f"{what[:1].upper()}{what[1:]} took longer than {timeout_s:.0f} s and was stopped.")
        try:
            ok, value = recv.recv()
        except (EOFError, OSError) as err:
            proc.join(5)
            raise WorkerError(
                f"The process doing {what} stopped unexpectedly (exit code {proc.exitcode}; perhaps out of memory)."
            ) from err
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        recv.close()
    if ok:
        return value
    raise value
