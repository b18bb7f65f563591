"""Foundation figures: capture overhead, meta-device summary cost, server start to home page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median_seconds, report  # noqa: E402
from explorer.models import get_spec  # noqa: E402
from explorer.probe import capture, layer_infos  # noqa: E402


def bench_capture() -> None:
    model = get_spec("resnet18").build().eval()
    x = torch.randn(1, 3, 224, 224)
    layers = [
        i.name for i in layer_infos(model, inside_blocks=True) if i.role in ("conv", "act", "pool")
    ]

    def plain() -> None:
        with torch.no_grad():
            model(x)

    t_plain = median_seconds(plain, repeats=20, warmup=3)
    t_capture = median_seconds(lambda: capture(model, x, layers), repeats=20, warmup=3)
    report(
        "resnet18_forward_224",
        t_plain * 1e3,
        "ms",
        "ResNet-18 plain forward at 224x224 (CPU, batch 1)",
    )
    report(
        "resnet18_capture_224",
        t_capture * 1e3,
        "ms",
        f"capture of {len(layers)} conv/act/pool outputs",
    )
    report(
        "capture_over_forward_ratio", t_capture / t_plain, "x", "capture / plain forward", "<= 2.0"
    )


SUMMARY_PROBE = """
import resource, time, torch
from explorer.models import get_spec
from explorer.probe import summarize
spec = get_spec("vgg16")
summarize(get_spec("lenet5").build, (1, 32, 32))  # warm imports and the flop counter
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
s = summarize(spec.build, (3, 224, 224))
elapsed = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(elapsed, (after - before) / 1024, s.total_params)
"""


def bench_summary() -> None:
    times, peaks = [], []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", SUMMARY_PROBE],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        times.append(float(out[0]))
        peaks.append(float(out[1]))
    times.sort()
    peaks.sort()
    report(
        "vgg16_summary_time",
        times[1] * 1e3,
        "ms",
        "VGG-16 summary on the meta device (median of 3 processes)",
    )
    report(
        "vgg16_summary_peak_rss_increase",
        peaks[1],
        "MiB",
        "peak memory growth during it (real weights would be 528 MiB)",
        "no real weights",
    )


def bench_server_start() -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy

    timings = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(3):
            port = free_port()
            start = time.perf_counter()
            proc = start_server(port, {"EXPLORER_DEVICE": "cpu"})
            try:
                wait_healthy(port)
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                page.get_by_role("heading", name="Architecture Explorer").wait_for(timeout=60_000)
                timings.append(time.perf_counter() - start)
                page.close()
            finally:
                proc.terminate()
                proc.wait(timeout=10)
        browser.close()
    timings.sort()
    report(
        "server_start_to_home_visible",
        timings[1],
        "s",
        "`streamlit run app.py` to the home page visible in Chromium (median of 3)",
        "<= 4 s",
    )


if __name__ == "__main__":
    os.environ.setdefault("EXPLORER_DEVICE", "cpu")
    bench_capture()
    bench_summary()
    bench_server_start()
