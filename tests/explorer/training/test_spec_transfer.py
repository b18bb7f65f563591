"""Fine-tuning an imported model: its spec and weights travel with the job as plain data, the
worker checks them before building anything, a new head appears when the classes differ, the
data are made to fit the model's own input, and the result names the trained spec."""

from __future__ import annotations

import pytest
import torch

from explorer.data.datasets import Splits, load_dataset
from explorer.models.imported_entry import own_key
from explorer.models.init import build_seeded
from explorer.models.spec import ModelSpec, spec_from_obj
from explorer.models.spec_modules import build_model, model_from_spec
from explorer.training.events import EpochEnd, drain
from explorer.training.job_manager import JobManager, JobSpec, JobState
from explorer.training.settings import OWN_SOURCE, TrainSettings
from explorer.training.spec_transfer import (
    MAX_SPEC_CHARS,
    ScaleInput,
    build_spec_transfer,
    check_spec_source,
    fits_input,
    head_node,
    no_fit_message,
    spec_source,
    to_spec_input,
    trained_spec,
    with_classes,
)
from explorer.training.transfer import TransferInfo, run_transfer
from explorer.training.transfer_weights import TransferError

# A small Keras-like CNN: colour 16 x 16 input, one sigmoid output (as the course's model).
TINY = {
    "input_shape": [3, 16, 16],
    "title": "tiny",
    "nodes": [
        {
            "name": "conv1",
            "op": "conv2d",
            "inputs": ["input"],
            "args": {"in_channels": 3, "out_channels": 4, "kernel": [3, 3], "activation": "relu"},
        },
        {"name": "pool1", "op": "max_pool2d", "inputs": ["conv1"], "args": {"kernel": [2, 2]}},
        {"name": "flatten", "op": "flatten", "inputs": ["pool1"], "args": {}},
        {"name": "drop", "op": "dropout", "inputs": ["flatten"], "args": {"p": 0.1}},
        {
            "name": "output",
            "op": "linear",
            "inputs": ["drop"],
            "args": {"in_features": 196, "out_features": 1, "activation": "sigmoid"},
        },
    ],
    "output": "output",
}


def _spec() -> ModelSpec:
    return spec_from_obj(TINY)


def _weights(spec: ModelSpec, seed: int = 0) -> dict[str, torch.Tensor]:
    """A reproducible stand-in for a file's weights (drawn from a local generator)."""
    model = build_seeded(lambda: build_model(spec), seed)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _source(spec: ModelSpec | None = None, scale: float = 1.0, **changes):
    spec = spec or _spec()
    src = spec_source(
        spec, _weights(spec), arch=own_key(spec), title="your tiny model", pixel_scale=scale
    )
    from dataclasses import replace

    return replace(src, **changes) if changes else src


def _settings(**overrides) -> TrainSettings:
    values = dict(
        model=own_key(_spec()),
        dataset="circles_squares",
        source=OWN_SOURCE + "tiny",
        freeze="all",
        optimizer="adam",
        lr=1e-2,
        batch_size=32,
        epochs=4,
        train_samples=64,
        val_samples=32,
        device="cpu",
        bf16=False,
    )
    return TrainSettings(**{**values, **overrides})


# -- the job: a fresh process builds the model from the spec it carries ---------------------------


def test_a_spec_job_trains_in_a_fresh_worker_process_and_its_loss_goes_down() -> None:
    from explorer.training.backends.process import ProcessBackend

    manager = JobManager(slots={"cpu": 1}, backend=ProcessBackend(preload=()))
    try:
        source = _source()
        job = manager.submit(
            owner="a",
            device="cpu",
            factory=JobSpec(
                "explorer.training.transfer:run_transfer",
                {"settings": _settings(), "source": source},
            ),
            title="fine-tune",
            kind="training",
        )
        assert job.wait(600)
        assert job.state is JobState.FINISHED, job.error
        epochs = [e for e in job.log if isinstance(e, EpochEnd)]
        assert len(epochs) == 4
        assert epochs[-1].train_loss < epochs[0].train_loss
        info = next(e for e in job.log if isinstance(e, TransferInfo))
        assert info.new == () and info.image_size == 16  # one output, one class pair: head kept
        result = job.result
    finally:
        manager.shutdown()
    spec = ModelSpec.from_json(result.spec_json)
    assert result.arch == own_key(spec) != own_key(_spec())  # its own entry, not the file's
    assert spec.title == "tiny (fine-tuned)"
    assert spec.to_obj()["nodes"][-1]["args"]["activation"] == "sigmoid"  # the file's output back
    # The trained weights load strictly into the trained spec; its output is the logits' sigmoid.
    rebuilt = model_from_spec(spec, result.model.state_dict()).eval()
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), torch.sigmoid(result.model(x)))


