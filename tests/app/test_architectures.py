"""AppTest: the Architectures page's diagram, node card, links to Feature maps and URL state."""

from tests.app.conftest import open_app_page


def _open(**params: str):  # noqa: ANN202
    at = open_app_page("app_pages/architectures.py")
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def _links(at) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return [(p.proto.label, p.proto.page, p.proto.query_string) for p in at.get("page_link")]


def test_picking_a_layer_shows_its_card_and_links_to_its_feature_maps() -> None:
    at = _open(arch="vgg16")
    assert not at.exception
    assert not at.get("page_link")  # nothing selected yet: no card
    at.selectbox(key="arch_layer").set_value("conv3_3").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "(56 - 3 + 2 x 1) / 1 + 1 = 56" in texts
    assert "3 x 3 x 256 x 256 + 256 = 590,080" in texts
    assert "3x3 / 1 / 1" in texts and "40" in texts  # k/s/p and the receptive field of conv3_3
    assert _links(at) == [
        ("Feature maps of conv3_3", "feature-maps", "arch=vgg16&layer=conv3_3&view=layer"),
        ("Filters of conv3_3", "feature-maps", "arch=vgg16&layer=conv3_3&view=filters"),
    ]
    assert at.query_params["layer"] == "conv3_3"
    assert at.multiselect(key="arch_open").value == ["block3"]  # its block opened in the diagram


def test_a_link_to_a_layer_opens_its_block_and_card() -> None:
    at = _open(arch="googlenet", layer="inception4c/3x3")
    assert not at.exception
    assert at.multiselect(key="arch_open").value == ["inception4c"]
    texts = [t.value for t in at.text]
    assert "(14 - 3 + 2 x 1) / 1 + 1 = 14" in texts
    assert (
        "3 x 3 x 128 x 256 = 294,912 (+ 512 of the folded batch norm)" in texts
    )  # no conv bias: BN follows
    labels = [label for label, _, _ in _links(at)]
    assert labels == ["Feature maps of inception4c/3x3", "Filters of inception4c/3x3"]


def test_a_block_card_links_to_the_block() -> None:
    at = _open(arch="resnet18", layer="stage2.block2")
    assert not at.exception
    assert at.markdown and any("stage 2, block 2" in m.value for m in at.markdown)
    assert _links(at) == [
        (
            "Feature maps of stage2.block2",
            "feature-maps",
            "arch=resnet18&layer=stage2.block2&view=layer",
        )
    ]


def test_bad_url_values_fall_back_with_one_notice() -> None:
    at = _open(arch="resnet1000", layer="<b>x</b>")
    assert not at.exception
    assert at.selectbox(key="arch_key").value == "resnet18"
    assert (
        len(at.info) == 1 and "arch=resnet1000" in at.info[0].value and "layer=" in at.info[0].value
    )
    assert "<b>" not in at.info[0].value  # shown escaped, never as HTML


def test_alexnet_at_32_pixels_names_the_layer() -> None:
    at = _open(arch="alexnet")
    at.number_input[0].set_value(32).run()
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("AlexNet cannot take a 3 x 32 x 32 input. Layer pool5")
    assert "(1 - 3 + 2 x 0) / 2 + 1 = 0 < 1" in at.error[0].value


def test_layer_table_has_names_paths_and_windows() -> None:
    at = _open(arch="vgg16")
    table = at.dataframe[0].value.set_index("layer")
    assert table.loc["conv5_3", "module"] == "features.28"
    assert (
        table.loc["conv5_3", "kernel"],
        table.loc["conv5_3", "stride"],
        table.loc["conv5_3", "padding"],
    ) == ("3", "1", "1")


def test_levels_and_colour_are_in_the_url() -> None:
    at = _open(arch="resnet50", level="layers", colour="MACs")
    assert not at.exception
    assert at.radio(key="arch_level").value == "Layers"
    assert at.selectbox(key="arch_colour").value == "MACs"
