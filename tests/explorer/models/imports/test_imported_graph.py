"""An imported model's diagram and layer table name its scaling layers for what they are."""

from __future__ import annotations

from pathlib import Path

from explorer.models.imports import import_model, import_model_file
from explorer.probe.graph import build_graph
from explorer.probe.summary import summarize
from explorer.viz.diagram import KIND_NAMES

ASSETS = Path(__file__).resolve().parents[4] / "assets" / "models"


def test_course_cnn_rescaling_is_a_rescale_node_not_an_addition():
    imported = import_model_file(ASSETS / "course_cnn.keras", isolate=False)
    graph = build_graph(imported.build(), imported.input_shape)
    kinds = {n.name: n.kind for n in graph.nodes}
    assert kinds["rescaling"] == "scale"
    assert KIND_NAMES["scale"] == "rescale x*s+o"
    assert not [n.name for n in graph.nodes if n.kind == "add"]  # a sequential model
    # the rescaling reads the input and feeds the first convolution, one edge each way
    assert ("input", "rescaling") in {(e.src, e.dst) for e in graph.edges}
    assert ("rescaling", "conv1") in {(e.src, e.dst) for e in graph.edges}
    rows = {r.name: r.type for r in summarize(imported.build(), imported.input_shape).rows}
    assert rows["rescaling"] == "Rescale"


def test_keras_normalization_is_a_normalisation_node(keras, tmp_path):
    L = keras.layers
    inputs = keras.Input((8, 8, 3))
    x = L.Normalization(mean=[0.2, 0.5, 0.1], variance=[0.04, 0.25, 1.0], name="norm")(inputs)
    x = L.Conv2D(4, 3, name="conv")(x)
    model = keras.Model(inputs, L.Add(name="plus")([x, x]))
    path = tmp_path / "m.keras"
    model.save(str(path))
    imported = import_model(path.read_bytes(), path.name, isolate=False)
    graph = build_graph(imported.build(), imported.input_shape)
    kinds = {n.name: n.kind for n in graph.nodes}
    assert kinds["norm"] == "norm" and KIND_NAMES["norm"] == "normalisation"
    # a real addition of two traced tensors still is one
    assert [n.name for n in graph.nodes if n.kind == "add"] == ["plus"]
    rows = {r.name: r.type for r in summarize(imported.build(), imported.input_shape).rows}
    assert rows["norm"] == "Normalize"
