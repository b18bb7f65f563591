"""A stable anonymous id per browser, so a reload keeps the user's trained models and jobs.

Streamlit's session id changes on every reload (a new websocket). The browser id lives in a
first-party cookie, `explorer_browser`, read from the websocket handshake with
`st.context.cookies`. A browser without the cookie (first visit, AppTest) gets a fresh random id
for this session, and `ensure_cookie()` (called by the shared sidebar on every page) writes it to
the cookie with a one-line same-origin script, so the next session of the same browser finds the
same id. The id is never put in a URL: a link shared with a class must not carry the lecturer's
jobs. It is an anonymous capability (128 random bits), not an account.

    from explorer.ui.identity import browser_id
    owner = browser_id()   # "b" + 32 hex digits, stable for this browser
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

COOKIE = "explorer_browser"
MAX_AGE_S = 30 * 24 * 3600  # a month: a course term's worth of reloads, then it is forgotten
_SESSION_KEY = "_browser_id"
_WRITTEN_KEY = "_browser_cookie_written"
_VALID = re.compile(r"b[0-9a-f]{32}")


def _new_id() -> str:
    return "b" + secrets.token_hex(16)


def _cookie_id() -> str | None:
    """The id from the browser's cookie, if it has a well-formed one."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this session (AppTest, bare script)
        return None
    return value if isinstance(value, str) and _VALID.fullmatch(value) else None


def browser_id() -> str:
    """This browser's anonymous id: from its cookie, else one made for this session (and
    written to the cookie by `ensure_cookie`). Safe to call anywhere in a script run."""
    sid = st.session_state.get(_SESSION_KEY)
    if sid is None:
        sid = _cookie_id() or _new_id()
        st.session_state[_SESSION_KEY] = sid
    return sid


def ensure_cookie() -> None:
    """Write this session's id to the browser's cookie once, when the browser did not send it.

    A tiny script in the main document (`st.html` with JavaScript allowed; the string is ours,
    never user input): SameSite=Lax, path=/, no expiry beyond `MAX_AGE_S`."""
    sid = browser_id()
    if _cookie_id() == sid or st.session_state.get(_WRITTEN_KEY) == sid:
        return
    st.session_state[_WRITTEN_KEY] = sid
    assert _VALID.fullmatch(sid)  # only our own hex id reaches the script
    secure = "; Secure" if _is_https() else ""
    st.html(
        f"<script>document.cookie = '{COOKIE}={sid}; path=/; max-age={MAX_AGE_S}; "
        f"SameSite=Lax{secure}';</script>",
        unsafe_allow_javascript=True,
    )


def _is_https() -> bool:
    try:
        return (st.context.url or "").startswith("https:")
    except Exception:
        return False
