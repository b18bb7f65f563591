"""A class opening one lecture link at once, and a cold server start to the home page.

What it measures, on a real Streamlit server (headless, 127.0.0.1, a free port):

- start: seconds from launching `streamlit run app.py` to /_stcore/health answering, and to the
  home page's title being visible in Chromium (Playwright, Debian's /usr/bin/chromium); without
  Chromium, to the home page's script run finished for a protocol client (below). Also the
  server's CPU seconds by then, a figure that a busy machine disturbs far less than wall time.
- class: for course steps 9 (LeNet-5, one layer) and 15 (as `explorer.ui.course.STEPS` says
  today), one warm-up session, then N sessions (default 30, BENCH_CLASS_SESSIONS) opened at the
  same moment (and any links in BENCH_CLASS_LINKS, comma-separated `page?query`). Reported: the server's CPU seconds per session (utime + stime of the server
  process from /proc, delta over the N sessions / N) and the wall seconds from the first open to
  the moment the last session's page was complete.

The N clients are light: each speaks Streamlit's own websocket protocol (a `BackMsg`
rerun_script with the link's page and query string, as the browser sends it), reads
`ForwardMsg`s to `script_finished`, then fetches every /media/ file the page refers to (the
images a browser would load). No JavaScript runs, so a client costs the 2-core test machine
little and the server's CPU is the server's alone. Each session is new (no cookie), as for a
student clicking the link on a slide.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port, report, start_streamlit, wait_healthy  # noqa: E402

SESSIONS = int(os.environ.get("BENCH_CLASS_SESSIONS", "30"))
START_REPEATS = 3  # cold starts measured; the median is reported
BROWSERS = int(
    os.environ.get("BENCH_CLASS_BROWSERS", "3")
)  # real Chromium sessions per course link
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
MEDIA = re.compile(rb"/media/[0-9a-f]{16,}\.[a-z0-9]{2,5}")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def start_server(port: int, log: Path) -> subprocess.Popen:
    """The app on 127.0.0.1:port, without the file watcher (it costs CPU the class does not)."""
    return start_streamlit(port, log, ["--server.fileWatcherType", "none"])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# --------------------------------------------------------------------------- a protocol client


def _rerun_message(page: str, query: str, url: str) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    cs = msg.rerun_script
    cs.query_string = query
    cs.page_name = page
    cs.page_script_hash = ""
    cs.context_info.url = url
    cs.context_info.timezone = "UTC"
    cs.context_info.locale = "en-GB"
    return msg.SerializeToString()


def _fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=60) as r:
        return len(r.read())


async def open_page(port: int, page: str, query: str, want: bytes = b"") -> dict:
    """One new session on ``page?query``: the run to `script_finished`, then the page's media.

    Returns the seconds until complete, the number of messages, media files and whether
    ``want`` (bytes in some message) was seen. Raises if the run did not finish successfully."""
    import websockets
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    start = time.perf_counter()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/{page}" + (f"?{query}" if query else "")
    media: set[bytes] = set()
    seen, count = not want, 0
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit"],
        origin=base,
        max_size=None,
    ) as ws:
        await ws.send(_rerun_message(page, query, url))
        while True:
            raw = await asyncio.wait_for(ws.recv(), timeout=600)
            count += 1
            media.update(MEDIA.findall(raw))
            seen = seen or want in raw
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            if fm.WhichOneof("type") == "script_finished":
                if fm.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    raise RuntimeError(
                        f"{url}: the script run ended with status {fm.script_finished}"
                    )
                break
        await asyncio.gather(*(asyncio.to_thread(_fetch, base + m.decode()) for m in media))
    return {
        "seconds": time.perf_counter() - start,
        "messages": count,
        "media": len(media),
        "seen": seen,
    }


async def open_many(port: int, page: str, query: str, n: int) -> list[dict]:
    return await asyncio.gather(*(open_page(port, page, query) for _ in range(n)))


# --------------------------------------------------------------------------- start to home


def start_to_home(log: Path) -> tuple[float, float, float, str]:
    """(seconds to health OK, seconds to the home title visible, the server's CPU seconds by
    then, how it was seen). The CPU seconds hardly depend on what else the machine runs."""
    port = free_port()
    browser = pw = None
    if shutil.which(CHROMIUM) or Path(CHROMIUM).is_file():
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()  # the browser is up before the clock starts
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
    t0 = time.perf_counter()
    proc = start_server(port, log)
    try:
        wait_healthy(port)
        healthy = time.perf_counter() - t0
        if browser is not None:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("heading", name="Architecture Explorer").wait_for(timeout=120_000)
            how = "Chromium: home title visible"
        else:
            asyncio.run(open_page(port, "", "", want=b"Architecture Explorer"))
            how = "protocol client: home script run finished"
        home = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid)
    finally:
        stop(proc)
        if browser is not None:
            browser.close()
            pw.stop()
    return healthy, home, cpu, how


# --------------------------------------------------------------------------- a class on one link


def course_link(n: int) -> tuple[str, str]:
    """(page url path, query string) of course step n, as the Course page links it."""
    from urllib.parse import urlencode

    from explorer.ui.course import STEPS

    step = STEPS[n - 1]
    return step.page, urlencode({**step.params, "step": str(n)})


def one_class(port: int, pid: int, link: tuple[str, str], name: str) -> None:
    """One warm-up session, one warm session alone, then SESSIONS at once on ``link``."""
    page, query = link
    asyncio.run(open_page(port, page, query))  # warm-up: models loaded, code imported
    first = asyncio.run(open_page(port, page, query))  # one warm session alone
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    results = asyncio.run(open_many(port, page, query, SESSIONS))
    wall = time.perf_counter() - t0
    per_session = (cpu_seconds(pid) - cpu0) / SESSIONS
    print(
        f"{name}: /{page}?{query}  ({first['messages']} messages, {first['media']} media files; "
        f"one warm session alone {first['seconds']:.2f} s)"
    )
    report(
        f"class_{name}_cpu_per_session",
        per_session,
        "s",
        f"{name}: server CPU per session ({SESSIONS} sessions at once)",
        "<= 0.25 s",
    )
    assert len(results) == SESSIONS
    report(
        f"class_{name}_last_complete",
        wall,
        "s",
        f"{name}: the last of {SESSIONS} sessions complete, from the first open",
    )


def browser_class(port: int, pid: int, link: tuple[str, str], name: str) -> None:
    """BROWSERS fresh Chromium contexts opened together on ``link`` (each downloads Streamlit's
    frontend as a student's first visit does): server CPU per browser, wall to the last page
    with its images shown. A second figure beside the protocol clients' (which skip the frontend)."""
    if BROWSERS < 1 or not Path(CHROMIUM).is_file():
        return
    from playwright.sync_api import sync_playwright

    page_path, query = link
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        contexts = [
            browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(BROWSERS)
        ]
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        pages = [c.new_page() for c in contexts]
        for p in pages:
            p.goto(f"http://127.0.0.1:{port}/{page_path}?{query}", wait_until="commit")
        for p in pages:
            p.locator('[data-testid="stImage"] img').first.wait_for(timeout=300_000)
            p.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=300_000
            )
        wall = time.perf_counter() - t0
        per_browser = (cpu_seconds(pid) - cpu0) / BROWSERS
        browser.close()
    report(
        f"class_{name}_cpu_per_browser",
        per_browser,
        "s",
        f"{name}: server CPU per fresh Chromium ({BROWSERS} at once, frontend files included)",
    )
    report(
        f"class_{name}_browsers_complete",
        wall,
        "s",
        f"{name}: the last of {BROWSERS} Chromium pages complete",
    )


