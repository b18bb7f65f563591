"""Keras files -> spec: every supported layer and whole models give Keras' own outputs (1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.models.spec_modules import model_from_spec_checkpoint

from .conftest import check_keras, keras_weight_count, ours_out

LAYERS = {
    "conv_valid": lambda L: L.Conv2D(4, 3),
    "conv_same": lambda L: L.Conv2D(4, 3, padding="same", activation="relu"),
    "conv_same_stride2": lambda L: L.Conv2D(
        4, 3, strides=2, padding="same"
    ),  # asymmetric: a pad node
    "conv_same_even_kernel": lambda L: L.Conv2D(4, 4, padding="same", activation="tanh"),
    "conv_strides": lambda L: L.Conv2D(5, (3, 2), strides=(2, 1), use_bias=False),
    "conv_dilation": lambda L: L.Conv2D(
        4, 3, dilation_rate=2, padding="same", activation="sigmoid"
    ),
    "conv_groups": lambda L: L.Conv2D(6, 3, groups=3, activation="elu"),
    "depthwise": lambda L: L.DepthwiseConv2D(
        3, depth_multiplier=2, padding="same", activation="relu6"
    ),
    "depthwise_stride2": lambda L: L.DepthwiseConv2D(3, strides=2, padding="same"),
    "separable": lambda L: L.SeparableConv2D(5, 3, padding="same", activation="silu"),
    "separable_valid": lambda L: L.SeparableConv2D(4, 3, depth_multiplier=2, use_bias=False),
    "max_pool_valid": lambda L: L.MaxPooling2D(2),
    "max_pool_same": lambda L: L.MaxPooling2D(3, strides=2, padding="same"),
    "avg_pool_valid": lambda L: L.AveragePooling2D(3, strides=2),
    "avg_pool_same_symmetric": lambda L: L.AveragePooling2D(3, strides=1, padding="same"),
    "global_avg": lambda L: L.GlobalAveragePooling2D(),
    "global_max_keepdims": lambda L: L.GlobalMaxPooling2D(keepdims=True),
    "batch_norm": lambda L: L.BatchNormalization(epsilon=1e-2),
    "dropout": lambda L: L.Dropout(0.4),
    "zero_padding": lambda L: L.ZeroPadding2D(((1, 2), (0, 3))),
    "activation_relu": lambda L: L.Activation("relu"),
    "activation_softmax": lambda L: L.Activation("softmax"),
    "activation_gelu": lambda L: L.Activation("gelu"),
    "relu_max": lambda L: L.ReLU(max_value=0.5),
    "relu_slope": lambda L: L.ReLU(negative_slope=0.1),
    "leaky_relu": lambda L: L.LeakyReLU(negative_slope=0.2),
    "elu": lambda L: L.ELU(alpha=0.7),
    "softmax_axis": lambda L: L.Softmax(axis=1),
    "rescaling": lambda L: L.Rescaling(1 / 127.5, offset=-1),
    "normalization": lambda L: L.Normalization(mean=[0.2, 0.5, 0.1], variance=[0.04, 0.25, 1.0]),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_each_layer_equals_keras(keras, tmp_path, name):
    inp = keras.Input((9, 9, 3))
    x = keras.layers.Rescaling(2.0, offset=-1.0)(
        inp
    )  # values in [-1, 1): activations see negatives too
    model = keras.Model(inp, LAYERS[name](keras.layers)(x))
    imported = check_keras(model, tmp_path)
    assert sum(p.numel() for p in imported.build().parameters()) == keras_weight_count(model)


def test_dense_after_flatten_permutes_rows(keras, tmp_path):
    L = keras.layers
    inp = keras.Input((6, 5, 3))
    x = L.Flatten()(L.Conv2D(4, 3, activation="relu")(inp))
    out = L.Dense(3, activation="softmax")(L.Dropout(0.1)(L.Dense(7, activation="leaky_relu")(x)))
    imported = check_keras(keras.Model(inp, out), tmp_path)
    flatten = next(n for n in imported.spec.nodes if n.op == "flatten")
    assert flatten.args == {"channels_last": False}  # PyTorch's order; the Dense rows were permuted


def test_flatten_as_output_keeps_keras_order(keras, tmp_path):
    inp = keras.Input((4, 3, 2))
    imported = check_keras(
        keras.Model(inp, keras.layers.Flatten()(keras.layers.Conv2D(3, 2)(inp))), tmp_path
    )
    assert imported.spec.nodes[-1].args == {"channels_last": True}


def course_cnn(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            L.Conv2D(32, (3, 3), activation="relu"),
            L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"),
            L.MaxPooling2D((2, 2)),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dense(1, activation="sigmoid"),
        ]
    )


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_course_cnn(keras, tmp_path, fmt):
    model = course_cnn(keras)
    imported = check_keras(model, tmp_path, fmt=fmt)
    net = imported.build()
    assert sum(p.numel() for p in net.parameters()) == model.count_params()
    assert [n.name for n in imported.spec.nodes] == [layer.name for layer in model.layers]
    assert imported.source == ("keras" if fmt == "keras" else "h5")


def test_residual_functional(keras, tmp_path):
    L = keras.layers
    inp = keras.Input((16, 16, 3))
    x = L.Rescaling(1 / 255)(inp)
    x = L.Conv2D(8, 3, padding="same", use_bias=False)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    for _ in range(2):
        y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
        y = L.BatchNormalization()(L.Conv2D(8, 3, padding="same")(y))
        x = L.ReLU()(L.Add()([x, y]))
    y = L.Conv2D(16, 1, strides=2)(x)
    x = L.Add()([y, L.Conv2D(16, 3, strides=2, padding="same")(x)])
    out = L.Dense(4, activation="softmax")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(inp, out)
    imported = check_keras(model, tmp_path, scale=255.0, isolate=True)
    assert imported.pixel_range == (0.0, 255.0) and imported.preprocessing == [model.layers[1].name]
    buffers = sum(b.numel() for k, b in imported.build().state_dict().items() if "running_" in k)
    assert sum(p.numel() for p in imported.build().parameters()) + buffers == model.count_params()


def test_inception_concatenation(keras, tmp_path):
    L = keras.layers
    inp = keras.Input((12, 12, 3))
    a = L.Conv2D(4, 1, activation="relu")(inp)
    b = L.Conv2D(6, 3, padding="same", activation="relu")(L.Conv2D(3, 1, activation="relu")(inp))
    c = L.Conv2D(2, 5, padding="same", activation="relu")(inp)
    d = L.Conv2D(2, 1)(L.MaxPooling2D(3, strides=1, padding="same")(inp))
    x = L.Concatenate()([a, b, c, d])
    x = L.MaxPooling2D(2)(x)
    out = L.Dense(3)(L.Flatten()(x))
    model = keras.Model(inp, out)
    imported = check_keras(model, tmp_path)
    assert sum(p.numel() for p in imported.build().parameters()) == model.count_params()
    check_keras(model, tmp_path, fmt="h5")


def test_depthwise_separable(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            L.ZeroPadding2D(1),
            L.Conv2D(8, 3, strides=2, use_bias=False),
            L.BatchNormalization(),
            L.ReLU(max_value=6.0),
            L.DepthwiseConv2D(3, padding="same", use_bias=False),
            L.BatchNormalization(),
            L.ReLU(6.0),
            L.Conv2D(16, 1),
            L.SeparableConv2D(16, 3, strides=2, padding="same", activation="relu"),
            L.GlobalAveragePooling2D(),
            L.Dropout(0.2),
            L.Dense(5),
        ]
    )
    check_keras(model, tmp_path)


def test_avg_pool_same_asymmetric_follows_tensorflow(keras, tmp_path):
    """Keras 'same' average pooling with an odd padding: the padded cells are not counted
    (TensorFlow's rule; Keras' torch backend pads by replicating the edge instead)."""
    inp = keras.Input((5, 5, 1))
    model = keras.Model(inp, keras.layers.AveragePooling2D(2, padding="same")(inp))
    path = tmp_path / "m.keras"
    model.save(str(path))
    from explorer.models.imports import import_model

    imported = import_model(path.read_bytes(), "m.keras", isolate=False)
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    out = ours_out(imported, x)[0, :, :, 0]
    assert out[2, 2] == 24.0 and out[0, 2] == (4 + 9) / 2 and out[0, 0] == (0 + 1 + 5 + 6) / 4


def test_checkpoint_rebuilds_strictly(keras, tmp_path):
    imported = check_keras(course_cnn(keras), tmp_path)
    data = imported.checkpoint()
    model, spec, meta = model_from_spec_checkpoint(data)
    assert spec == imported.spec and meta.arch == "imported"
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), imported.build()(x), atol=0, rtol=0)
    assert [name for name, _ in model.named_children()] == [n.name for n in spec.nodes]


def test_layers_are_leaves_and_image_nodes(keras, tmp_path):
    from explorer.models.spec import image_nodes

    imported = check_keras(course_cnn(keras), tmp_path)
    net = imported.build()
    assert all(
        not list(m.children()) for _, m in net.named_children()
    )  # the activation is no child module
    names = [n.name for n in imported.spec.nodes]
    conv = getattr(net, names[0])
    assert conv.activation == "relu" and "activation=relu" in repr(conv)
    assert image_nodes(imported.spec) == names[:4]  # conv, pool, conv, pool; not flatten or dense


def test_tf_keras_2_h5_layout(keras, tmp_path):
    """An .h5 as tf.keras 2 wrote it: 'batch_input_shape', inbound nodes as nested lists,
    weights under model_weights/<layer>/<layer>/kernel:0 listed in 'weight_names'."""
    import json

    import h5py

    L = keras.layers
    inp = keras.Input((8, 8, 3), name="input_1")
    a = L.Conv2D(4, 3, padding="same", activation="relu", name="conv2d")(inp)
    b = L.Conv2D(4, 1, name="conv2d_1")(inp)
    x = L.Add(name="add")([a, b])
    out = L.Dense(2, activation="softmax", name="dense")(L.GlobalAveragePooling2D(name="gap")(x))
    model = keras.Model(inp, out)

    def layer(cls, name, inbound, **config):
        nodes = [[[i, 0, 0, {}] for i in inbound]] if inbound else []
        return {
            "class_name": cls,
            "name": name,
            "config": {"name": name, **config},
            "inbound_nodes": nodes,
        }

    layers = [
        layer("InputLayer", "input_1", [], batch_input_shape=[None, 8, 8, 3], dtype="float32"),
        layer(
            "Conv2D",
            "conv2d",
            ["input_1"],
            filters=4,
            kernel_size=[3, 3],
            strides=[1, 1],
            padding="same",
            activation="relu",
            use_bias=True,
            data_format="channels_last",
            dilation_rate=[1, 1],
            groups=1,
        ),
        layer(
            "Conv2D",
            "conv2d_1",
            ["input_1"],
            filters=4,
            kernel_size=[1, 1],
            activation="linear",
            use_bias=True,
        ),
        layer("Add", "add", ["conv2d", "conv2d_1"]),
        layer("GlobalAveragePooling2D", "gap", ["add"]),
        layer("Dense", "dense", ["gap"], units=2, activation="softmax", use_bias=True),
    ]
    config = {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": layers,
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["dense", 0, 0]],
        },
    }
    path = tmp_path / "tf2.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(config).encode()
        root = h5.create_group("model_weights")
        for name in ("conv2d", "conv2d_1", "dense"):
            weights = model.get_layer(name).get_weights()
            names = [f"{name}/kernel:0", f"{name}/bias:0"]
            group = root.create_group(name)
            group.attrs["weight_names"] = [n.encode() for n in names]
            for n, w in zip(names, weights, strict=True):
                group[n] = w
    from explorer.models.imports import import_model

    imported = import_model(path.read_bytes(), "tf2.h5", isolate=False)
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    from .conftest import keras_out

    np.testing.assert_allclose(ours_out(imported, x), keras_out(model, x), atol=1e-4, rtol=1e-4)
