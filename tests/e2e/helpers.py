"""Helpers for the real-browser tests (Debian's Chromium through Playwright)."""

from __future__ import annotations

import os
import time
from pathlib import Path

SCREENSHOTS = Path(__file__).parent / "screenshots"


# Added to every browser context (conftest's ``chromium``): counts what the page and its Streamlit
# server say to each other over the WebSocket, so that ``wait_idle`` knows that every run the page
# asked for has started and finished. It reads the top-level field numbers of the protobuf
# messages: a BackMsg with ``rerun_script`` (11) asks for a run; a ForwardMsg ``new_session`` (4)
# starts one and ``script_finished`` (6) ends it, with its status (2: stopped early for a rerun).
PROBE_JS = r"""
(() => {
  if (window.__stProbe) return;
  // Counts what the page and its Streamlit server say to each other over the WebSocket:
  // rerun requests sent (BackMsg field 11), runs started (ForwardMsg new_session, field 4)
  // and finished (script_finished, field 6: its status; 2 = stopped early for a rerun).
  const probe = (window.__stProbe = {
    requested: 0, started: 0, finished: 0, status: -1,
    startedSinceRequest: true, finishedSinceStart: true, traffic: performance.now(),
  });
  const fields = (bytes) => {  // the top-level fields of a protobuf message: [[number, varint]]
    const out = [];
    let i = 0;
    const varint = () => {
      let value = 0, scale = 1, b;
      do { b = bytes[i++]; value += (b & 0x7f) * scale; scale *= 128; } while (b & 0x80 && i < bytes.length);
      return value;
    };
    while (i < bytes.length) {
      const tag = varint(), wire = tag % 8, num = (tag - wire) / 8;
      if (wire === 0) out.push([num, varint()]);
      else if (wire === 2) { const n = varint(); out.push([num, null]); i += n; }
      else if (wire === 1) { out.push([num, null]); i += 8; }
      else if (wire === 5) { out.push([num, null]); i += 4; }
      else break;
    }
    return out;
  };
  const bytesOf = (data) =>
    data instanceof ArrayBuffer ? new Uint8Array(data)
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : null;
  const Native = window.WebSocket;
  const send = Native.prototype.send;
  Native.prototype.send = function (data) {
    try {
      const bytes = bytesOf(data);
      if (bytes && fields(bytes).some(([n]) => n === 11)) {
        probe.requested += 1;
        probe.startedSinceRequest = false;
      }
    } catch (e) {}
    probe.traffic = performance.now();
    return send.call(this, data);
  };
  const received = (event) => {
    try {
      const bytes = bytesOf(event.data);
      for (const [n, value] of bytes ? fields(bytes) : []) {
        if (n === 4) {
          probe.started += 1;
          probe.startedSinceRequest = true;
          probe.finishedSinceStart = false;
        } else if (n === 6) {
          probe.finished += 1;
          probe.status = value;
          probe.finishedSinceStart = true;
        }
      }
    } catch (e) {}
    probe.traffic = performance.now();
  };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", received);
    }
  };
})()
"""

# What wait_idle reads, in one round trip: the app's script state (a frontend test attribute),
# whether a skeleton shows, and whether every run the page asked for has started and finished
# (null on a page without the probe).
STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const probe = window.__stProbe;
  return {
    state: app ? app.getAttribute('data-test-script-state') : null,
    skeleton: document.querySelector('[data-testid="stSkeleton"]') !== null,
    settled: probe ? probe.startedSinceRequest && probe.finishedSinceStart && probe.status !== 2
                   : null,
  };
}"""
# Calm needed once the probe has seen every requested run start and finish: it covers a widget
# that sends its change after a short delay (a slider's keyboard steps are debounced).
CONFIRMED_QUIET = 0.5
# Extra calm allowed for a requested run that has not started (the server merged it with another).
UNANSWERED_GRACE = 2.0


def wait_idle(page, timeout: float = 90.0, quiet: float = 1.0) -> None:
    """Wait until Streamlit has finished running the script: the app root reports the script
    state "notRunning" (a frontend test attribute) and no skeleton shows, for ``quiet`` seconds;
    or for ``CONFIRMED_QUIET`` seconds (at most ``quiet``) when the page's WebSocket probe has
    seen every run it asked for start and finish, none of them stopped early for another run."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    calm_since = None
    while time.monotonic() < deadline:
        shown = page.evaluate(STATE_JS)
        if shown["state"] != "notRunning" or shown["skeleton"]:
            calm_since = None
        else:
            calm_since = calm_since or time.monotonic()
            calm = time.monotonic() - calm_since
            if shown["settled"] is None:  # no probe on this page: the quiet period alone
                needed = quiet
            elif shown["settled"]:
                needed = min(quiet, CONFIRMED_QUIET)
            else:  # a run was asked for and has not started yet
                needed = quiet + UNANSWERED_GRACE
            if calm >= needed:
                return
        time.sleep(0.1)
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
