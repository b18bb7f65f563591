"""`make run` starts the server with MALLOC_ARENA_MAX=2 (README, memory of a class server), and a
caller can still override it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        ["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return next(line for line in out.stdout.splitlines() if "streamlit run app.py" in line)


def test_make_run_limits_malloc_arenas() -> None:
    assert _dry_run().startswith("MALLOC_ARENA_MAX=2 .venv/bin/streamlit run app.py")
    assert _dry_run("MALLOC_ARENA_MAX=4").startswith("MALLOC_ARENA_MAX=4 ")