def test_bad_job_arguments_fail_the_job_with_one_message() -> None:
    spec = _spec()
    wrong = _weights(spec)
    wrong["conv1.weight"] = torch.zeros(4, 3, 5, 5)
    manager = JobManager(slots={"cpu": 1})  # a thread: the same job target, the same checks
    try:
        job = manager.submit(
            owner="b",
            device="cpu",
            factory=JobSpec(
                "explorer.training.transfer:run_transfer",
                {"settings": _settings(), "source": _source(state_dict=wrong)},
            ),
            title="bad",
        )
        assert job.wait(120)
    finally:
        manager.shutdown()
    assert job.state is JobState.FAILED
    assert job.error == (
        "Your imported model cannot be fine-tuned: The checkpoint does not fit this architecture: "
        "'conv1.weight' has shape (4, 3, 5, 5) in the checkpoint but (4, 3, 3, 3) in the model."
    )
    assert not [e for e in job.log if type(e).__name__ == "Preparing"]  # refused before any data


def test_a_spec_over_the_size_cap_is_refused_before_it_is_parsed() -> None:
    src = _source()
    huge = {**src.build, "spec": " " * (MAX_SPEC_CHARS + 1)}
    with pytest.raises(TransferError) as err:
        check_spec_source(_source(build=huge))
    assert str(err.value) == (
        "Your imported model cannot be fine-tuned: its spec is "
        f"{MAX_SPEC_CHARS + 1:,} characters long; the limit is {MAX_SPEC_CHARS:,}."
    )


def test_non_finite_or_missing_weights_and_a_bad_scale_are_refused() -> None:
    spec = _spec()
    nan = _weights(spec)
    nan["output.bias"] = torch.tensor([float("nan")])
    with pytest.raises(TransferError, match=r"NaN or infinite values \(in 'output.bias'\)"):
        check_spec_source(_source(state_dict=nan))
    missing = _weights(spec)
    del missing["output.bias"]
    with pytest.raises(TransferError, match="'output.bias' .* is missing"):
        check_spec_source(_source(state_dict=missing))
    with pytest.raises(TransferError, match=r"pixel scale must lie in \(0, 255\]"):
        check_spec_source(_source(build={**_source().build, "pixel_scale": 1e9}))


# -- the model: a new head when the classes differ -----------------------------------------------


def test_a_new_head_for_another_number_of_classes_keeps_every_other_weight() -> None:
    src = _source()
    model, build, report = build_spec_transfer(src, num_classes=6, in_channels=3)
    assert report["new"] == ["output.weight", "output.bias"]
    assert tuple(model.output.weight.shape) == (6, 196)
    torch.testing.assert_close(model.conv1.weight, src.state_dict["conv1.weight"])
    spec = trained_spec(build)  # six classes: the file's sigmoid becomes a softmax
    assert spec.nodes[-1].args["activation"] == "softmax"
    again, _, _ = build_spec_transfer(src, num_classes=6, in_channels=3)
    torch.testing.assert_close(again.output.weight, model.output.weight)  # seeded head


def test_head_node_walks_back_through_activations_and_dropouts() -> None:
    spec = _spec()
    assert head_node(spec) == "output"
    same, head = with_classes(spec, 1)
    assert head is None and same is spec
    six, head = with_classes(spec, 6)
    assert head == "output" and six.nodes[-1].args["out_features"] == 6
    pooled = spec_from_obj({**TINY, "nodes": TINY["nodes"][:2], "output": "pool1"})
    assert head_node(pooled) is None
    with pytest.raises(TransferError, match="not a Dense / Gemm layer"):
        with_classes(pooled, 2)


def test_a_model_with_other_channels_than_the_images_is_refused() -> None:
    with pytest.raises(TransferError, match=r"reads 3 channel\(s\) and the images have 1"):
        build_spec_transfer(_source(), num_classes=1, in_channels=1)


# -- the data: the model's own size, channels and pixel range ------------------------------------


