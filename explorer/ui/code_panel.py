"""The code panel: a catalog model as PyTorch code to copy or download (and, for the course's
Keras CNN, the Keras original beside its PyTorch twin)."""

from __future__ import annotations

import streamlit as st

from explorer.probe.codegen import CodegenError, GeneratedCode, pytorch_code
from explorer.probe.keras_twin import keras_code, keras_modern_code, keras_twin_code


@st.cache_data(max_entries=64, show_spinner=False)
def _generated(spec_key: str) -> GeneratedCode:
    return pytorch_code(spec_key)


def _keras_and_twin(spec_key: str) -> None:
    """The course's Keras CNN: its Keras code and its PyTorch twin side by side, line for line,
    each with a download, then the same model in today's Keras 3 style."""
    st.markdown(
        "The course's Keras code, printed as the course writes it, and its PyTorch twin: "
        "**line n of one is line n of the other** up to `model.fit`, whose one line is "
        "a six-line loop in PyTorch (the same layers, the same parameter count)."
    )
    left, right = st.columns(2)
    with left:
        st.caption("Keras (the course)")
        st.code(keras_code(), language="python", line_numbers=True, wrap_lines=True)
        st.download_button(
            "Download keras_cnn_keras.py",
            keras_code(),
            file_name="keras_cnn_keras.py",
            mime="text/x-python",
            key=f"code_dl_keras_{spec_key}",
        )
    with right:
        st.caption("PyTorch (the twin)")
        st.code(keras_twin_code(), language="python", line_numbers=True, wrap_lines=True)
        st.download_button(
            "Download keras_cnn_torch.py",
            keras_twin_code(),
            file_name="keras_cnn_torch.py",
            mime="text/x-python",
            key=f"code_dl_twin_{spec_key}",
        )
    st.caption(
        "The same model in today's Keras 3 style (not the course's text: keras.Input replaces "
        "input_shape on the first layer, which Keras 3 warns about):"
    )
    st.code(keras_modern_code(), language="python")
    st.caption("The full generated definition, runnable as printed:")


def _generated_definition(generated: GeneratedCode, spec_key: str) -> None:
    """The generated PyTorch definition: what it builds, the code, and its .py download."""
    st.caption(
        f"Generated from the catalog entry: runs as printed (python {generated.filename}) and builds "
        f"the same model: {generated.params:,} parameters; a {generated.in_words} input gives a "
        f"{' x '.join(map(str, generated.out_shape))} output (a batch of one). "
        "Weights are random."
    )
    st.code(generated.code, language="python")
    st.download_button(
        f"Download {generated.filename}",
        generated.code,
        file_name=generated.filename,
        mime="text/x-python",
        key=f"code_dl_{spec_key}",
    )


def code_panel(spec_key: str, *, expanded: bool = False) -> None:
    """A toggle that shows the model's PyTorch definition (copy button on the code, a download
    button for the .py file). Nothing is generated or sent until the toggle is on: the code of a
    large model is long, and a page's other downloads stay what they are."""
    if not st.toggle(
        "Show this model as code (PyTorch)", value=expanded, key=f"code_show_{spec_key}"
    ):
        return
    with st.container(border=True):
        from explorer.ui.own_model import own_code

        if own_code(spec_key):  # an imported model: code from its spec
            return
        try:
            generated = _generated(spec_key)
        except (CodegenError, KeyError) as err:
            st.info(str(err).strip("'\""))
            return
        if spec_key == "keras_cnn":
            _keras_and_twin(spec_key)
        _generated_definition(generated, spec_key)
