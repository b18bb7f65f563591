"""The model level of a Keras config: Sequential / Functional structure, the input shape, which
layer reads which, the allow-list of layer classes (code layers and custom objects refused);
then each layer through its converter in :mod:`explorer.models.imports.keras_layers`."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.models.imports.errors import CODE_NEVER_RUN, GraphBuilder, ModelImportError
from explorer.models.imports.keras_layers import ALIASES, HANDLERS, SUPPORTED, Ctx
from explorer.models.imports.keras_values import activation_name
from explorer.models.spec import INPUT, ModelSpec

_MAX_LAYERS = 1000
CODE_LAYERS = (
    "Lambda",
    "TFOpLambda",
    "SlicingOpLambda",
    "TorchModuleWrapper",
    "JaxLayer",
    "FlaxLayer",
)
ELEMENTWISE = ("Dropout", "Activation", "ReLU", "LeakyReLU", "ELU")


def _history(value: Any, found: list[str]) -> None:
    """Layer names a Keras 3 call's arguments read (``keras_history`` of each tensor)."""
    if isinstance(value, dict):
        hist = (
            value.get("config", {}).get("keras_history")
            if isinstance(value.get("config"), dict)
            else None
        )
        if isinstance(hist, list) and hist and isinstance(hist[0], str):
            if hist[1:] not in ([0, 0], []):
                raise ModelImportError(
                    f"The model reuses layer {hist[0]!r} (shared layers are not supported)."
                )
            found.append(hist[0])
        return
    if isinstance(value, list):
        for v in value[:64]:
            _history(v, found)


def _inbound(name: str, entry: dict[str, Any]) -> list[str]:
    nodes = entry.get("inbound_nodes", [])
    if not isinstance(nodes, list):
        raise ModelImportError(f"Layer {name!r} has inbound nodes that are not understood.")
    if len(nodes) > 1:
        raise ModelImportError(
            f"Layer {name!r} is called {len(nodes)} times (shared layers are not supported)."
        )
    found: list[str] = []
    for node in nodes:
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            _history(node.get("args", []), found)
        elif isinstance(
            node, list
        ):  # tf.keras 2: [["layer", node_index, tensor_index, {kwargs}], ...]
            for item in node[:64]:
                if not (isinstance(item, list) and len(item) >= 3 and isinstance(item[0], str)):
                    raise ModelImportError(
                        f"Layer {name!r} has inbound nodes that are not understood."
                    )
                if item[1:3] != [0, 0]:
                    raise ModelImportError(
                        f"The model reuses layer {item[0]!r} (shared layers are not supported)."
                    )
                found.append(item[0])
    return found


def _input_shape(cfg: dict[str, Any], layers: list[Any], build: Any) -> tuple[int, int, int]:
    shape = None
    for entry in (
        layers[:1]
        + [x for x in layers if isinstance(x, dict) and x.get("class_name") == "InputLayer"][:1]
    ):
        conf = entry.get("config", {}) if isinstance(entry, dict) else {}
        conf = conf if isinstance(conf, dict) else {}
        shape = conf.get("batch_shape") or conf.get("batch_input_shape") or shape
    shape = (
        shape or cfg.get("build_input_shape") or (build or {}).get("input_shape")
        if isinstance(build, dict | None)
        else shape
    )
    if not isinstance(shape, list) or len(shape) != 4:
        raise ModelImportError(
            f"The model's input shape {str(shape)[:60]} is not an image batch (None, height, width, "
            "channels): only image models are supported."
        )
    h, w, ch = shape[1:]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (h, w, ch)):
        raise ModelImportError(
            f"The model's input size is not fixed ({str(shape[1:])[:40]}): dynamic shapes are not "
            "supported. Give the model a fixed input size, e.g. keras.Input((64, 64, 3))."
        )
    if not (1 <= ch <= 4 and 1 <= h <= 1024 and 1 <= w <= 1024):
        raise ModelImportError(
            f"The model's input {h}x{w}x{ch} is outside what is supported (1 to 4 channels, "
            "sides of 1 to 1024 pixels)."
        )
    return (ch, h, w)


