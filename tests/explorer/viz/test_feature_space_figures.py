"""The feature-space scatter and the hierarchy grid: exact traces, pixels and titles."""

from __future__ import annotations

import numpy as np

from explorer.viz.feature_space import (
    feature_scatter,
    hierarchy_figure,
    hierarchy_montage,
    selected_index,
)


def test_scatter_has_one_trace_per_present_class_with_image_indices() -> None:
    points = np.arange(12, dtype=np.float32).reshape(6, 2)
    fig = feature_scatter(
        points, [0, 2, 0, 2, 2, 0], ["a", "b", "c"], method="tsne", probe_accuracy=0.875
    )
    assert [t.name for t in fig.data] == ["a", "c"]
    assert list(fig.data[0].customdata) == [0, 2, 5] and list(fig.data[1].x) == [2.0, 6.0, 8.0]
    assert fig.layout.title.text == "Feature space (t-SNE) - linear probe accuracy 88%"
    assert fig.layout.xaxis.title.text == "t-SNE 1"


def test_a_clicked_point_names_its_image_by_customdata_or_by_trace_and_index() -> None:
    labels, classes = [0, 2, 0, 2, 2, 0], ["a", "b", "c"]
    # Streamlit's selection event: customdata as plotly sends it (a list), or only the position
    assert (
        selected_index([{"curve_number": 1, "point_index": 2, "customdata": [4]}], labels, classes)
        == 4
    )
    assert (
        selected_index([{"curve_number": 1, "point_index": 2}], labels, classes) == 4
    )  # 2nd trace: c
    assert selected_index([{"curve_number": 0, "point_number": 1}], labels, classes) == 2
    assert selected_index([], labels, classes) is None
    assert selected_index([{"curve_number": 2, "point_index": 0}], labels, classes) is None
    assert selected_index([{"curve_number": 0, "point_index": 3}], labels, classes) is None


def test_hierarchy_montage_places_each_tile_and_pads_short_rows() -> None:
    grey = np.full((4, 4, 1), 10, np.uint8)
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    img = hierarchy_montage([[grey, grey], [red]], tile=8, gap=2)
    assert img.shape == (18, 18, 3)
    assert (img[:8, :8] == 10).all() and (img[:8, 10:18] == 10).all()
    assert (img[10:, :8, 0] == 255).all() and (img[10:, :8, 1] == 0).all()
    assert (img[10:, 10:] == 255).all()  # the empty cell is the white gap colour
    assert (img[8:10] == 255).all()


def test_hierarchy_figure_rows_are_named_by_layer() -> None:
    tiles = [[np.zeros((5, 5, 3), np.uint8)] * 2, [np.zeros((5, 5, 1), np.uint8)]]
    fig = hierarchy_figure(
        tiles, ["early: conv1", "late: stage 4, block 2 / conv2"], [["ch 0", "ch 9"], ["ch 3"]]
    )
    assert len(fig.data) == 3 and fig.data[2].z.shape == (5, 5, 3)
    texts = [a.text for a in fig.layout.annotations]
    assert {"ch 0", "ch 9", "ch 3", "early<br>conv1", "late<br>stage 4, block 2<br>/ conv2"} <= set(
        texts
    )
    label = next(a for a in fig.layout.annotations if a.text == "early<br>conv1")
    top_row = fig.get_subplot(1, 1).yaxis.domain
    assert label.xanchor == "right" and top_row[0] < label.y < top_row[1]  # left of its own row
