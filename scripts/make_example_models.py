"""Make the try-it model files of "Your own model": a Keras CNN and an ONNX export, in assets/models.

    nice -n 10 .venv/bin/python scripts/make_example_models.py

1. ``course_cnn.keras``: the course's Keras CNN (Conv2D 32 3x3 relu on 64x64x3, MaxPool 2,
   Conv2D 64 3x3 relu, MaxPool 2, Flatten, Dense 128 relu, Dense 1 sigmoid) trained briefly on
   the project's offline circles-vs-squares images (explorer.data.synthetic.make_shapes, drawn
   at 64x64) with Keras 3 on its torch backend, with a ``Rescaling(1/255)`` first so that it
   reads pixel values 0-255 as students' models do. Its Dense 128 layer holds 1.6 M of the
   model's 1.6 M weights (6.5 MB in float32): to ship a file under 2 MB, that kernel is pruned
   to its largest 6% by magnitude and fine-tuned with the mask held (the accuracy is measured
   after pruning), saved without optimizer state, and the .keras zip is re-packed with Deflate
   (Keras writes it uncompressed; it reads both).
2. ``googlenet_small.onnx``: the catalog's compact GoogLeNet with its bundled weights (the offline
   digits, grey 1-channel input), exported
   with ``torch.onnx.export(..., dynamo=False)`` (the TorchScript exporter; the dynamo one needs
   onnxscript), class names in the file's metadata.

Both files are then imported with explorer.models.imports and checked against Keras /
PyTorch on the same inputs. Needs the dev extra (keras). Fixed seeds; a few minutes on a CPU.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.data.synthetic import make_shapes  # noqa: E402
from explorer.models.imports import import_model  # noqa: E402

OUT = ROOT / "assets" / "models"
CLASSES = ("circle", "square")
KEEP = 0.06  # fraction of the Dense 128 kernel kept after pruning


def shapes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = make_shapes(n, classes=CLASSES, size=64, difficulty=0.3, seed=seed)
    return (x.permute(0, 2, 3, 1).numpy() * 255).astype(np.float32), y.numpy().astype(np.float32)


def course_cnn(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((64, 64, 3), name="image"),
            L.Rescaling(1 / 255, name="rescaling"),
            L.Conv2D(32, (3, 3), activation="relu", name="conv1"),
            L.MaxPooling2D((2, 2), name="pool1"),
            L.Conv2D(64, (3, 3), activation="relu", name="conv2"),
            L.MaxPooling2D((2, 2), name="pool2"),
            L.Flatten(name="flatten"),
            L.Dense(128, activation="relu", name="dense"),
            L.Dense(1, activation="sigmoid", name="output"),
        ],
        name="course_cnn",
    )


def deflate(path: Path) -> None:
    """Re-pack a zip with Deflate (same entries, same bytes once unpacked)."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for name, data in entries:
            dst.writestr(name, data)
    path.write_bytes(buf.getvalue())


def make_keras() -> Path:
    import keras

    keras.utils.set_random_seed(0)
    model = course_cnn(keras)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    x, y = shapes(1200, seed=1)
    xt, yt = shapes(300, seed=2)
    model.fit(x, y, batch_size=32, epochs=6, verbose=2)
    dense = model.get_layer("dense")
    kernel, bias = dense.get_weights()
    mask = np.abs(kernel) >= np.quantile(np.abs(kernel), 1 - KEEP)

    class KeepPruned(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            k, b = dense.get_weights()
            dense.set_weights([np.where(mask, k, 0).astype(np.float32), b])

    dense.set_weights([np.where(mask, kernel, 0).astype(np.float32), bias])
    model.fit(x, y, batch_size=32, epochs=3, verbose=2, callbacks=[KeepPruned()])  # recover, pruned
    _, accuracy = model.evaluate(xt, yt, verbose=0)
    print(f"course_cnn: test accuracy after pruning {accuracy:.3f} on {len(yt)} images")
    plain = course_cnn(keras)  # uncompiled: the file holds no optimizer state
    plain.set_weights(model.get_weights())
    model = plain
    path = OUT / "course_cnn.keras"
    model.save(str(path))
    deflate(path)
    imported = import_model(path.read_bytes(), path.name)
    with torch.no_grad():
        ours = imported.build()(torch.from_numpy(xt[:8]).permute(0, 3, 1, 2)).numpy()
    ref = np.asarray(model(xt[:8]).detach().cpu())
    print(
        f"course_cnn.keras: {path.stat().st_size / 2**20:.2f} MB, max difference to Keras {np.abs(ours - ref).max():.2e}"
    )
    return path


def make_onnx(key: str = "googlenet_small") -> Path:
    import onnx

    from explorer.models.weights import load_bundled

    model, meta = load_bundled(key)
    model = model.float().eval()
    channels = next(
        m for m in model.modules() if isinstance(m, torch.nn.Conv2d)
    ).in_channels  # grey or colour
    shape = (1, channels, *meta_input_shape(key)[1:])
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        torch.zeros(shape),
        buf,
        dynamo=False,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )
    proto = onnx.load_from_string(buf.getvalue())
    proto.metadata_props.add(key="classes", value=",".join(meta.classes))
    path = OUT / f"{key}.onnx"
    path.write_bytes(proto.SerializeToString())
    imported = import_model(path.read_bytes(), path.name)
    x = torch.rand(4, *shape[1:], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (imported.build()(x) - model(x)).abs().max().item()
    print(
        f"{path.name}: {path.stat().st_size / 2**20:.2f} MB, classes {imported.classes}, max difference to "
        f"PyTorch {diff:.2e}"
    )
    return path


def meta_input_shape(key: str) -> tuple[int, ...]:
    from explorer.models.catalog import get_spec

    return tuple(get_spec(key).input_shape)


def main() -> None:
    """``python scripts/make_example_models.py [keras] [onnx]``: both files by default."""
    OUT.mkdir(parents=True, exist_ok=True)
    which = set(sys.argv[1:]) or {"keras", "onnx"}
    if "keras" in which:
        make_keras()
    if "onnx" in which:
        make_onnx()


if __name__ == "__main__":
    main()
