"""Every URL parameter of every page, fuzzed with Hypothesis (issue 24, part 1): Unicode digits,
huge numbers, 100 kB strings, empty values and Markdown. Each page runs without an exception,
shows at most one "this link asked for..." notice, and writes nothing longer than MAX_RAW back
into the address (pages without URL settings, such as Home, leave a stranger's parameter as it
came; pages with them drop it)."""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from explorer.ui.navigation import PAGES as PAGE_DEFS
from explorer.ui.state import MAX_RAW
from tests.app.conftest import ROOT, open_app_page

PAGES = [p.file for p in PAGE_DEFS]


def _module_strings(tree: ast.Module, name: str) -> list[str]:
    """The string constants of a module-level ``NAME = [...]`` (or tuple / set)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return [
                c.value
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
    return []


def _fstring_names(call: ast.Call, tree: ast.Module, parents: dict[ast.AST, ast.AST]) -> set[str]:
    """``bind(f"z_{c}", ...)`` inside ``for ... c ... in <iterable>``: the name for every string that
    the loop's iterable draws from (its literal strings and those of module-level lists it names),
    e.g. z_cat, z_dog, z_car for ``for c in CLASSES``. Empty when the placeholder cannot be resolved."""
    fstr = call.args[0]
    assert isinstance(fstr, ast.JoinedStr)
    names = {""}
    for part in fstr.values:
        if isinstance(part, ast.Constant):
            names = {n + str(part.value) for n in names}
            continue
        var = (
            part.value.id
            if isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name)
            else None
        )
        node, values = call, []
        while var and node in parents and not values:
            node = parents[node]
            if isinstance(node, ast.For) and any(
                isinstance(t, ast.Name) and t.id == var for t in ast.walk(node.target)
            ):
                for sub in ast.walk(node.iter):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        values.append(sub.value)
                    elif isinstance(sub, ast.Name):
                        values += _module_strings(tree, sub.id)
        if not values:
            return set()
        names = {n + v for n in names for v in values}
    return names


def _bound_names() -> tuple[str, ...]:
    """Every URL parameter name bound anywhere (``.bind("name", ...)`` in app_pages/ and
    explorer/ui/, through a page's PageState or a helper that forwards to it), read from the
    source so that a new parameter is fuzzed without editing this file; a name built in a loop
    (``bind(f"z_{c}", ...)`` over ``CLASSES``) is expanded over the loop's strings, and an
    f-string name this cannot expand fails the collection rather than being skipped. Training's
    URL_FIELDS table (key -> (name, valid)) is read too. Each page gets all of them: the ones it
    does not bind are dropped silently (done())."""
    table = re.compile(r"""["']\w+["']:\s*\(["']([a-z0-9_]+)["'],""")
    files = [*(ROOT / "app_pages").glob("*.py"), *(ROOT / "explorer" / "ui").rglob("*.py")]
    found: set[str] = set()
    for file in files:
        text = file.read_text(encoding="utf-8")
        found.update(table.findall(text))
        tree = ast.parse(text)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for call in ast.walk(tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "bind"
                and call.args
            ):
                continue
            first = call.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                expanded = _fstring_names(call, tree, parents)
                assert expanded, (
                    f"{file.name}:{call.lineno}: a URL name built as {ast.unparse(first)} not expanded"
                )
                found |= expanded
    return tuple(sorted(found))


NAMES = _bound_names()
SHARED = ("projector", "step")
NOTICE = "This link asked for settings"

hostile_values = st.one_of(
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),  # '٣', '²', '３'
    st.integers(1, 5000).map(lambda n: "9" * n),  # up to Python's integer-string limit
    st.sampled_from(
        [
            "",
            " ",
            "1e400",
            "-1e400",
            "nan",
            "inf",
            "-0",
            "0x10",
            "1_000",
            "3,",
            ",",
            "1,2,3",
            "x" * 100_000,
            "0," * 50_000,
            "![px](https://host/b.png)",
            "[Log in](https://host/x)",
            "<script>alert(1)</script>",
            "**bold** :red[x]",
            "%00",
            "\x00",
            "1\n2",
        ]
    ),
    st.text(max_size=30),
)


def _check(at: AppTest, params: dict[str, str]) -> None:
    at.query_params.clear()
    at.query_params.update(params)
    at.run()
    assert not at.exception, (params, [e.value for e in at.exception])
    notices = [e for e in at.info if NOTICE in e.value]
    assert len(notices) <= 1, params
    for (
        name
    ) in at.query_params:  # nothing long is written (a stranger's value may be left as it came)
        value = at.query_params[name]
        assert len(value) <= MAX_RAW or value == params.get(name), (name, params)


def test_the_collected_names_include_each_pages_parameters() -> None:
    assert {"step", "projector", "kernel", "arch", "unit", "lr", "text", "method"} <= {
        *NAMES,
        *SHARED,
    }


BASICS = (
    "topic",
    "stride",
    "padding",
    "dilation",
    "bias",
    "grid",
    "input",
    "pos",
    "size",
    "filters",
    "shown",
    "window",
    "pstride",
    "ppad",
    "z",
    "y",
    "z_cat",
    "z_dog",
    "z_car",
    "true",
)  # bound in explorer/ui/basics_*.py


def test_the_collected_names_include_the_basics_parameters_bound_through_helpers() -> None:
    """Convolution basics binds its parameters in explorer/ui/basics_*.py, through bind_conv and in a loop
    (z_cat, z_dog, z_car): every one of them is fuzzed, and so are Recurrent's view settings (ctx.bind)."""
    assert set(BASICS) <= set(NAMES), sorted(set(BASICS) - set(NAMES))
    assert {"q", "len", "wrt", "log", "fb", "dir"} <= set(NAMES)


@pytest.mark.parametrize("page", PAGES)
def test_every_url_parameter_of_every_page_survives_hostile_values(page: str) -> None:
    at = open_app_page(page, timeout=300)
    names = NAMES + SHARED

    @settings(
        max_examples=6,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.dictionaries(st.sampled_from(names), hostile_values, min_size=1, max_size=16))
    def run(params: dict[str, str]) -> None:
        _check(at, params)

    run()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("shift", [0, 3])
def test_all_parameters_hostile_at_once(page: str, shift: int) -> None:
    """The worst link: every parameter at once, each a different kind of hostile."""
    at = open_app_page(page, timeout=300)
    kinds = [
        "\u00b2",
        "9" * 5000,
        "\u0663",
        "x" * 100_000,
        "",
        "1e400",
        "![px](https://host/b.png)",
    ]
    names = NAMES + SHARED
    _check(at, {n: kinds[(i + shift) % len(kinds)] for i, n in enumerate(names)})
