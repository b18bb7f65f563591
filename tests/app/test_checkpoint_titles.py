"""A checkpoint of the residual twin with 30 blocks is titled by its own depth on the page
that shows it (issue 24, "Also": it said "(20 layers)")."""

from __future__ import annotations

import torch

from explorer.models import get_spec
from explorer.models.checkpoint import CheckpointMeta, save_checkpoint
from tests.app.conftest import open_app_page


def test_a_30_block_twin_is_titled_with_62_layers_on_feature_maps() -> None:
    torch.manual_seed(0)
    build = {"in_channels": 3, "num_classes": 10, "image_size": 32, "blocks": 30}
    data = save_checkpoint(
        get_spec("residual_deep").build(**build), CheckpointMeta(arch="residual_deep", build=build)
    )
    at = open_app_page("app_pages/feature_maps.py", timeout=240)
    at.query_params.update({"arch": "residual_deep", "weights": "upload"})
    at.run()
    at.file_uploader(key="fm_ckpt").set_value(
        ("deep.safetensors", data, "application/octet-stream")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(e.value for e in [*at.success, *at.caption]).replace("\\", "")
    assert "Its residual twin (62 layers) - uploaded checkpoint" in shown
    assert "(20 layers) - uploaded" not in shown
