"""The engine's log lines (job ends, reaps) reach the server's stderr, through one handler."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from explorer.ui.server_log import _StderrHandler, setup_logging

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = (
    "import logging\n"
    "from explorer.ui.server_log import setup_logging\n"
    "setup_logging(); setup_logging()\n"
    "logging.getLogger('explorer.training.job_manager').info('job 7 (training) of owner ab12 ended: finished')\n"
)


def test_job_line_reaches_stderr_once() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if "job 7" in ln]
    assert len(lines) == 1, out.stderr
    assert lines[0].endswith(
        "INFO explorer.training.job_manager: job 7 (training) of owner ab12 ended: finished"
    )


def test_info_line_is_lost_without_the_handler() -> None:
    """The failure this fixes: without setup_logging an INFO line of the engine is dropped."""
    script = SCRIPT.replace("setup_logging(); setup_logging()\n", "")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "job 7" not in out.stderr


def test_app_attaches_one_handler_across_reruns() -> None:
    logger = logging.getLogger("explorer")
    before = [h for h in logger.handlers if isinstance(h, _StderrHandler)]
    for h in before:
        logger.removeHandler(h)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.run()
        ours = [h for h in logger.handlers if isinstance(h, _StderrHandler)]
        assert len(ours) == 1
        assert setup_logging() is ours[0]
    finally:
        for h in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)
