"""Real browser: type a sentence on the Recurrent page and see the LSTM's heatmaps."""

from tests.e2e.helpers import assert_no_exception, open_page, save_screenshot, wait_idle

SENTENCE = "Gates decide what to keep."


def test_typed_sentence_shows_heatmaps(app_server, browser_page) -> None:
    page = browser_page
    open_page(page, app_server, "recurrent")
    box = page.get_by_label("Text (character by character, up to 1,000 characters)")
    box.fill(SENTENCE)
    box.press("Control+Enter")  # Streamlit applies a text area on Ctrl+Enter
    wait_idle(page)
    assert_no_exception(page)
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(5).wait_for()
    assert charts.count() == 6  # i, f, g, o, c, h
    # The time axis names the characters typed: "0 G", "1 a", ... (the space shows as a visible mark)
    heatmap = charts.first
    assert heatmap.locator("text", has_text="0 G").count() == 1
    assert heatmap.locator("text", has_text="25 .").count() == 1
    page.get_by_text("hidden state h (layer 1)").first.wait_for()
    save_screenshot(page, "recurrent-typed-sentence")


def test_gradient_flow_view(app_server, browser_page) -> None:
    page = browser_page
    open_page(page, app_server, "recurrent")
    page.get_by_text("Gradient flow", exact=True).click()
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_text("LSTM at init").first.wait_for()
    page.locator('[data-testid="stPlotlyChart"]').last.scroll_into_view_if_needed()
    save_screenshot(page, "recurrent-gradient-flow")