def main() -> None:
    logdir = Path(tempfile.mkdtemp(prefix="bench_class_"))
    starts = [start_to_home(logdir / f"start{i}.log") for i in range(START_REPEATS)]
    how = starts[0][3]
    report(
        "start_health",
        statistics.median(s[0] for s in starts),
        "s",
        f"server start to /_stcore/health OK (median of {START_REPEATS})",
    )
    report(
        "start_home_visible",
        statistics.median(s[1] for s in starts),
        "s",
        f"server start to home visible ({how}; median of {START_REPEATS})",
        "<= 2.5 s",
    )
    report(
        "start_home_server_cpu",
        statistics.median(s[2] for s in starts),
        "s",
        f"server CPU from start to home visible (median of {START_REPEATS})",
    )

    port = free_port()
    proc = start_server(port, logdir / "class.log")
    try:
        wait_healthy(port)
        for n_step in (9, 15):
            one_class(port, proc.pid, course_link(n_step), f"step{n_step}")
            browser_class(port, proc.pid, course_link(n_step), f"step{n_step}")
        for i, link in enumerate(filter(None, os.environ.get("BENCH_CLASS_LINKS", "").split(","))):
            page, _, query = link.strip().lstrip("/").partition("?")
            one_class(port, proc.pid, (page, query), f"link{i + 1}")
    finally:
        stop(proc)
    print(f"server logs: {logdir}")


if __name__ == "__main__":
    main()
