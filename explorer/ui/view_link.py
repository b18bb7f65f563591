"""The copied link: the absolute address of a view of this app, and the popover that shows it.

Read by `PageState.copy_link` (explorer.ui.state) and by pages without a PageState.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st


def app_base_url(context_url: str | None, base_url_path: str = "") -> str:
    """The app's root address (scheme, host and any base path, no trailing slash) from the
    browser's URL of the current page, or "" when that is unknown.

    ``st.context.url`` is the page's address without its query string: the app's root, then
    the current page's path (nothing for the home page). Streamlit may be served under a
    ``server.baseUrlPath`` or behind a proxy that adds a prefix of its own, so the root is
    the URL with the page's last path segment removed, not a configured host: a segment is a
    page's only when it names one of the app's pages and is not the base path itself."""
    if not context_url:
        return ""
    parts = urlsplit(context_url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    base_path = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    if last in _page_paths() and path != base_path:
        path = head
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


def _page_paths() -> set[str]:
    from explorer.ui.navigation import PAGES  # pure data; imported late to keep this module light

    return {p.url_path for p in PAGES if p.url_path}


def _context_url() -> str | None:
    try:
        return st.context.url
    except Exception:  # no browser context (AppTest, bare mode)
        return None


def page_link_url(url_path: str, params: Mapping[str, Any] | None = None) -> str:
    """The absolute address of page ``url_path`` of this app with ``params`` (when the
    browser's URL is known), else a relative one. The page's path appears once, whichever
    page the browser is on (see `app_base_url`)."""
    try:
        base_url_path = str(st.get_option("server.baseUrlPath") or "")
    except Exception:  # an unknown option in an odd runtime: no base path
        base_url_path = ""
    base = app_base_url(_context_url(), base_url_path)
    query = urlencode({k: str(v) for k, v in (params or {}).items()})
    path = f"{base}/{url_path}" if base or url_path else "/"
    return path + (f"?{query}" if query else "")


def looks_for_link(label: str, layer: str, **page: str) -> None:
    """A link to Feature maps' "What it looks for" on one layer (its URL token), in its
    one-channel mode; ``page`` adds the page's own parameters (arch, weights). The one home of
    that address, for the links that open it (the node card on Architectures)."""
    st.page_link(
        "app_pages/feature_maps.py",
        label=label,
        query_params={**page, "view": "looks", "lf": "channel", "layer": layer},
        help="Feature maps' 'What it looks for' on this layer: the input each channel responds "
        "to most, made by gradient ascent, beside the dataset images that excite it.",
    )


def current_params() -> dict[str, str]:
    """The URL's parameters now (last value of each)."""
    return {k: st.query_params[k] for k in st.query_params}


def _link_body(url_path: str, stays_here: Collection[str] = ()) -> None:
    params = {k: v for k, v in current_params().items() if k != "step"}
    st.code(page_link_url(url_path, params), language=None, wrap_lines=True)
    st.caption(
        "Anyone who opens this link sees this view: same page, model, weights and "
        "settings. It carries nothing personal: your uploads and trained models stay with "
        "you (a link to them falls back to a default)."
    )
    for what in stays_here:
        st.caption(f"Not in this link: {what}.")


def copy_link_control(url_path: str) -> None:
    """ "Copy link to this view" for a page without a PageState: the full address of this view
    in a code box (its copy button puts it on the clipboard; on a plain-http classroom server,
    where browsers refuse the clipboard, the text can be selected by hand)."""
    with st.popover("Copy link to this view"):
        _link_body(url_path)
