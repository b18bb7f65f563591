"""Dataset examples (Zeiler & Fergus 2014): equal to brute force; crops equal the engine's fields."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.models.weights import load_bundled
from explorer.probe import dataset_examples as de
from explorer.probe.capture import capture, hook_count
from explorer.probe.erf import support_box
from explorer.probe.feature_vis import FeatureVisError
from explorer.probe.summary import summarize


@pytest.fixture(scope="module")
def lenet_and_images() -> tuple[torch.nn.Module, torch.Tensor]:
    model, _ = load_bundled("lenet5")
    images, _, _ = de.dataset_images("digits", n=300)
    return model, images


@pytest.mark.parametrize("layer", ["0", "3"])  # C1 and C3, both convolutions (no ReLU ties at 0)
def test_top_k_equals_brute_force_argmax(lenet_and_images, layer: str) -> None:
    model, images = lenet_and_images
    top = de.compute(de.top_examples(model, images, layer, k=5, batch_size=64))  # several batches
    act = capture(model, images, [layer])[layer]  # N x C x H x W
    per_image = act.flatten(2).max(dim=2).values  # N x C
    for c in range(act.shape[1]):
        expected = torch.sort(per_image[:, c], descending=True, stable=True)
        assert top.indices[c].tolist() == expected.indices[:5].tolist()
        assert torch.allclose(top.values[c], expected.values[:5])
        for ex in top.top(c):
            assert act[ex.index, c, ex.row, ex.col] == pytest.approx(ex.value)


def test_each_crop_is_the_engines_receptive_field_and_holds_the_units_gradient(
    lenet_and_images,
) -> None:
    model, images = lenet_and_images
    top = de.compute(de.top_examples(model, images, "3", k=4))
    field = summarize(model, (1, 28, 28)).fields["3"]
    assert top.field == field
    for c in (0, 7, 15):
        for ex in top.top(c):
            t, left, b, r = field.box(ex.row, ex.col)
            assert ex.box == (
                max(0, int(np.ceil(t))),
                max(0, int(np.ceil(left))),
                min(27, int(np.floor(b))),
                min(27, int(np.floor(r))),
            )
            x = images[ex.index : ex.index + 1].clone().requires_grad_(True)
            out = model[:4](x)  # C1 -> ReLU -> S2 -> C3
            out[0, c, ex.row, ex.col].backward()
            support = support_box(x.grad[0, 0].abs().numpy())
            assert support is not None
            assert ex.box[0] <= support[0] and ex.box[1] <= support[1]
            assert support[2] <= ex.box[2] and support[3] <= ex.box[3]
            assert de.crop(images[ex.index], ex.box).shape[1:] == (
                ex.box[2] - ex.box[0] + 1,
                ex.box[3] - ex.box[1] + 1,
            )


def test_one_unit_mode_ranks_that_units_value(lenet_and_images) -> None:
    model, images = lenet_and_images
    top = de.compute(de.top_examples(model, images, "0", k=3, unit=(10, 12)))
    act = capture(model, images, ["0"])["0"][:, :, 10, 12]
    assert (
        top.indices[2].tolist()
        == torch.sort(act[:, 2], descending=True, stable=True).indices[:3].tolist()
    )
    assert {(e.row, e.col) for e in top.top(2)} == {(10, 12)}


def test_bad_inputs_and_cancel(lenet_and_images) -> None:
    model, images = lenet_and_images
    top = de.compute(de.top_examples(model, images[:10], "0", k=3))
    with pytest.raises(FeatureVisError) as err:
        top.top(6)
    assert str(err.value) == "Channel 6 is out of range: layer '0' has 6 channels (0 to 5)."
    last_linear = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)][-1]
    with pytest.raises(FeatureVisError) as err:
        next(de.top_examples(model, images, last_linear))
    assert str(err.value) == (
        f"Layer {last_linear!r} has no spatial output, so its units have no receptive field: "
        "pick a convolution, activation, pooling or block layer."
    )
    # cancelled half-way: the pass runs on a private copy, the shared model is never hooked
    was_training = model.training
    events = de.top_examples(model, images, "0", batch_size=50)
    assert next(events).done == 50
    assert hook_count(model) == 0
    events.close()
    assert hook_count(model) == 0 and model.training == was_training


def test_sample_photos_and_own_images_fit_the_model_input(tmp_path) -> None:
    from explorer.data.images import GREY_WEIGHTS, Preprocessing, preprocess
    from explorer.data.samples import list_samples, load_sample

    x, names = de.sample_images(Preprocessing(size=28, channels=1, mean=(0.5,), std=(0.5,)))
    assert names == tuple(s.name for s in list_samples())
    assert x.shape == (len(names), 1, 28, 28)
    plain = preprocess(load_sample(names[0]), Preprocessing(size=28, channels=1)).x[0]
    assert torch.equal(x[0], plain)  # the page's own preprocessing, without its normalisation
    rgb = torch.rand(2, 3, 32, 32)
    grey = de.fit_images(rgb, 1, 32)
    w = torch.tensor(GREY_WEIGHTS)[:, None, None]
    assert torch.allclose(grey[:, 0], (rgb * w).sum(1), atol=1e-6)
    assert de.fit_images(rgb, 3, 64).shape == (2, 3, 64, 64)


def test_own_images_come_from_the_users_folder(tmp_path) -> None:
    import io

    from PIL import Image

    from explorer.data.image_sets import from_images

    def png(colour: tuple[int, int, int]) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (40, 40), colour).save(buf, format="PNG")
        return buf.getvalue()

    from_images({"red": [png((255, 0, 0))] * 5, "blue": [png((0, 0, 255))] * 5}, tmp_path / "me")
    x = de.own_images(str(tmp_path / "me"), 3, 28, n=7)
    assert x.shape == (7, 3, 28, 28) and float(x.min()) >= 0 and float(x.max()) <= 1
    with pytest.raises(ValueError, match="expired or were cleared"):
        de.own_images(str(tmp_path / "nobody"), 3, 28)


def test_a_pass_over_big_images_searches_fewer() -> None:
    assert de.images_within(128 * 2**20, 3 * 32 * 32, 1000, 8) == 1000
    assert de.images_within(128 * 2**20, 3 * 224 * 224, 1000, 8) == 222
    assert de.images_within(10, 3 * 224 * 224, 1000, 8) == 8
