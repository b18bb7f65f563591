"""The one checkpoint format: round trip, validation before building, clear errors, memory bounds."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save
from torch import nn

from explorer.models import checkpoint as ck
from explorer.models import get_spec, plan
from explorer.models.catalog import CATALOG
from explorer.models.checkpoint import (
    CheckpointError,
    CheckpointFormatError,
    CheckpointMeta,
    CheckpointMismatchError,
    CheckpointRefusedError,
    WeightsError,
    load_checkpoint,
    load_state_strict,
    model_from_checkpoint,
    model_from_state,
    plan_model,
    read_meta,
    save_checkpoint,
    validate_build,
)
from explorer.training.settings import TrainSettings

ROOT = Path(__file__).resolve().parents[3]


def meta(**kw) -> CheckpointMeta:
    base = dict(
        arch="lenet5",
        build={"in_channels": 1, "num_classes": 10, "image_size": 28},
        classes=[str(i) for i in range(10)],
        dataset="digits",
        settings=TrainSettings(model="lenet5", dataset="digits").to_dict(),
        metrics={"test_accuracy": 0.97},
    )
    return CheckpointMeta(**{**base, **kw})


def lenet(**build) -> nn.Module:
    torch.manual_seed(0)
    return (
        get_spec("lenet5")
        .build(**{"in_channels": 1, "num_classes": 10, "image_size": 28, **build})
        .eval()
    )


def raw_file(header: dict | str, body: bytes = b"") -> bytes:
    """A safetensors file written by hand: 8-byte length, header JSON, tensor bytes."""
    text = header if isinstance(header, str) else json.dumps(header)
    blob = text.encode()
    return len(blob).to_bytes(8, "little") + blob + body


def test_round_trip_gives_identical_weights_and_outputs():
    m = meta()
    model = lenet()
    data = save_checkpoint(model, m)
    state, back = load_checkpoint(data)
    assert back == m
    assert state.keys() == model.state_dict().keys()
    for k, v in model.state_dict().items():
        assert torch.equal(state[k], v)
    rebuilt, meta2 = model_from_checkpoint(data)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(rebuilt(x), model(x))
    assert meta2.metrics["test_accuracy"] == 0.97
    assert not rebuilt.training


def test_metadata_is_json_under_the_explorer_key():
    data = save_checkpoint(nn.Linear(2, 2), meta(arch="tiny"))
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    stored = json.loads(header["__metadata__"]["explorer"])
    assert stored["arch"] == "tiny" and stored["format"] == 1
    assert set(stored) == {"arch", "build", "classes", "dataset", "settings", "metrics", "format"}


def test_a_diverged_metric_is_written_as_strict_json():
    data = save_checkpoint(
        nn.Linear(2, 2), meta(metrics={"val_loss": float("nan"), "acc": float("inf")})
    )
    assert read_meta(data).metrics == {"val_loss": None, "acc": None}


def test_garbage_empty_and_foreign_files_get_clear_errors():
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(b"")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(b"\x80\x04\x95 this is a pickle, not safetensors")
    foreign = save({"w": torch.zeros(2)})
    with pytest.raises(CheckpointError, match="no 'explorer' metadata"):
        load_checkpoint(foreign)


def test_unknown_architecture_and_mismatched_shapes_are_named():
    data = save_checkpoint(nn.Linear(2, 2), meta(arch="nonexistent_net"))
    with pytest.raises(CheckpointError, match="Unknown architecture 'nonexistent_net'"):
        model_from_checkpoint(data)
    model = get_spec("lenet5").build(in_channels=1, num_classes=10, image_size=28)
    state = dict(model.state_dict())
    state["0.weight"] = torch.zeros(6, 3, 5, 5)
    with pytest.raises(
        CheckpointError,
        match=r"'0.weight' has shape \(6, 3, 5, 5\) in the checkpoint but \(6, 1, 5, 5\) in the model",
    ):
        load_state_strict(model, state)
    del state["0.weight"]
    with pytest.raises(
        CheckpointError,
        match=r"key '0.weight' \(shape \(6, 1, 5, 5\)\) is missing from the checkpoint",
    ):
        load_state_strict(model, state)


def test_newer_format_is_refused():
    data = save_checkpoint(nn.Linear(2, 2), meta(format=99))
    with pytest.raises(CheckpointError, match="format 99, newer"):
        load_checkpoint(data)


def test_one_error_hierarchy():
    from explorer.models import weights

    assert weights.CheckpointMismatchError is CheckpointMismatchError
    assert weights.WeightsError is WeightsError
    assert weights.load_state_strict is load_state_strict
    for cls in (CheckpointFormatError, CheckpointRefusedError, CheckpointMismatchError):
        assert issubclass(cls, CheckpointError)
    assert issubclass(CheckpointError, WeightsError) and issubclass(CheckpointError, ValueError)
    assert issubclass(weights.WeightsUnavailableError, WeightsError)


def test_read_meta_reads_the_header_without_the_tensors(monkeypatch):
    data = save_checkpoint(lenet(), meta())

    def no_tensors(_data):
        raise AssertionError("read_meta must not read tensors")

    monkeypatch.setattr(ck, "_read_tensors", no_tensors)
    assert read_meta(data) == meta()


def test_shapes_are_compared_with_the_header_before_any_tensor_is_read(monkeypatch):
    state = lenet().state_dict()
    state["7.weight"] = torch.zeros(120, 17)
    data = save_checkpoint(state, meta())
    monkeypatch.setattr(
        ck, "_read_tensors", lambda _d: pytest.fail("tensors read before the shape check")
    )
    with pytest.raises(
        CheckpointMismatchError,
        match=r"'7.weight' has shape \(120, 17\) in the checkpoint but \(120, 400\)",
    ):
        model_from_checkpoint(data)


# --------------------------------------------------------------------------- build arguments


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ({"image_size": 700}, "'image_size' must be a whole number from 8 to 256, not 700"),
        ({"image_size": 28.0}, "'image_size' must be a whole number from 8 to 256, not 28.0"),
        ({"image_size": True}, "'image_size' must be a whole number"),
        ({"in_channels": "3"}, "'in_channels' must be a whole number from 1 to 4, not '3'"),
        ({"num_classes": 0}, "'num_classes' must be a whole number from 1 to 1000, not 0"),
        (
            {"weights": "IMAGENET"},
            "The course's Keras CNN does not take the build argument 'weights' "
            "(accepted: in_channels, num_classes, image_size)",
        ),
        ([1], "The build arguments are a JSON list, not an object"),
    ],
)
def test_build_arguments_are_checked_against_an_allow_list(build, message):
    with pytest.raises(CheckpointRefusedError) as err:
        validate_build(get_spec("keras_cnn"), build)
    assert message in str(err.value)


def test_allow_lists_per_kind_of_entry():
    assert plan.allowed_build_args(get_spec("resnet18")) == ("num_classes",)
    assert plan.allowed_build_args(get_spec("residual_deep")) == (
        "in_channels",
        "num_classes",
        "image_size",
        "blocks",
    )
    assert set(plan.allowed_build_args(get_spec("lstm"))) >= {
        "input_size",
        "hidden_size",
        "num_layers",
    }
    with pytest.raises(
        CheckpointRefusedError, match="'nonlinearity' must be one of tanh, relu, not 'sigmoid'"
    ):
        validate_build(get_spec("rnn"), {"nonlinearity": "sigmoid"})


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_catalog_entry_plans_on_meta_with_its_defaults(key):
    spec = get_spec(key)
    p = plan_model(key, spec.build_kwargs)
    assert p.parameters > 0 and p.activation_bytes > 0
    if spec.compact:  # real weights are cheap here: the plan's shapes are the model's
        assert p.state_shapes == {k: tuple(v.shape) for k, v in spec.build().state_dict().items()}


def test_plan_counts_match_torchvision_published_parameters():
    # torchvision's model docs: ResNet-18 11,689,512; VGG-16 138,357,544 parameters.
    assert plan_model("resnet18", {}).parameters == 11_689_512
    assert plan_model("vgg16", {}).parameters == 138_357_544


def test_plan_refuses_models_above_the_caps(monkeypatch):
    monkeypatch.setattr(plan, "MAX_PARAMETERS", 1_000_000)
    with pytest.raises(
        CheckpointRefusedError, match=r"would have 1,625,281 parameters; the limit is 1,000,000"
    ):
        plan_model("keras_cnn", {})
    monkeypatch.setattr(plan, "MAX_PARAMETERS", 150_000_000)
    monkeypatch.setattr(plan, "MAX_ACTIVATION_BYTES", 2**20)
    with pytest.raises(
        CheckpointRefusedError,
        match=r"would need 4 MB of activations for one input; the limit is 1 MB",
    ):
        plan_model("resnet_small", {})


def test_an_impossible_configuration_is_refused_on_meta():
    with pytest.raises(
        CheckpointRefusedError, match="The course's Keras CNN cannot be built with image_size=8"
    ):
        plan_model("keras_cnn", {"image_size": 8})


# --------------------------------------------------------------------------- weights and sources


def test_nan_and_inf_weights_are_refused_naming_the_tensors():
    state = lenet().state_dict()
    state["0.bias"][2] = float("nan")
    state["7.weight"][0, 0] = float("inf")
    with pytest.raises(
        CheckpointRefusedError, match=r"NaN or infinite values \(in '0.bias', '7.weight'\)"
    ):
        model_from_checkpoint(save_checkpoint(state, meta()))
    with pytest.raises(CheckpointRefusedError, match="'0.bias', '7.weight'"):
        model_from_state("lenet5", meta().build, state)


def test_a_plain_safetensors_file_is_read_for_the_chosen_architecture():
    model = get_spec("lenet5").build()
    plain = save({k: v.contiguous() for k, v in model.state_dict().items()})
    rebuilt, m = model_from_checkpoint(plain, arch="lenet5")
    assert m.arch == "lenet5" and m.build == get_spec("lenet5").build_kwargs
    assert torch.equal(rebuilt.state_dict()["0.weight"], model.state_dict()["0.weight"])
    with pytest.raises(CheckpointError, match="no 'explorer' metadata"):
        model_from_checkpoint(plain)


def test_a_checkpoint_for_another_architecture_names_both():
    data = save_checkpoint(lenet(), meta())
    with pytest.raises(
        CheckpointMismatchError, match=r"saved for LeNet-5, not ResNet \(compact\)\. Choose LeNet-5"
    ):
        model_from_checkpoint(data, arch="resnet_small")


def test_bundled_float16_files_load_through_the_one_reader():
    from explorer.models.weights import bundled_path, load_bundled

    model, m = load_bundled("resnet_small")
    again, m2 = model_from_checkpoint(
        bundled_path("resnet_small").read_bytes(), arch="resnet_small"
    )
    assert m == m2 and m.build["num_classes"] == len(m.classes)
    for k, v in model.state_dict().items():
        assert torch.equal(v, again.state_dict()[k])


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([1, 2], "its header is a JSON list, not an object"),
        (
            {"__metadata__": {"explorer": "[1]"}},
            "metadata is a JSON list, not an object with 'arch'",
        ),
        ({"__metadata__": {"explorer": "1e400"}}, "metadata is a JSON null"),
        ({"__metadata__": {"explorer": "null"}}, "metadata is a JSON null"),
        (
            {"__metadata__": {"explorer": '{"arch": "lenet5", "format": "x"}'}},
            "'format' that is a JSON text",
        ),
        (
            {"__metadata__": {"explorer": '{"arch": "lenet5", "format": 1e400}'}},
            "'format' that is a JSON null",
        ),
        (
            {"__metadata__": {"explorer": '{"arch": "lenet5", "format": [1]}'}},
            "'format' that is a JSON list",
        ),
        (
            {"__metadata__": {"explorer": '{"arch": "lenet5", "build": [1]}'}},
            "'build' is a JSON list",
        ),
        (
            {"__metadata__": {"explorer": '{"arch": "lenet5", "build": {"a": {"b": 1}}}'}},
            "build argument 'a' is a JSON object",
        ),
        ({"__metadata__": {"explorer": "[" * 100_000 + "]" * 100_000}}, "nested too deeply"),
        (
            {
                "__metadata__": {
                    "explorer": '{"arch": "lenet5", "settings": ' + '{"a": ' * 40 + "1" + "}" * 41
                }
            },
            "'settings' is nested too deeply",
        ),
        ({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, "has dtype 'F8_E4M3'"),
        (
            {"w": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4]}},
            "does not match its shape",
        ),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 99]}}, "points outside the file"),
    ],
)
def test_malformed_headers_and_metadata_give_one_clear_error(header, message):
    data = raw_file(header, body=b"\0" * 4)
    for reader in (read_meta, model_from_checkpoint):
        with pytest.raises(CheckpointError) as err:
            reader(data)
        if reader is read_meta or "__metadata__" in header:
            assert message in str(err.value)


def test_the_156_byte_image_size_file_is_refused_without_allocating():
    """The issue's file: one 1-element tensor and metadata asking for a Keras CNN on 700 x 700
    inputs (~900 MB of weights). Measured in a fresh process with its own peak RSS (VmHWM, reset
    before each figure): refusing it six times, and an in-bounds size (256) whose header lacks
    the model's tensors; a real 200 MB allocation shows the meter works."""
    script = textwrap.dedent(
        """
        import json, torch
        from safetensors.torch import save
        from explorer.models.checkpoint import CheckpointError, model_from_checkpoint, plan_model

        def status_mb(key):
            for line in open("/proc/self/status"):
                if line.startswith(key):
                    return int(line.split()[1]) / 1024

        def start():
            # Reset the peak to the current RSS (Linux clear_refs), so each figure is its own.
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass
            return status_mb("VmRSS")

        def growth(before):
            return status_mb("VmHWM") - before

        def file(build):
            meta = json.dumps({"arch": "keras_cnn", "build": build})
            return save({"x": torch.zeros(1)}, metadata={"explorer": meta})

        print(len(file({"image_size": 700})))
        # One-time costs of any meta-device plan (torch's meta kernels load lazily, ~150 MB once
        # per process; the app pays them for its summaries anyway), so they are not counted.
        plan_model("keras_cnn", {})
        before = start()
        for build in ({"image_size": 700}, {"image_size": 256}):
            for _ in range(3):
                try:
                    model_from_checkpoint(file(build))
                except CheckpointError as err:
                    print(type(err).__name__, str(err)[:60])
        print(growth(before))
        before = start()
        x = torch.ones(50 * 2**20)
        print(growth(before))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 9, out.stdout
    assert lines[0] == "156"
    assert lines[1].startswith("CheckpointRefusedError The build argument 'image_size' must be")
    assert lines[4].startswith("CheckpointMismatchError The checkpoint does not fit this archit")
    growth, control = float(lines[7]), float(lines[8])  # MB of peak RSS over the RSS before
    assert growth < 50, f"refusing the file grew the peak RSS by {growth:.0f} MB\n{out.stdout}"
    assert control > 150, f"the RSS meter did not see a 200 MB allocation\n{out.stdout}"


def test_server_upload_cap_matches_the_engine_caps():
    import tomllib

    from explorer.data.decode import DEFAULT_MAX_BYTES

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert config["maxUploadSize"] * 2**20 == ck.MAX_CHECKPOINT_BYTES
    assert config["maxUploadSize"] * 2**20 >= DEFAULT_MAX_BYTES
    assert config["enableXsrfProtection"] is True and config["enableCORS"] is True
    assert 30 <= config["disconnectedSessionTTL"] <= 300
