"""The Feature maps layer a diagram node's card links to: one that page lists, showing the node's output."""

import pytest

from explorer.probe.graph import catalog_graph
from explorer.viz.diagram.links import feature_layers_of, feature_map_target


@pytest.mark.parametrize(
    ("key", "level", "name", "path", "token"),
    [
        ("vgg16", "layers", "conv3_1", "features.11", "relu3_1"),  # conv +ReLU: the ReLU's maps
        ("vgg16", "layers", "pool3", "features.16", "pool3"),
        ("vgg16", "layers", "fc6", None, None),  # a vector: no maps
        ("resnet18", "blocks", "stage2.block2", "layer2.1", "stage2.block2"),
        ("resnet18", "blocks", "pool1", "maxpool", "pool1"),
        (
            "googlenet",
            "layers",
            "inception4c/3x3",
            "inception4c",
            "inception4c",
        ),  # inside: the module
        ("nin", "blocks", "mlpconv1", "0.5", "relu_cccp2"),  # the block's last ReLU is its output
    ],
)
def test_each_node_links_to_the_layer_that_shows_its_output(key, level, name, path, token) -> None:
    graph = catalog_graph(key)
    layers = feature_layers_of(key).tokens
    target = feature_map_target(graph, graph.view(level).find(name), layers)
    assert target == path
    assert (layers[target] if target else None) == token
