"""Figure style: safe, wrapped titles; predictions as categories; the palette."""

from explorer.viz.maps import predictions_figure
from explorer.viz.theme import OKABE_ITO, safe_title


def test_safe_title_wraps_and_escapes() -> None:
    text, lines = safe_title("Top 5: my <b>model</b> " + "x" * 100, width=40)
    assert "<b>" not in text and "&lt;b&gt;" in text
    assert lines == text.count("<br>") + 1 >= 3
    assert all(len(part) <= 60 for part in text.split("<br>"))  # escaped entities add a little


def test_predictions_are_categories_with_escaped_names() -> None:
    fig = predictions_figure(["8", "<i>3</i>", "2"], [0.6, 0.3, 0.1], title="Top 3: " + "y" * 120)
    assert fig.layout.yaxis.type == "category"
    assert list(fig.data[0].y) == ["2", "&lt;i&gt;3&lt;/i&gt;", "8"]  # most probable on top
    assert fig.layout.title.text.count("<br>") >= 1
    assert fig.data[0].marker.color == OKABE_ITO[0]
