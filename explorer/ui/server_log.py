"""The server log: the engine's loggers (``explorer.*``: job ends, worker losses, reaps) written to
stderr, where ``make run`` and a service manager collect them.

Streamlit configures only its own ``streamlit`` loggers, so without this the job lines promised
in the README would fall to Python's last-resort handler, which drops everything below WARNING.
:func:`setup_logging` is called by ``app.py`` on every rerun and attaches its handler once.
"""

from __future__ import annotations

import logging
import os
import sys

LOGGER = "explorer"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVEL_ENV = "EXPLORER_LOG_LEVEL"


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (looked up per record, so a redirected stderr is used)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging() -> logging.Handler:
    """Attach one stderr handler to the ``explorer`` logger (idempotent; level from
    ``EXPLORER_LOG_LEVEL``, default INFO) and return it."""
    logger = logging.getLogger(LOGGER)
    for handler in logger.handlers:
        if isinstance(handler, _StderrHandler):
            return handler
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    level = os.environ.get(LEVEL_ENV, "INFO").strip().upper()
    logger.setLevel(level if level in logging.getLevelNamesMapping() else logging.INFO)
    return handler
