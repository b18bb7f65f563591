"""Entry point: page config, navigation over app_pages/, the CPU threads (once per process, before
the first page that computes), the shared sidebar. It only routes, and loads no torch for Home."""

import streamlit as st

from explorer.ui.common import sidebar
from explorer.ui.course import course_bar
from explorer.ui.heap import freeze_loaded
from explorer.ui.navigation import PAGES
from explorer.ui.server_log import setup_logging

setup_logging()  # the engine's log lines (job ends, worker losses, reaps) to stderr, once
st.set_page_config(page_title="Architecture Explorer", layout="wide")
page = st.navigation(
    [
        st.Page(p.file, title=p.title, url_path=p.url_path or None, default=i == 0)
        for i, p in enumerate(PAGES)
    ]
)
if page.url_path:  # Home computes nothing and loads no torch (a quick start); every other page does
    from explorer.device import configure_threads
    from explorer.ui.browser_jobs import server_settings

    configure_threads(
        "server", cpu_jobs=int(server_settings()["cpu_jobs"])
    )  # once per process (docs/architecture.md)
sidebar()
course_bar(page.url_path)
try:
    page.run()
finally:  # what this run loaded for good (torch, a model) leaves Streamlit's per-run GC
    freeze_loaded()
