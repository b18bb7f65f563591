"""Run one function in a fresh child process with a time limit, for work on untrusted input
(decoding a user's images) that must not cost the web process its CPU time or memory.

The child is started with the ``spawn`` context (no fork of a threaded web server) and gets
the function (an importable module-level callable) and its arguments by pickle; it sends back
the result or the exception it raised. If it runs past ``timeout_s`` it is killed; if it dies
(killed for memory, a crash in a native decoder), the caller gets a :class:`WorkerError` with a
sentence, never a hang.

Two options serve parsers of untrusted files (model imports): ``memory_bytes`` caps the child's
address space (``RLIMIT_AS``, on top of what it holds once started) so a file that asks for
huge allocations fails there; ``raw=True`` has the child answer with bytes only, read by the
parent with ``recv_bytes`` (never unpickled: a child subverted by a malformed file cannot send
the parent an object), its exceptions coming back as :class:`IsolatedError` (class name and
message as text).
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


class IsolatedError(WorkerError):
    """``raw=True``: the child's function raised; ``kind`` is the exception's class name and
    ``str(err)`` its message (both as text; nothing was unpickled)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _limit_memory(extra_bytes: int) -> None:
    """Cap this process's address space at what it maps now plus ``extra_bytes`` (Linux)."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * resource.getpagesize()
        limit = mapped + int(extra_bytes)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (
        ImportError,
        OSError,
        ValueError,
    ):  # no /proc or no resource module: the time limit still holds
        pass


def _child_raw(
    conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict, memory_bytes: int | None
) -> None:
    if memory_bytes:
        _limit_memory(memory_bytes)
    try:
        result = fn(*args, **kwargs)
        if not isinstance(result, bytes | bytearray):
            raise TypeError(f"the isolated function returned {type(result).__name__}, not bytes")
        conn.send_bytes(b"\x01" + bytes(result))
    except BaseException as err:
        text = f"{type(err).__name__}\n{err}"[:4000]
        with contextlib.suppress(Exception):  # if this fails too, the parent reads end-of-file
            conn.send_bytes(b"\x00" + text.encode("utf-8", "replace"))
    finally:
        conn.close()


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
        conn.send(
            (
                False,
                RuntimeError(f"the worker's answer could not be sent back ({type(err).__name__})"),
            )
        )
    finally:
        conn.close()


def run_isolated(
    fn: Callable[..., Any],
    *args: Any,
    timeout_s: float,
    what: str = "the work",
    memory_bytes: int | None = None,
    raw: bool = False,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` in a spawned child; its result, or the exception it raised.

    Raises :class:`WorkerError` when the child runs longer than ``timeout_s`` (it is killed)
    or dies without answering. ``what`` names the work in those messages. ``memory_bytes``
    and ``raw``: see the module's docstring (with ``raw``, ``fn`` returns bytes).
    """
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    if raw:
        target, targs = _child_raw, (send, fn, args, kwargs, memory_bytes)
    else:
        target, targs = _child, (send, fn, args, kwargs)
    proc = ctx.Process(target=target, args=targs, name="explorer-isolated", daemon=True)
    with _bare_main():
        proc.start()
    send.close()  # our copy: a dead child then reads as end-of-file at once
    try:
        if not recv.poll(timeout_s):
            raise WorkerError(
                f"{what[:1].upper()}{what[1:]} took longer than {timeout_s:.0f} s and was stopped."
            )
        try:
            ok, value = _read_raw(recv) if raw else recv.recv()
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


def _read_raw(recv: Any) -> tuple[bool, Any]:
    data = recv.recv_bytes()
    if data[:1] == b"\x01":
        return True, data[1:]
    kind, _, message = data[1:].decode("utf-8", "replace").partition("\n")
    return False, IsolatedError(kind[:80], message)
