"""Time left from a moving window: "estimating" until stable, then the recent rate, not the
cumulative one."""

from __future__ import annotations

import pytest

from explorer.training.events import eta_from_window
from explorer.viz.training import progress_text


def test_estimating_until_the_window_is_long_and_steady() -> None:
    assert eta_from_window([], [], 100) is None
    assert eta_from_window([1, 2, 3], [0.5, 0.6, 0.7], 100) is None  # 3 points
    assert eta_from_window([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], 100) is None  # spans 0.3 s
    # A slow warm-up then a fast pace: the halves disagree, still estimating.
    steps, times = [1, 2, 3, 4, 30, 60], [2.0, 3.0, 4.0, 5.0, 5.5, 6.0]
    assert eta_from_window(steps, times, 1000) is None


def test_recent_rate_not_the_cumulative_average() -> None:
    # 10 s of warm-up for the first step, then 10 steps per second for 30 s.
    times = [10.0 + k for k in range(31)]
    steps = [1 + 10 * k for k in range(31)]  # step 301 at t = 40 s
    eta = eta_from_window(steps, times, 1001)
    assert eta == pytest.approx(70.0)  # (1001 - 301) / 10 steps per s
    cumulative = (1001 - 301) / (301 / 40.0)
    assert cumulative == pytest.approx(93.0, abs=0.1)  # what the old estimate said


def test_progress_text() -> None:
    assert progress_text(1, 100, None, 50.0).endswith("estimating time left...")
    assert progress_text(10, 100, 75.0, 50.0).endswith("about 1 min 15 s left")