def test_data_are_resized_and_grey_images_repeated_for_a_colour_model() -> None:
    digits = load_dataset("digits", seed=0, sizes=(16, 8, 8))
    fitted = to_spec_input(digits, (3, 20, 12))
    assert tuple(fitted.x_train.shape) == (16, 3, 20, 12)
    assert torch.equal(fitted.x_train[:, 0], fitted.x_train[:, 2])
    assert fitted.x_train.min() >= 0 and fitted.x_train.max() <= 1
    assert fits_input((1, 28, 28), (3, 64, 64)) and fits_input((3, 32, 32), (3, 8, 8))
    assert not fits_input((3, 32, 32), (1, 28, 28)) and not fits_input((3, 32, 32), (4, 32, 32))
    colour = load_dataset("shapes", seed=0, sizes=(16, 8, 8))
    with pytest.raises(TransferError) as err:
        to_spec_input(colour, (1, 28, 28))
    assert str(err.value) == (
        "Your model reads 1 channel(s) (28 x 28 pixels) and these images have 3: a model reads "
        "images of its own number of channels (a colour model also reads grey ones, repeated into "
        "R, G and B)."
    )
    assert no_fit_message((4, 8, 8)) == (
        "No dataset here fits your model's input (4 channel(s), 8 x 8 pixels): the datasets have 1 "
        "(grey) or 3 (colour) channels, and a model reads images of its own number of channels (a "
        "colour model also reads grey ones, repeated into R, G and B)."
    )


def test_a_model_that_rescales_pixels_itself_gets_them_scaled_during_the_run_only() -> None:
    model = torch.nn.Identity()
    handle = model.register_forward_pre_hook(ScaleInput(255.0))
    assert float(model(torch.ones(1))) == 255.0
    handle.remove()
    events, result = drain(
        run_transfer(_settings(epochs=1), _source(scale=255.0), instrument=False)
    )
    assert not result.model._forward_pre_hooks  # removed after the run
    assert result.metrics["pixel_scale"] == 255.0
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1]


def test_own_models_need_their_own_source_in_the_settings() -> None:
    assert _settings().errors() == []
    assert _settings(source="").errors() == [
        "An imported model can only be fine-tuned from its own weights."
    ]


def test_a_splits_object_keeps_its_labels_when_fitted() -> None:
    data = load_dataset("circles_squares", seed=0, sizes=(16, 8, 8))
    fitted = to_spec_input(data, (3, 16, 16))
    assert isinstance(fitted, Splits)
    assert torch.equal(fitted.y_train, data.y_train) and fitted.classes == data.classes


def test_an_imported_model_fine_tunes_on_the_users_own_images(tmp_path) -> None:
    from explorer.data.image_sets import read_zip
    from explorer.training.transfer import run_own_images
    from tests.explorer.data.test_own_images import make_zip, three_classes

    folder = tmp_path / "mine"
    read_zip(make_zip(three_classes(6)), folder)
    settings = _settings(dataset="own_images", epochs=1, batch_size=8, train_samples=16)
    events, result = drain(run_own_images(settings, str(folder), _source(), instrument=False))
    info = next(e for e in events if isinstance(e, TransferInfo))
    assert info.new == ("output.weight", "output.bias")  # three classes: a new head
    assert info.image_size == 16  # the 32 x 32 images resized to the model's own input
    assert result.dataset == "your images"
    spec = ModelSpec.from_json(result.spec_json)
    assert spec.nodes[-1].args == {"in_features": 196, "out_features": 3, "activation": "softmax"}


def test_a_model_over_the_per_job_memory_limit_is_refused_before_any_data(monkeypatch) -> None:
    # 3 x 64 x 64 -> Dense(128): 1,572,992 parameters; with Adam 16 bytes each (weights,
    # gradients, two moments) = 24 MB, above a 16 MB limit.
    wide = spec_from_obj(
        {
            "input_shape": [3, 64, 64],
            "nodes": [
                {"name": "flatten", "op": "flatten", "inputs": ["input"], "args": {}},
                {
                    "name": "dense",
                    "op": "linear",
                    "inputs": ["flatten"],
                    "args": {"in_features": 12288, "out_features": 128},
                },
            ],
        }
    )
    monkeypatch.setenv("EXPLORER_JOB_MEMORY_MB", "16")
    gen = run_transfer(_settings(model=own_key(wide)), _source(wide))
    with pytest.raises(TransferError) as err:
        next(gen)
    assert str(err.value) == (
        "This model needs about 24 MB for its weights, gradients and optimiser state alone, above "
        "the per-job memory limit of 16 MB (EXPLORER_JOB_MEMORY_MB): choose a smaller model."
    )


def test_a_fine_tuned_models_checkpoint_holds_its_spec_and_reloads_strictly() -> None:
    from explorer.models.spec_modules import model_from_spec_checkpoint
    from explorer.training.checkpoints import checkpoint_of

    _, result = drain(run_transfer(_settings(epochs=1), _source(scale=255.0), instrument=False))
    model, spec, meta = model_from_spec_checkpoint(checkpoint_of(result))
    assert spec.to_json() == result.spec_json and spec.title == "tiny (fine-tuned)"
    assert meta.settings["pixel_range"] == [0.0, 255.0] and meta.settings["source"] == "fine-tuned"
    assert meta.classes == ["circle", "square"]
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch.sigmoid(result.model(x)))
