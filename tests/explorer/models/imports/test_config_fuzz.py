"""Hypothesis: random JSON-ish Keras configs never raise anything but ModelImportError."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.models.imports import ModelImportError
from explorer.models.imports.keras_layers import SUPPORTED
from explorer.models.imports.keras_model import convert_keras

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["same", "valid", "relu", "softmax", "channels_last", "x", "", "linear"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "activation",
    "units",
    "pool_size",
    "axis",
    "rate",
    "use_bias",
    "groups",
    "depth_multiplier",
    "dilation_rate",
    "scale",
    "offset",
    "mean",
    "variance",
    "batch_shape",
    "keepdims",
    "max_value",
    "negative_slope",
    "epsilon",
    "name",
    "data_format",
]
layer = st.fixed_dictionaries(
    {
        "class_name": st.one_of(
            st.sampled_from(list(SUPPORTED) + ["Lambda", "Custom"]), json_values
        ),
        "config": st.one_of(
            st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6), json_values
        ),
    },
    optional={
        "name": json_values,
        "inbound_nodes": json_values,
        "module": json_values,
        "registered_name": json_values,
    },
)
model = st.fixed_dictionaries(
    {
        "class_name": st.one_of(st.sampled_from(["Sequential", "Functional"]), json_values),
        "config": st.one_of(
            st.fixed_dictionaries(
                {"layers": st.lists(layer, max_size=6)},
                optional={
                    "input_layers": json_values,
                    "output_layers": json_values,
                    "name": json_values,
                },
            ),
            json_values,
        ),
    },
    optional={"build_config": json_values},
)


def _weights(arrays):
    def weights_of(index, entry):
        return arrays

    weights_of.prepare = lambda layers: None
    return weights_of


INPUT = {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 3], "name": "in"}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=st.one_of(model, json_values),
    shapes=st.lists(st.lists(st.integers(1, 4), max_size=4), max_size=3),
    with_input=st.booleans(),
)
def test_random_configs_raise_only_import_errors(config, shapes, with_input):
    if with_input and isinstance(config, dict) and isinstance(config.get("config"), dict):
        layers = config["config"].get("layers")
        if isinstance(layers, list):
            layers.insert(0, INPUT)
    arrays = [np.ones(s, np.float32) for s in shapes]
    try:
        convert_keras(config, _weights(arrays))
    except ModelImportError as err:
        assert str(err) and "\n" not in str(err)
