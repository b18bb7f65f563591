"""Jobs out of the web process: does watching a run slow it, and does the queue waste time?

1. Training steps/s of the default run (the Keras CNN on circles vs squares) on the embedded
   backend (a local worker process) with nobody watching, then with 5 simulated watchers
   polling the job in this process as the Training page does: one running view (events,
   compact history, the five live figures serialised to JSON, snapshot montages when new) once
   a second, and four queued views (queue position and status line) every 5 s. A second figure
   has all 5 watchers on the running view (five tabs open on one run). Target >= 0.85.
2. Four default runs submitted at once (four owners, one CPU slot): total wall time divided by
   4 x the wall time of one run alone. Target <= 1.15 (the queue wastes nothing).

Run: .venv/bin/python bench/bench_jobs.py [--device cuda] [--quick]
"""

from __future__ import annotations

import argparse
import io
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report

CPU_SPENT: list[float] = []  # CPU seconds used by each watcher thread (load-independent cost)
WATCH_SHARE: list[float] = []  # per watched run: watcher CPU seconds / wall seconds


def watch_running(job, stop: threading.Event, period: float) -> None:
    """What one open Training page does per poll while its run is running."""
    try:
        _watch_running(job, stop, period)
    finally:
        CPU_SPENT.append(time.thread_time())


def _watch_running(job, stop: threading.Event, period: float) -> None:
    import numpy as np
    import plotly.io as pio
    from PIL import Image

    from explorer.training.events import History, Snapshot
    from explorer.ui.browser_jobs import compact_history
    from explorer.viz import training as viz

    cursor, history, seen_snap = 0, History(), None
    while not stop.wait(period):
        events, cursor = job.events_since(cursor)
        for e in events:
            history.add(e)
        if history.steps:
            c = compact_history(history)
            for fig in (
                viz.loss_figure(c),
                viz.accuracy_figure(c),
                viz.grad_norm_figure(c),
                viz.lr_figure(c),
                viz.throughput_figure(c),
            ):
                pio.to_json(fig, validate=False)  # what st.plotly_chart sends
        snap = job.latest(Snapshot)
        if snap is not None and snap.step != seen_snap:  # montages only when new
            seen_snap = snap.step
            images = [viz.images_uint8(snap.probe_image[None], min_side=96)[0]]
            if snap.filters is not None:
                images.append(viz.filters_image(snap.filters))
            images += [
                viz.feature_maps_image(m, max_channels=32, min_width=480)
                for m in snap.feature_maps.values()
            ]
            for img in images:
                Image.fromarray(np.asarray(img)).save(io.BytesIO(), format="PNG")


def watch_queued(manager, job, stop: threading.Event, period: float) -> None:
    """What a queued user's Training page does per poll: one line."""
    from explorer.ui.browser_jobs import status_line  # noqa: F401  (imports streamlit once, like the page)

    while not stop.wait(period):
        manager.queue_position(job)
        f"{job.title}: {job.state.value}"
    CPU_SPENT.append(time.thread_time())


def one_run(manager, settings, owner: str, running_watchers: int = 0, queued_watchers: int = 0):
    from explorer.training.job_manager import JobSpec

    stop = threading.Event()
    start = time.perf_counter()
    job = manager.submit(
        owner,
        settings.device,
        JobSpec("explorer.training.fit:run_training", {"settings": settings}),
    )
    threads = [
        threading.Thread(target=watch_running, args=(job, stop, 1.0), daemon=True)
        for _ in range(running_watchers)
    ]
    threads += [
        threading.Thread(target=watch_queued, args=(manager, job, stop, 5.0), daemon=True)
        for _ in range(queued_watchers)
    ]
    for t in threads:
        t.start()
    job.wait()
    wall = time.perf_counter() - start
    stop.set()
    for t in threads:
        t.join()
    if threads:
        print(
            f"  watchers used {sum(CPU_SPENT):.2f} CPU s over {wall:.1f} s of wall time "
            f"({100 * sum(CPU_SPENT) / wall:.1f}% of one core)"
        )
        WATCH_SHARE.append(sum(CPU_SPENT) / wall)
        CPU_SPENT.clear()
    assert job.result is not None, job.error
    m = job.result.metrics
    return m["steps"] / m["train_seconds"], wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs (1 epoch of 640 images) for a loaded machine; same ratios",
    )
    parser.add_argument("--repeats", type=int, default=3, help="(alone, watched) pairs; medians")
    args = parser.parse_args()

    import statistics

    from explorer.training.backends.process import ProcessBackend
    from explorer.training.job_manager import JobManager, slot_key
    from explorer.training.settings import default_settings

    sfx = "" if args.device == "cpu" else "_cuda"  # the GPU script's names end in _cuda
    quick = {"epochs": 1, "train_samples": 640} if args.quick else {}
    settings = default_settings("keras_cnn", device=args.device, **quick)
    backend = ProcessBackend()
    manager = JobManager(slots={slot_key(args.device): 1}, backend=backend)
    try:
        backend.warm(slot_key(args.device))
        one_run(
            manager,
            default_settings("keras_cnn", device=args.device, epochs=1, train_samples=256),
            "warm",
        )
        alone, watched, crowd, walls = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so a change in the machine's load hits both
            speed, wall = one_run(manager, settings, "alone")
            alone.append(speed)
            walls.append(wall)
            watched.append(
                one_run(manager, settings, "watched", running_watchers=1, queued_watchers=4)[0]
            )
            crowd.append(one_run(manager, settings, "crowd", running_watchers=5)[0])
        a, wall_alone = statistics.median(alone), statistics.median(walls)
        print(
            f"default run alone: {a:.2f} steps/s, {wall_alone:.1f} s from submit to end "
            f"({settings.steps_per_epoch * settings.epochs} steps)"
        )
        report(
            f"jobs_watched_ratio{sfx}",
            statistics.median(watched) / a,
            "x",
            "steps/s with 5 watchers (1 running view, 4 queued) / with none",
            ">= 0.85",
        )
        report(
            f"jobs_five_running_views_ratio{sfx}",
            statistics.median(crowd) / a,
            "x",
            "steps/s with 5 running views open on the run / with none",
        )
        report(
            f"jobs_watchers_cpu_share{sfx}",
            statistics.median(WATCH_SHARE),
            "cores",
            "CPU the simulated watchers use while a run is watched (median over watched runs)",
        )
        report(
            f"jobs_steps_per_s_alone{sfx}",
            a,
            "steps/s",
            f"default run on {args.device}, nobody watching",
        )
        start = time.perf_counter()
        jobs = [manager.submit(f"user{i}", args.device, _spec(settings)) for i in range(4)]
        for job in jobs:
            job.wait()
        total = time.perf_counter() - start
        assert all(j.result is not None for j in jobs), [j.error for j in jobs]
        report(
            f"jobs_four_at_once_ratio{sfx}",
            total / (4 * wall_alone),
            "x",
            f"four runs at once: {total:.1f} s / (4 x {wall_alone:.1f} s alone)",
            "<= 1.15",
        )
    finally:
        manager.shutdown()
        backend.close()


def _spec(settings):
    from explorer.training.job_manager import JobSpec

    return JobSpec("explorer.training.fit:run_training", {"settings": settings})


if __name__ == "__main__":
    main()
