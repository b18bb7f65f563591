"""Convolution basics: the course's building blocks one topic at a time (the image as numbers,
convolution and its sliding window, stride and padding, ReLU, pooling, global average pooling,
the output layer and its loss; colour channels and weight sharing), each computed by PyTorch's
own operators. A course step opens its topic (`?topic=`) first and whole."""

import streamlit as st

from explorer.ui.basics_sections import draw_topic, header
from explorer.ui.state import PageState

st.title("Convolution basics")
url = PageState("basics")
ctx = header(url)
draw_topic(ctx)
url.done()
url.copy_link()