def _names(value: Any) -> list[str]:
    """Model input/output layer names: ["name", 0, 0] or [["name", 0, 0], ...]."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, list) and v and isinstance(v[0], str) for v in value
    ):
        raise ModelImportError("The model's inputs and outputs are not understood.")
    return [v[0] for v in value]


def convert_keras(config: Any, weights_of: Any) -> tuple[ModelSpec, dict[str, np.ndarray]]:
    """A Keras model config and weight reader -> spec and weights (channels-first)."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ModelImportError(
            "The model's config is not a Keras model description (no 'config' object)."
        )
    kind, cfg = config.get("class_name"), config["config"]
    if kind not in ("Sequential", "Functional", "Model"):
        check_layer_class("model", kind, config)  # a subclassed model is custom code
        raise ModelImportError(
            f"The file holds a {str(kind)[:40]}, not a Sequential or Functional model."
        )
    raw = cfg.get("layers")
    if not isinstance(raw, list) or not raw or len(raw) > _MAX_LAYERS:
        raise ModelImportError(f"The model's config lists no layers (or more than {_MAX_LAYERS}).")
    weights_of.prepare(raw)
    shape = _input_shape(cfg, raw, config.get("build_config"))
    g = GraphBuilder(shape, str(cfg.get("name", ""))[:200])
    layers, previous, seen = [], "__input__", set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
            raise ModelImportError(
                f"Layer {index + 1} of the model's config is not a layer description."
            )
        conf = entry.get("config", {})
        name = entry.get("name", conf.get("name", f"layer_{index}"))
        name = name if isinstance(name, str) and name and len(name) <= 200 else f"layer_{index}"
        if name in seen:
            raise ModelImportError(f"Two layers are named {name!r}.")
        seen.add(name)
        cls = check_layer_class(name, entry.get("class_name"), entry)
        if kind == "Sequential":
            ins, previous = (
                ([] if cls == "InputLayer" else [previous]),
                (previous if cls == "InputLayer" else name),
            )
        else:
            ins = _inbound(name, entry)
        layers.append((index, name, cls, conf, ins))
    if kind == "Sequential":
        layers.insert(0, (-1, "__input__", "InputLayer", {}, []))
        outputs = [previous]
    else:
        if len(_names(cfg.get("input_layers"))) != 1:
            raise ModelImportError(
                "The model has several inputs; only one-image models are supported."
            )
        outputs = _names(cfg.get("output_layers"))
        if len(outputs) != 1:
            raise ModelImportError(
                "The model has several outputs; only one-output models are supported."
            )
    tensor = convert_layers(g, layers, weights_of, raw, set(outputs))
    if outputs[0] not in tensor or tensor[outputs[0]] == "input":
        raise ModelImportError(f"The model's output {outputs[0][:60]!r} is not one of its layers.")
    return g.spec(tensor[outputs[0]]), g.state


def check_layer_class(name: str, cls: Any, entry: dict[str, Any]) -> str:
    """The layer's class if it is allow-listed; a clear refusal for code and for the rest."""
    cls = ALIASES.get(cls, cls) if isinstance(cls, str) else cls
    module, registered = entry.get("module"), entry.get("registered_name")
    custom = (isinstance(module, str) and not module.startswith("keras")) or (
        isinstance(registered, str) and registered != cls
    )
    if cls in CODE_LAYERS or custom:
        raise ModelImportError(
            f"Layer {name!r} is a {str(cls)[:60]} layer, which holds Python code: "
            f"{CODE_NEVER_RUN}. Rebuild the model from built-in Keras layers."
        )
    if cls not in SUPPORTED:
        raise ModelImportError(
            f"Layer {name!r} has the type {str(cls)[:60]}, which is not supported. "
            f"Supported Keras layers: {', '.join(SUPPORTED)}."
        )
    return cls


def convert_layers(
    g: GraphBuilder,
    layers: list[tuple[int, str, str, dict, list[str]]],
    weights_of: Any,
    raw: list[Any],
    outputs: set[str],
) -> dict[str, str]:
    """Each (index, name, class, config, input layer names) added to ``g``; layer name -> node."""
    consumers: dict[str, list[tuple[str, str]]] = {}
    for _, name, cls, _, ins in layers:
        for i in ins:
            consumers.setdefault(i, []).append((name, cls))

    def only_dense(name: str, depth: int = 0) -> bool:
        if name in outputs or depth > 8 or not consumers.get(name):
            return False
        return all(
            cls == "Dense" or (cls in ELEMENTWISE and only_dense(n, depth + 1))
            for n, cls in consumers[name]
        )

    tensor: dict[str, str] = {}
    for index, name, cls, conf, ins in layers:
        if cls == "InputLayer":
            tensor[name] = INPUT
            continue
        missing = [i for i in ins if i not in tensor]
        if missing or not ins:
            raise ModelImportError(
                f"Layer {name!r} reads {missing[0] if missing else 'nothing'!r}, which comes "
                "later or not at all: the model's graph is not supported."
            )
        inputs = [tensor[i] for i in ins]
        if len(inputs) > 1 and cls not in ("Add", "Concatenate"):
            raise ModelImportError(
                f"Layer {name!r} ({cls}) reads {len(inputs)} tensors; only Add and Concatenate do."
            )
        arrays = weights_of(index, raw[index]) if cls not in ("InputLayer",) else []
        c = Ctx(g, name, cls, conf, inputs, arrays, only_dense(name))
        if "activation" in conf:
            activation_name(c)  # a custom activation is refused before anything else is read
        out = HANDLERS[cls](c)
        if cls in ELEMENTWISE and inputs[0] in g.flattened:
            g.flattened[out] = g.flattened[inputs[0]]
        tensor[name] = out
    return tensor
