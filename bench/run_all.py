"""`make bench`: run every bench/bench_*.py in its own process and collect the BENCH lines.

Each benchmark prints human lines and machine lines ``BENCH <name> <value> <unit>``; this
runner repeats the machine lines at the end as one table. Benchmarks never assert.
Arguments pick benchmarks by a word of their name: ``python bench/run_all.py memory`` runs only
bench_memory.py (a real server and Chromium sessions, two servers one after the other: about
10 minutes on 2 CPUs; BENCH_MEMORY_ROUNDS / BENCH_MEMORY_SESSIONS size it); ``class`` runs
bench_class.py (a class of 30 sessions on each of two course links, and cold starts to Home:
about 2 minutes; BENCH_CLASS_SESSIONS / BENCH_CLASS_BROWSERS / BENCH_CLASS_LINKS size it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = sys.argv[1:]
    lines: list[str] = []
    failed: list[str] = []
    for script in sorted(HERE.glob("bench_*.py")):
        if only and not any(word in script.stem for word in only):
            continue
        print(f"\n=== {script.name}", flush=True)
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=HERE.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=None,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("BENCH "):
                lines.append(line.strip())
        if proc.wait() != 0:
            failed.append(script.name)
    print("\n=== all figures")
    for line in lines:
        print(line)
    if failed:
        print(f"benchmarks that crashed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
