"""Memory of the web process as browser sessions come and go (a class on one server).

Starts a real Streamlit server of the app, then runs ROUNDS rounds: SESSIONS browser sessions
(Debian's Chromium through Playwright, one context each) open PAGES at the same time, wait until
each has rendered, and close; after the server has dropped the disconnected sessions, the RSS of
the server process is read from /proc. The same rounds run twice in this one run: with glibc's
default malloc arenas (the baseline) and with ``MALLOC_ARENA_MAX=2`` (what ``make run`` sets).

Settings (environment): BENCH_MEMORY_ROUNDS (3), BENCH_MEMORY_SESSIONS (5),
BENCH_MEMORY_PAGES ("feature-maps,architectures,basics"), BENCH_MEMORY_SETTLE_S (15; then until
the RSS holds still),
CHROMIUM (/usr/bin/chromium). Linux only (reads /proc). It prints figures and asserts nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import free_port, report, start_streamlit, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
ROUNDS = int(os.environ.get("BENCH_MEMORY_ROUNDS", "3"))
SESSIONS = int(os.environ.get("BENCH_MEMORY_SESSIONS", "5"))
PAGES = [
    p.strip()
    for p in os.environ.get("BENCH_MEMORY_PAGES", "feature-maps,architectures,basics").split(",")
]
SETTLE_S = float(os.environ.get("BENCH_MEMORY_SETTLE_S", "15"))
SESSION_TTL_S = 5  # the server drops a closed tab's session after this (the app's default is 60)


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_rss_mb(pid: int) -> float:
    """Resident memory of every descendant of ``pid`` (job worker processes), in MB."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    family, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - family
        family |= frontier
    total = 0.0
    for p in family:
        try:
            total += rss_mb(p)
        except OSError:
            continue
    return total


def _start(port: int, extra_env: dict[str, str], log: Path) -> subprocess.Popen:
    env = {
        k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"
    }  # the baseline: glibc's default
    return start_streamlit(
        port, log, ["--server.disconnectedSessionTTL", str(SESSION_TTL_S)], {**env, **extra_env}
    )


BUSY = ", ".join(
    f'[data-testid="{t}"]'
    for t in ("stSkeleton", "stStatusWidgetRunningIcon", "stStatusWidgetRunningManIcon")
)


def _calm(page) -> bool:
    """A title, the script not running, no skeleton and no "running" icon (False while unsure)."""
    try:
        if not page.locator('[data-testid="stMain"] h1').count() or page.locator(BUSY).count():
            return False
        return (
            page.locator('[data-testid="stApp"]').first.get_attribute(
                "data-test-script-state", timeout=5000
            )
            == "notRunning"
        )
    except Exception:  # the page reloaded or is still loading (a loaded machine): not calm yet
        return False


def _wait_rendered(page, timeout: float = 300.0) -> bool:
    """Until the page has been calm for two seconds; False (and a note) if it never was."""
    deadline, calm = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if not _calm(page):
            calm = None
        elif time.monotonic() - (calm := calm or time.monotonic()) >= 2.0:
            return True
        time.sleep(0.3)
    print(f"  note: {page.url} did not finish rendering within {timeout:.0f} s", flush=True)
    return False


def _warm_up(page, url: str, log: Path, words: str, tries: int = 10, wait_s: float = 60.0) -> None:
    """Open ``url`` until the server's log shows ``words`` (the app's first script run has really
    happened): on a busy machine a first page sometimes never starts its session, and a reload does."""
    for _ in range(tries):
        page.goto(url, wait_until="commit")
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if words in log.read_text(errors="replace"):
                _wait_rendered(page)
                return
            time.sleep(1)
    print(f"  note: the server's log did not show {words!r} after {tries} visits", flush=True)


def _settled_rss(pid: int, limit_s: float = 120.0) -> float:
    """The server's RSS once it has stopped changing (two readings 10 s apart within 1%)."""
    time.sleep(SESSION_TTL_S + SETTLE_S)
    last, deadline = rss_mb(pid), time.monotonic() + limit_s
    while time.monotonic() < deadline:
        time.sleep(10)
        now = rss_mb(pid)
        if abs(now - last) <= 0.01 * last:
            return now
        last = now
    return last


def _round(browser, base: str) -> None:
    """SESSIONS sessions at once, each visiting every page of PAGES (a visit is a new session)."""
    contexts = [
        browser.new_context(viewport={"width": 1400, "height": 1600}) for _ in range(SESSIONS)
    ]
    pages = [c.new_page() for c in contexts]
    for url_path in PAGES:
        for p in pages:  # all sessions load at the same time, then each is waited for
            p.goto(f"{base}/{url_path}", wait_until="commit")
        for p in pages:
            _wait_rendered(p)
    for c in contexts:
        c.close()


def measure(label: str, extra_env: dict[str, str]) -> list[float]:
    """RSS (MB) of a fresh server: after start-up and a first visit, then after each round."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-memory-{label}-{port}.log"
    proc = _start(port, extra_env, log)
    base = f"http://127.0.0.1:{port}"
    figures: list[float] = []
    try:
        wait_healthy(port, poll=0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            warm = browser.new_page()
            # Home loads no engine (a quick start), so the first visit is to a page that computes: its
            # sidebar starts the job manager, whose log line shows the first script run happened.
            _warm_up(warm, f"{base}/{PAGES[0]}", log, "job manager started")
            warm.close()
            figures.append(_settled_rss(proc.pid))
            print(
                f"  {label}: after start-up and one visit: {figures[-1]:.0f} MB "
                f"(its worker processes: {children_rss_mb(proc.pid):.0f} MB)",
                flush=True,
            )
            for r in range(ROUNDS):
                start = time.monotonic()
                _round(browser, base)
                figures.append(_settled_rss(proc.pid))
                print(
                    f"  {label}: after round {r + 1} ({SESSIONS} sessions x {len(PAGES)} pages, "
                    f"{time.monotonic() - start:.0f} s): {figures[-1]:.0f} MB "
                    f"(its worker processes: {children_rss_mb(proc.pid):.0f} MB)",
                    flush=True,
                )
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    return figures


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM} (`make browser` installs Debian's)")
        return
    print(
        f"server RSS, {ROUNDS} rounds of {SESSIONS} sessions each opening {', '.join(PAGES)}; "
        f"machine: {os.cpu_count()} CPUs, {_total_gb():.0f} GB"
    )
    runs = {
        "default": measure("default", {}),
        "arena2": measure("arena2", {"MALLOC_ARENA_MAX": "2"}),
    }
    for label, figs in runs.items():
        report(
            f"memory_rss_start_{label}",
            figs[0],
            "MB",
            f"server RSS after start-up ({label} malloc)",
        )
        for r, value in enumerate(figs[1:], 1):
            report(
                f"memory_rss_round{r}_{label}",
                value,
                "MB",
                f"server RSS after round {r} ({label} malloc)",
            )
        report(
            f"memory_growth_{label}",
            figs[-1] - figs[0],
            "MB",
            f"growth over {ROUNDS} rounds ({label} malloc)",
        )
    base, arena = runs["default"][-1], runs["arena2"][-1]
    report(
        "memory_final_ratio_arena2_vs_default",
        arena / base,
        "x",
        "final RSS, MALLOC_ARENA_MAX=2 / default",
    )


def _total_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


if __name__ == "__main__":
    main()
