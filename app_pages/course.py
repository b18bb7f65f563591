"""The course as a path: every step a link into the right page in the right state."""

import streamlit as st

from explorer.ui.course import STEPS, step_link
from explorer.ui.state import copy_link_control
from explorer.ui.tips import tips_section

title_col, link_col = st.columns([3, 1], vertical_alignment="bottom")
title_col.title("Course")
with link_col:
    copy_link_control("course")
st.caption(
    "The course in its teaching order. Each step opens a page in a prepared state; the "
    "page then shows previous / next links, so a lecture can walk the path. Every link "
    "also works on its own: put it on a slide."
)

part = None
for n, step in enumerate(STEPS, start=1):
    if step.part != part:
        part = step.part
        st.subheader(part)
    with st.container(border=True):
        step_link(n)
        st.markdown(step.text)

tips_section()  # the outline's tips, each linked to the view that proves it
