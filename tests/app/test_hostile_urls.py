"""Hostile URL values (issue 24, part 1 and 6): the course step, the URL parsers and what the
app writes back into the address; a Hypothesis fuzz over every URL parameter of every page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui.state import MAX_RAW
from tests.app.conftest import open_app_page


@pytest.mark.parametrize(
    "raw", ["\u00b2", "9" * 5000, "\u0663", "1" * 4, "+3", " 3", "0", "21", "", "3\n"]
)
def test_a_hostile_course_step_is_ignored(raw: str) -> None:
    at = open_app_page("app_pages/architectures.py")
    at.query_params["step"] = raw
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Course step" in m.value for m in at.markdown)


def test_a_good_course_step_still_shows_its_bar() -> None:
    at = open_app_page("app_pages/architectures.py")
    at.query_params["arch"] = "vgg16"
    at.query_params["step"] = "011"  # 1-3 ASCII digits
    at.run()
    assert any("Course step 11 of 21" in m.value for m in at.markdown)


def _script() -> None:
    from explorer.ui.state import PageState

    url = PageState("demo")
    url.bind("channel", "d_ch", default=0, valid=range(64))
    url.bind("unit", ("d_row", "d_col"), default=(1, 1), valid=lambda u: max(u) < 8 and min(u) >= 0)
    url.bind("scale", "d_scale", default=0.5, valid=lambda v: 0 <= v <= 1)
    url.bind("erf", "d_erf", default=True)
    url.bind("name", "d_name", default="a", check_current=False)
    url.done()


def _demo(**params: str) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=30)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_parsers_take_ascii_numbers_only() -> None:
    # Python's int() and float() accept any Unicode decimal digit ('٣' is 3, '３' is 3);
    # a URL number is ASCII or it is refused.
    at = _demo(channel="\u0663", unit="\u0661,\uff12", scale="\u0660.5", erf="1")
    assert at.session_state["d_ch"] == 0 and (
        at.session_state["d_row"],
        at.session_state["d_col"],
    ) == (1, 1)
    assert at.session_state["d_scale"] == 0.5
    assert len(at.info) == 1
    for name in ("channel=", "unit=", "scale="):
        assert name in at.info[0].value
    # Plain ASCII spellings still arrive.
    at = _demo(channel="12", unit="3,4", scale="0.25", erf="0")
    assert (at.session_state["d_ch"], at.session_state["d_row"], at.session_state["d_scale"]) == (
        12,
        3,
        0.25,
    )
    assert at.session_state["d_erf"] is False and not at.info


def test_nothing_longer_than_max_raw_is_written_to_the_url() -> None:
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["d_name"] = "x" * (
        MAX_RAW + 1
    )  # a typed value the page keeps (check_current=False)
    at.run()
    assert not at.exception
    assert "name" not in at.query_params  # too long for a link: left out, not written
    at.session_state["d_name"] = "\u00e9" * MAX_RAW  # as long as a link may carry: kept
    at.run()
    assert at.query_params["name"] == "\u00e9" * MAX_RAW
    at.session_state["d_name"] = "short"
    at.run()
    assert at.query_params["name"] == "short"


def test_ascii_number_parsers() -> None:
    from explorer.ui.state import ascii_float, ascii_int

    assert ascii_int(" 42 ") == 42 and ascii_int("-3") == -3
    assert ascii_float("0.5") == 0.5 and ascii_float("-1e-3") == -0.001 and ascii_float(".5") == 0.5
    for bad in ("\u0663", "\uff13", "\u00b2", "1_000", "9" * 19, "", "0x10", "3.0"):
        with pytest.raises(ValueError):
            ascii_int(bad)
    for bad in ("\u0660.5", "1e400", "nan", "inf", "-Infinity", "1_0.5", "", "1e", "0x1p3"):
        with pytest.raises(ValueError):
            ascii_float(bad)


def test_bad_app_and_page_values_share_one_notice() -> None:
    # projector is the app's own parameter (its own PageState), n is the page's: one notice.
    at = open_app_page("app_pages/basics.py")
    at.query_params.update({"projector": "2", "sample": "\u0663\u0662"})
    at.run()
    assert not at.exception
    notices = [e.value for e in at.info if "This link asked" in e.value]
    assert len(notices) == 1 and "projector=2" in notices[0] and "sample=" in notices[0]
