"""Real browser: start a short training run, see the loss curve grow and the run finish."""

from __future__ import annotations

import time

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle

# Number of points of the first plotly chart's first trace (the training loss), or -1.
POINTS_JS = """() => {
  const plots = document.querySelectorAll('.js-plotly-plot');
  if (!plots.length || !plots[0].data || !plots[0].data.length) return -1;
  return plots[0].data[0].x.length;
}"""


def set_number(page, label: str, value: int) -> None:
    # The run's own settings come first; the transfer and own-images panels below repeat some labels.
    box = page.get_by_label(label, exact=True).first
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def test_short_training_run_grows_the_curve_and_finishes(app_server, browser_page) -> None:
    page = browser_page
    open_page(page, app_server, "training")
    assert_no_exception(page)
    set_number(page, "Training images", 1200)
    set_number(page, "Epochs", 3)
    page.get_by_role("button", name="Start", exact=True).click()
    seen: list[int] = []
    finished = page.get_by_text("Run finished after 3.00 epoch(s)")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        n = page.evaluate(POINTS_JS)
        if n > 0 and (not seen or n != seen[-1]):
            seen.append(n)
        if len(seen) == 2:
            save_screenshot(page, "training-running")
        if finished.count() > 0:
            break
        time.sleep(0.3)
    assert finished.count() > 0, f"the run did not finish; loss points seen: {seen}"
    assert len(seen) >= 2 and seen == sorted(seen), f"the loss curve did not grow: {seen}"
    wait_idle(page)  # the fragment's last poll triggers one full rerun that re-enables the settings
    page.get_by_text("Confusion matrix (test set)").first.wait_for()
    page.get_by_text("Misclassified test images").or_(
        page.get_by_text("No test image was misclassified")
    ).first.wait_for()
    save_screenshot(page, "training-finished-top")
    page.get_by_role("button", name="Download checkpoint (.safetensors)").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Download checkpoint (.safetensors)").count() == 1
    assert_no_exception(page)
    save_screenshot(page, "training-finished")
    # Streamlit scrolls an inner container: bring the end-of-run results into view for a look.
    page.get_by_text("Confusion matrix (test set)").first.scroll_into_view_if_needed()
    save_screenshot(page, "training-results")
