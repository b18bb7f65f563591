"""AppTest helpers: the whole app (navigation + sidebar) opened on one page."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_app_page(page_file: str, timeout: float = 120) -> AppTest:
    """An AppTest of app.py switched to ``page_file`` (e.g. "app_pages/home.py"), not yet run.

    The app runs once first (on Home): until st.navigation has registered the pages, AppTest
    identifies a page by its file name, which misses pages with a custom url_path.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    at.switch_page(page_file)
    return at


def rerun_until(at: AppTest, done: Callable[[AppTest], bool], seconds: float = 180) -> bool:
    """Rerun ``at`` every half second (as the page's own refresh would) until ``done(at)`` holds;
    False after ``seconds``. Every rerun must be free of exceptions."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return True
    return False


@pytest.fixture
def app_page():
    return open_app_page
