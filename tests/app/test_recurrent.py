"""AppTest: the Recurrent page with typed text, with a signal, and with bad input."""

from __future__ import annotations

import pytest

from explorer.data.sequences import VOCAB_SIZE
from explorer.ui.recurrent_views import VIEWS
from tests.app.conftest import open_app_page

PAGE = "app_pages/recurrent.py"


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def page():
    return open_app_page(PAGE).run()


def test_text_shows_every_lstm_heatmap_and_torchs_parameter_count(page) -> None:
    _ok(page)
    assert page.title[0].value == "Recurrent networks"
    charts = page.get("plotly_chart")
    assert len(charts) == 6  # i, f, g, o, c, h of the chosen layer
    metrics = {m.label: m.value for m in page.metric}
    expected = 4 * (32 * (VOCAB_SIZE + 32) + 2 * 32)  # one LSTM layer, 32 units, one-hot input
    assert metrics["Parameters (explicit cells)"] == f"{expected:,}"
    assert metrics["Parameters (torch.nn.LSTM)"] == f"{expected:,}"
    assert len(page.get("latex")) == 5  # the LSTM's equations


def test_sizes_are_bounded_by_the_widgets(page) -> None:
    layers = page.slider(key="rec_layers")
    hidden = page.slider(key="rec_hidden")
    assert (layers.min, layers.max) == (1, 4)
    assert (hidden.min, hidden.max) == (2, 256)


def test_stacked_bidirectional_gru_views(page) -> None:
    page.selectbox(key="rec_cell").set_value("gru").run()
    page.slider(key="rec_layers").set_value(2).run()
    page.toggle(key="rec_bidir").set_value(True).run()
    _ok(page)
    assert len(page.get("plotly_chart")) == 4  # r, z, n, h
    assert len(page.get("latex")) == 5  # torch's four GRU lines and Cho et al.'s form beside them
    assert any("Cho et al. (2014)" in c.value for c in page.caption)
    assert page.radio(key="rec_view").options == list(VIEWS)  # the page draws the registry
    expected = {
        "Heatmaps": 4,
        "Directions and layers": 2,
    }  # r, z, n, h; forward vs backward, layers stacked
    for title in VIEWS:  # every registered view, in the page's order
        page.radio(key="rec_view").set_value(title).run()
        _ok(page)
        charts = len(page.get("plotly_chart"))
        assert charts == expected[title] if title in expected else charts >= 1, title


def test_every_view_writes_its_own_url_token(page) -> None:
    tokens = [view.token for view in VIEWS.values()]
    assert len(set(tokens)) == len(tokens) == 6
    for title, view in VIEWS.items():
        page.radio(key="rec_view").set_value(title).run()
        _ok(page)
        assert page.query_params["view"] in ([view.token], view.token), title


def test_signal_input(page) -> None:
    page.radio(key="rec_kind").set_value("Signal").run()
    page.selectbox(key="rec_signal").set_value("adding").run()
    _ok(page)
    assert any(
        "Adding problem: the answer is the sum" in i.value.replace("\\", "") for i in page.info
    )
    assert len(page.get("plotly_chart")) == 1 + 6  # the signal itself, then the heatmaps
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Parameters (explicit cells)"] == f"{4 * (32 * (2 + 32) + 64):,}"


def test_empty_text_gives_a_message_and_keeps_the_page(page) -> None:
    page.text_area(key="rec_text").input("").run()
    _ok(page)
    assert [w.value for w in page.warning] == [
        "The text is empty: type a few words to see the network read them."
    ]
    assert page.subheader[-1].value == "Train and compare"


def test_unknown_characters_and_long_text_get_notes(page) -> None:
    page.text_area(key="rec_text").input("naïve " * 200).run()
    _ok(page)
    notes = [
        i.value.replace("\\", "") for i in page.info
    ]  # shown through escape_text: text, not Markdown
    assert any(n.startswith("The text has 1200 characters; only the first 1000") for n in notes)
    assert any("not in the vocabulary ('ï')" in n for n in notes)


def test_view_changes_reuse_the_cached_trace(page, monkeypatch) -> None:
    import explorer.ui.recurrent_cache as rc

    calls = []
    original = rc.trace  # patched where the cache looks it up, not where it is defined
    monkeypatch.setattr(rc, "trace", lambda *a, **k: calls.append(1) or original(*a, **k))
    page.slider(key="rec_hidden").set_value(23).run()  # a network no other test draws
    _ok(page)
    assert len(calls) == 1  # a new network is traced once: the counter sees real work
    page.radio(key="rec_view").set_value("Units").run()
    page.radio(key="rec_view").set_value("State norms").run()
    _ok(page)
    assert len(calls) == 1  # only the view changed: the trace came from the cache


def test_live_training_feeds_the_views(page) -> None:
    import time

    page.selectbox(key="rec_task").set_value("sine").run()
    page.select_slider(key="rec_train_steps_sine").set_value(50).run()
    page.select_slider(key="rec_train_hidden_sine").set_value(8).run()
    page.button(key="rec_train").click().run()
    _ok(page)
    for _ in range(120):  # the job runs in a background thread; rerun until it has finished
        if any(e.label.startswith("Finished: Sine forecasting") for e in page.expander):
            break
        time.sleep(0.5)
        page.run()
    _ok(page)
    table = next(
        d.value
        for d in page.dataframe
        if any(str(c).startswith("held-out") for c in d.value.columns)
    )
    held_out = next(c for c in table.columns if str(c).startswith("held-out"))
    assert (
        list(table["cell"]) == ["RNN", "GRU", "LSTM"] and table[held_out].notna().all()
    )  # fresh sequences
    options = page.selectbox(key="rec_source").options
    assert options[1:] == [
        f"{c} - Sine forecasting (next value) (50 steps)" for c in ("RNN", "GRU", "LSTM")
    ]
    page.selectbox(key="rec_source").set_value(options[3]).run()  # the trained LSTM
    _ok(page)
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Cell"] == "LSTM" and metrics["Trained steps"] == "50"
    assert "Final MSE" in metrics  # the task's metric, as the engine names it
    # a sine model reads the periodic signals (the engine's signals_for_task), not text
    assert page.selectbox(key="rec_signal").options == [
        "Sine wave",
        "Square wave",
        "Sawtooth wave",
        "Noisy sine (Gaussian noise)",
    ]
    page.radio(key="rec_view").set_value("Gradient flow").run()
    _ok(page)
    specs = [c.proto.spec for c in page.get("plotly_chart")]
    spec = next(s for s in specs if "at init" in s)  # the gradient-flow figure
    for label in ("RNN at init", "GRU at init", "LSTM at init", "RNN trained", "LSTM trained"):
        assert f'"name":"{label}"' in spec, label


def test_out_of_range_training_size_is_impossible(page) -> None:
    hidden = page.select_slider(key="rec_train_hidden_chars")
    assert hidden.options == ["8", "16", "32", "64", "128"]
    page.multiselect(key="rec_train_cells").set_value([]).run()
    page.button(key="rec_train").click().run()
    _ok(page)
    assert [e.value for e in page.error] == ["Choose at least one cell type to train."]
