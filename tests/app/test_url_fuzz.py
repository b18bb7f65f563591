"""Every URL parameter of every page, fuzzed with Hypothesis (issue 24, part 1): Unicode digits,
huge numbers, 100 kB strings, empty values and Markdown. Each page runs without an exception,
shows at most one "this link asked for..." notice, and writes nothing longer than MAX_RAW back
into the address (pages without URL settings, such as Home, leave a stranger's parameter as it
came; pages with them drop it)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from explorer.ui.navigation import PAGES as PAGE_DEFS
from explorer.ui.state import MAX_RAW
from tests.app.conftest import ROOT, open_app_page

PAGES = [p.file for p in PAGE_DEFS]


def _bound_names() -> tuple[str, ...]:
    """Every URL parameter name bound anywhere (``bind("name", ...)`` in app_pages/ and
    explorer/ui/), read from the source so that a new parameter is fuzzed without editing this
    file. Each page gets all of them: the ones it does not bind are dropped silently (done())."""
    direct = re.compile(r"""\bbind\(\s*["']([a-z0-9_]+)["']""")
    table = re.compile(r"""["']\w+["']:\s*\(["']([a-z0-9_]+)["'],""")  # Training's URL_FIELDS: key -> (name, valid)
    files = [*(ROOT / "app_pages").glob("*.py"), *(ROOT / "explorer" / "ui").rglob("*.py")]
    texts = [f.read_text(encoding="utf-8") for f in files]
    return tuple(sorted({m for t in texts for pattern in (direct, table) for m in pattern.findall(t)}))


NAMES = _bound_names()
SHARED = ("projector", "step")
NOTICE = "This link asked for settings"

hostile_values = st.one_of(
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),  # '٣', '²', '３'
    st.integers(1, 5000).map(lambda n: "9" * n),  # up to Python's integer-string limit
    st.sampled_from(["", " ", "1e400", "-1e400", "nan", "inf", "-0", "0x10", "1_000", "3,", ",", "1,2,3",
                     "x" * 100_000, "0," * 50_000, "![px](https://host/b.png)", "[Log in](https://host/x)",
                     "<script>alert(1)</script>", "**bold** :red[x]", "%00", "\x00", "1\n2"]),
    st.text(max_size=30),
)  # fmt: skip


def _check(at: AppTest, params: dict[str, str]) -> None:
    at.query_params.clear()
    at.query_params.update(params)
    at.run()
    assert not at.exception, (params, [e.value for e in at.exception])
    notices = [e for e in at.info if NOTICE in e.value]
    assert len(notices) <= 1, params
    for name in at.query_params:  # nothing long is written (a stranger's value may be left as it came)
        value = at.query_params[name]
        assert len(value) <= MAX_RAW or value == params.get(name), (name, params)


def test_the_collected_names_include_each_pages_parameters() -> None:
    assert {"step", "projector", "kernel", "arch", "unit", "lr", "text", "method"} <= {*NAMES, *SHARED}


@pytest.mark.parametrize("page", PAGES)
def test_every_url_parameter_of_every_page_survives_hostile_values(page: str) -> None:
    at = open_app_page(page, timeout=300)
    names = NAMES + SHARED

    @settings(max_examples=6, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.dictionaries(st.sampled_from(names), hostile_values, min_size=1, max_size=16))
    def run(params: dict[str, str]) -> None:
        _check(at, params)

    run()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("shift", [0, 3])
def test_all_parameters_hostile_at_once(page: str, shift: int) -> None:
    """The worst link: every parameter at once, each a different kind of hostile."""
    at = open_app_page(page, timeout=300)
    kinds = ["\u00b2", "9" * 5000, "\u0663", "x" * 100_000, "", "1e400", "![px](https://host/b.png)"]
    names = NAMES + SHARED
    _check(at, {n: kinds[(i + shift) % len(kinds)] for i, n in enumerate(names)})
