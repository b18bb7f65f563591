"""Helpers for the real-browser tests (Debian's Chromium through Playwright)."""

from __future__ import annotations

import os
import time
from pathlib import Path

SCREENSHOTS = Path(__file__).parent / "screenshots"


def wait_idle(page, timeout: float = 90.0, quiet: float = 1.0) -> None:
    """Wait until Streamlit has finished running the script: the app root reports the script
    state "notRunning" (a frontend test attribute) for ``quiet`` seconds and no skeleton shows."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    calm_since = None
    while time.monotonic() < deadline:
        state = page.locator('[data-testid="stApp"]').first.get_attribute("data-test-script-state")
        skeleton = page.locator('[data-testid="stSkeleton"]').count() > 0
        if state != "notRunning" or skeleton:
            calm_since = None
        else:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return
        time.sleep(0.2)
    raise TimeoutError("The page kept running for too long.")


def open_page(page, base_url: str, url_path: str = "", timeout: float = 90.0) -> None:
    """Open one page of the app and wait until it has rendered (its title is there and the
    script has stopped running)."""
    page.goto(f"{base_url}/{url_path}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout * 1000)
    wait_idle(page, timeout=timeout)


def assert_no_exception(page) -> None:
    """No Streamlit exception block anywhere on the page."""
    blocks = page.locator('[data-testid="stException"]')
    assert blocks.count() == 0, blocks.first.inner_text()


def save_screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under tests/e2e/screenshots/ (not committed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


README_SHOTS = Path(__file__).resolve().parents[2] / "assets" / "screenshots"
# `make screenshots` sets this to refresh the README's images; `make test` never writes them.
README_ENV = "EXPLORER_README_SCREENSHOTS"


def readme_shots_dir() -> Path:
    """assets/screenshots/ under `make screenshots`, else an ignored folder beside the others."""
    return README_SHOTS if os.environ.get(README_ENV) == "1" else SCREENSHOTS / "readme"


def save_readme_screenshot(page, name: str, height: int = 1350) -> Path:
    """The top of the page as the README shows it (assets/screenshots/<name>.png).

    Tracked files change only under `make screenshots`; a plain test run writes the same
    picture to tests/e2e/screenshots/readme/ (ignored), so `make test` leaves git clean.
    """
    folder = readme_shots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    width = page.viewport_size["width"]
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": width, "height": height})
    return path
