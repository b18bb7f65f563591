"""Every URL parameter of every page, fuzzed with Hypothesis (issue 24, part 1): Unicode digits,
huge numbers, 100 kB strings, empty values and Markdown. Each page runs without an exception,
shows at most one "this link asked for..." notice, and writes nothing longer than MAX_RAW back
into the address."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from explorer.ui.state import MAX_RAW
from tests.app.conftest import open_app_page

# Every name a page binds (grep "bind(" in app_pages/ and explorer/ui/), plus the shared ones.
PAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "app_pages/home.py": (),
    "app_pages/course.py": (),
    "app_pages/basics.py": ("sample", "n", "f", "pad", "p", "s", "d", "kernel"),
    "app_pages/architectures.py": ("arch", "level", "colour", "layer"),
    "app_pages/feature_maps.py": ("arch", "weights", "sample", "view", "layer", "sort", "scale", "channel", "unit"),
    "app_pages/training.py": ("model", "dataset", "optimizer", "schedule", "lr", "batch", "epochs", "wd",
                              "momentum", "train", "val", "seed", "augment", "difficulty"),
    "app_pages/recurrent.py": ("cell", "layers", "hidden", "direction", "nonlin", "input", "view"),
    "app_pages/experiments.py": (),
}  # fmt: skip
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
    for name in at.query_params:
        assert len(at.query_params[name]) <= MAX_RAW, (name, params)


@pytest.mark.parametrize("page", list(PAGE_PARAMS))
def test_every_url_parameter_of_every_page_survives_hostile_values(page: str) -> None:
    at = open_app_page(page, timeout=300)
    names = PAGE_PARAMS[page] + SHARED

    @settings(max_examples=6, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.dictionaries(st.sampled_from(names), hostile_values, min_size=1, max_size=len(names)))
    def run(params: dict[str, str]) -> None:
        _check(at, params)

    run()


@pytest.mark.parametrize("page", [p for p, names in PAGE_PARAMS.items() if names])
def test_all_parameters_of_a_page_hostile_at_once(page: str) -> None:
    """The worst link: every parameter at once, each a different kind of hostile."""
    at = open_app_page(page, timeout=300)
    kinds = ["\u00b2", "9" * 5000, "\u0663", "x" * 100_000, "", "1e400", "![px](https://host/b.png)"]
    names = PAGE_PARAMS[page] + SHARED
    _check(at, {n: kinds[i % len(kinds)] for i, n in enumerate(names)})
    assert len([e for e in at.info if NOTICE in e.value]) == 1
