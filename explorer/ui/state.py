"""A view is an address: a page's settings read from the URL, kept across pages, written back.

Streamlit forgets the state of every widget that is not drawn in a run, so a setting chosen on
Feature maps is gone after a visit to Home, and nothing of it is in the address bar. A page
declares each setting once, right before the widget that shows it:

    from explorer.ui.state import PageState

    url = PageState("feature-maps")        # once, near the top: places the one notice
    url.bind("arch", "fm_arch", default="resnet18", valid=keys)
    arch = st.selectbox("Architecture", keys, key="fm_arch")   # no index= / value= on it
    url.bind("channel", "fm_channel", default=0, valid=range(n_channels))
    url.bind("view", "fm_view", default="Overview", valid=VIEWS, url={"Layer detail": "layer"})
    ...
    url.keep("fm_alpha", 0.6)               # remembered across pages, not in the URL
    url.copy_link()                         # "Copy link to this view" (anywhere on the page)
    url.not_in_link("your uploaded image (the link opens with the sample cat)")  # said in the popover
    ...
    url.done()                              # drop parameters not bound in this run; fill the link

`bind(name, key, default, valid, ...)` puts a valid value into `st.session_state[key]` before
the widget is created and writes it to `st.query_params[name]`. Which value wins, in order:

1. a parameter that has just arrived in the URL (a link, a reload, a course step: any value
   that differs from what this page last wrote there),
2. the widget's current value (the user's latest choice),
3. this browser session's copy of the setting (kept outside the widget keys, so it survives
   a visit to another page),
4. `default`.

A value that does not parse or is not `valid` falls back to the next one; a bad URL value is
listed in one `st.info` notice at the top of the page (values escaped: shown as text, never as
Markdown). `valid` is a collection (list, tuple, set, dict keys, `range`) or a predicate.
The parser follows the type of `default` (str, int, float, bool, tuple of ints written
"3,4"); `url` maps values to shorter URL tokens (both spellings are accepted on arrival);
`parse`/`fmt` override both; `omit_default=True` leaves a default value out of the URL;
`check_current=False` applies `valid` to URL values only (a page that explains a bad typed value
itself, as Training does, keeps it). `key` may be a tuple of widget keys for a tuple value (a unit's
row and column in two number inputs). `bind` returns the value it settled on.

Parameters every page shares (`GLOBAL_PARAMS`: projector mode, the course step) are never
removed by a page. The URL never carries anything personal: the browser's identity lives in a
cookie (explorer.ui.identity).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.ui.url_values import ascii_float, ascii_int, escape_text
from explorer.ui.view_link import (  # noqa: F401  re-exported: pages import them from here
    _link_body,
    app_base_url,
    copy_link_control,
    current_params,
    page_link_url,
)

GLOBAL_PARAMS: tuple[str, ...] = ("projector", "step")
MAX_RAW = 200  # longer URL values are refused before parsing
_STORE = "_url_state"  # session_state: {page: {"values": {name: value}, "written": {name: str}}}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class _Invalid(ValueError):
    """A URL value that does not parse or is not allowed here."""


def _parser_for(default: Any) -> Callable[[str], Any]:
    if isinstance(default, bool):

        def parse_bool(raw: str) -> bool:
            low = raw.strip().lower()
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise _Invalid("not 0/1")

        return parse_bool
    if isinstance(default, int):
        return ascii_int
    if isinstance(default, float):
        return ascii_float
    if isinstance(default, tuple):
        return lambda raw: tuple(ascii_int(p) for p in raw.split(","))
    return lambda raw: raw


def _formatter_for(default: Any) -> Callable[[Any], str]:
    if isinstance(default, bool):
        return lambda v: "1" if v else "0"
    if isinstance(default, tuple):
        return lambda v: ",".join(str(int(p)) for p in v)
    if isinstance(default, float):
        return lambda v: f"{v:g}"
    return str


def _is_valid(value: Any, valid: Collection | Callable[[Any], bool] | None) -> bool:
    if valid is None:
        return True
    try:
        if callable(valid) and not isinstance(valid, Collection):
            return bool(valid(value))
        if isinstance(valid, range) and not isinstance(value, int):
            return False
        return value in valid
    except Exception:  # an odd value type in a set or a predicate that raised: not valid
        return False


@dataclass
class PageState:
    """One page's URL parameters for one run of the page (see the module docstring)."""

    page: str
    _bad: list[str] = field(default_factory=list)
    _bound: set[str] = field(default_factory=set)
    _done: bool = False
    _link_box: Any = None
    _stays_here: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._notice, self._shown = _run_notice()
        store = st.session_state.setdefault(_STORE, {})
        self._mine = store.setdefault(self.page, {"values": {}, "written": {}})

    # ------------------------------------------------------------------ reading and seeding

    def bind(
        self,
        name: str,
        key: str | tuple[str, ...],
        default: Any,
        valid: Collection | Callable[[Any], bool] | None = None,
        *,
        url: Mapping[Any, str] | None = None,
        parse: Callable[[str], Any] | None = None,
        fmt: Callable[[Any], str] | None = None,
        omit_default: bool = False,
        check_current: bool = True,
    ) -> Any:
        """Seed ``st.session_state[key]`` with the value this view should show, remember it,
        and write it to the URL; returns the value. Call it before the widget is created."""
        parse = parse or _parser_for(default)
        fmt = fmt or _formatter_for(default)
        to_url = dict(url or {})
        from_url = {tok: v for v, tok in to_url.items()}
        chosen, have = self._arrived(name, from_url, parse, valid)
        if not have:
            chosen, have = self._held(name, key, valid, check_current)
        if not have:
            chosen = default

        if _read(key) != chosen:
            _write(key, chosen)
        self._mine["values"][name] = chosen
        token = to_url.get(chosen) if _hashable(chosen) and chosen in to_url else fmt(chosen)
        self._publish(name, token, omit_default and chosen == default)
        self._bound.add(name)
        return chosen

    def _arrived(
        self,
        name: str,
        from_url: dict[str, Any],
        parse: Callable[[str], Any],
        valid: Collection | Callable[[Any], bool] | None,
    ) -> tuple[Any, bool]:
        """(value, True) when the URL has just brought a valid value of ``name``; a refused one
        gets its notice."""
        raw = _query_value(name)
        if raw is None or raw == self._mine["written"].get(name):  # nothing new arrived
            return None, False
        try:
            if len(raw) > MAX_RAW:
                raise _Invalid("too long")
            value = from_url[raw] if raw in from_url else parse(raw)
            if not _is_valid(value, valid):
                raise _Invalid("not allowed")
            return value, True
        except (ValueError, TypeError, KeyError):
            self._refuse(name, raw)
            return None, False

    def _held(
        self,
        name: str,
        key: str | tuple[str, ...],
        valid: Collection | Callable[[Any], bool] | None,
        check_current: bool,
    ) -> tuple[Any, bool]:
        """(value, True) from the widget's current value or this session's copy, when valid."""
        current = _read(key)
        if current is not None and not check_current:  # the page judges typed values
            return current, True
        for candidate in (current, self._mine["values"].get(name)):
            if candidate is not None and _is_valid(candidate, valid):
                return candidate, True
        return None, False

    def _publish(self, name: str, token: str, omit: bool) -> None:
        """Write ``name=token`` to the URL, or leave it out: ``omit`` (a default kept off links) or
        a token over MAX_RAW characters (refused on arrival; see README "Behind a TLS reverse proxy")."""
        written = self._mine["written"]
        if omit or len(token) > MAX_RAW:
            written.pop(name, None)
            if name in st.query_params:
                del st.query_params[name]
        else:
            written[name] = token
            if _query_value(name) != token:
                st.query_params[name] = token

    def keep(
        self, key: str, default: Any, valid: Collection | Callable[[Any], bool] | None = None
    ) -> Any:
        """Like `bind`, for a setting that is remembered across pages but not put in the URL
        (the image source, an opacity): seed ``st.session_state[key]`` before its widget."""
        store = self._mine.setdefault("kept", {})
        chosen = default
        for candidate in (_read(key), store.get(key)):
            if candidate is not None and _is_valid(candidate, valid):
                chosen = candidate
                break
        if _read(key) != chosen:
            _write(key, chosen)
        store[key] = chosen
        return chosen

    def arriving(self, name: str) -> bool:
        """Whether the URL carries a new value of ``name`` in this run (a link was opened)."""
        raw = _query_value(name)
        return raw is not None and raw != self._mine["written"].get(name)

    def remembered(self, name: str, default: Any = None) -> Any:
        """This session's copy of a setting of this page (e.g. to build a summary line before
        the widgets are drawn)."""
        return self._mine["values"].get(name, default)

    def forget(self, name: str) -> None:
        """Drop a parameter from the URL and from this session's copy (a setting that no
        longer applies, such as the channel of a layer that is not shown)."""
        self._mine["values"].pop(name, None)
        self._mine["written"].pop(name, None)
        if name in st.query_params:
            del st.query_params[name]

    def done(self) -> None:
        """Remove from the URL every parameter not bound in this run (it does not describe what
        is on screen; remembered values are kept for later; `GLOBAL_PARAMS` stay), and fill
        the "Copy link to this view" control placed earlier by `copy_link`."""
        for name in list(self._mine["written"]):
            if name not in self._bound and name not in GLOBAL_PARAMS:
                self._mine["written"].pop(name)
                if name in st.query_params:
                    del st.query_params[name]
        # Parameters this view does not use (a layer in the overview, a stranger's "?x=..."):
        # out of the address, silently, so the address describes the screen.
        for name in [n for n in st.query_params if n not in self._bound and n not in GLOBAL_PARAMS]:
            del st.query_params[name]
        self._done = True
        self._fill_link()

    def copy_link(self) -> None:
        """Place the "Copy link to this view" control here. Its link is written at once and
        again by `done()`, the page's last call, after every `bind` of the run: a control at the
        top of the page carries the settings bound below it and the values changed in this run,
        so it always equals the address bar (a run cut short by ``st.stop`` keeps the first)."""
        self._link_box = st.popover("Copy link to this view").empty()
        self._fill_link()

    def _fill_link(self) -> None:
        if self._link_box is not None:
            with self._link_box.container():
                _link_body(self.page, self._stays_here)

    def not_in_link(self, what: str) -> None:
        """Say in the copy-link popover which part of this view cannot travel in a link and
        what a link opens instead ("your uploaded image is not in the link: it opens with the
        sample cat"). Call it before `done()`."""
        if what not in self._stays_here:
            self._stays_here.append(what)

    # ------------------------------------------------------------------ the notice

    def _refuse(self, name: str, raw: str) -> None:
        self._bad.append(f"{name}={escape_text(raw)}")
        self._shown.append(self._bad[-1])
        self._mine["written"][name] = raw  # seen: do not complain again on the next rerun
        self._notice.info(
            "This link asked for settings that do not apply here, so defaults are shown "
            f"instead: {', '.join(self._shown)}."
        )

    @property
    def refused(self) -> list[str]:
        """The URL parameters refused in this run, as shown in the notice (for tests)."""
        return list(self._bad)


# ---------------------------------------------------------------------- helpers


def _run_notice() -> tuple[Any, list[str]]:
    """This run's one notice and its list, shared by every PageState of the run (the app's,
    for ``projector``, and the page's); the first PageState of a run places it."""
    ctx = get_script_run_ctx()
    if ctx is None:  # bare mode
        return st.empty(), []
    held = st.session_state.get("_url_notice")
    if held is None or held[0] is not ctx.cursors:  # `cursors` is a new dict in every run
        held = st.session_state["_url_notice"] = (ctx.cursors, st.empty(), [])
    return held[1], held[2]


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _query_value(name: str) -> str | None:
    """The last value of a URL parameter, or None."""
    if name not in st.query_params:
        return None
    values = st.query_params.get_all(name)
    return values[-1] if values else None


def _read(key: str | tuple[str, ...]) -> Any:
    if isinstance(key, tuple):
        parts = [st.session_state.get(k) for k in key]
        return None if any(p is None for p in parts) else tuple(parts)
    return st.session_state.get(key)


def _write(key: str | tuple[str, ...], value: Any) -> None:
    if isinstance(key, tuple):
        for k, v in zip(key, value, strict=True):
            st.session_state[k] = v
    else:
        st.session_state[key] = value
