"""A real Streamlit server and Debian's Chromium (no browser download), shared by the e2e tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import PROBE_JS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`streamlit run app.py` headless on 127.0.0.1:port, logging to a file."""
    log = open(ROOT / "tests" / "e2e" / f"server-{port}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )


def wait_healthy(port: int, timeout: float = 60.0, base_path: str = "") -> None:
    """Poll the server's health endpoint (under ``base_path``, if it serves under one)."""
    prefix = f"/{base_path}" if base_path else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}{prefix}/_stcore/health", timeout=2
            ) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"Streamlit did not become healthy on port {port}.")


@contextlib.contextmanager
def serving(env: dict[str, str], base_path: str = "") -> Iterator[str]:
    """A server of the app with ``env`` added (served under ``base_path``, as behind a proxy,
    if given), healthy, for the ``with`` block; its base URL."""
    port = free_port()
    if base_path:
        env = {**env, "STREAMLIT_SERVER_BASE_URL_PATH": base_path}
    proc = start_server(port, env)
    try:
        wait_healthy(port, base_path=base_path)
        yield f"http://127.0.0.1:{port}" + (f"/{base_path}" if base_path else "")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_server():
    """Base URL of a running app (one server for the whole e2e session)."""
    with serving({"EXPLORER_DEVICE": "cpu"}) as url:
        yield url


@pytest.fixture(scope="session")
def chromium():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield ProbedBrowser(browser)
        browser.close()


class ProbedBrowser:
    """The session's browser, whose every new context runs ``helpers.PROBE_JS`` in each page
    before the app's own scripts (``wait_idle`` then knows when a run it asked for is over)."""

    def __init__(self, browser) -> None:
        self._browser = browser

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.add_init_script(PROBE_JS)
        return context

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


@pytest.fixture
def browser_page(chromium):
    """A fresh page with a tall viewport (Streamlit scrolls an inner container)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    context.close()
