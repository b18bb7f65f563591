"""A model spec as plain PyTorch code: one ``nn.Module`` class, standard layers, the file's names.

:func:`spec_code` writes code a user can take away (the code panel's text for an imported
model): modules with weights (and poolings, dropout, padding) in ``__init__`` under the node
names, so ``load_state_dict`` of the imported model's weights fits it strictly; the graph in
``forward`` as one line per node. It imports only torch; this module imports nothing at all.
"""

from __future__ import annotations

import keyword
import re

from explorer.models.spec import INPUT, ModelSpec, Node, infer_shapes

_ACT = {
    "linear": "{}",
    "relu": "F.relu({})",
    "relu6": "F.relu6({})",
    "sigmoid": "torch.sigmoid({})",
    "tanh": "torch.tanh({})",
    "selu": "F.selu({})",
    "softplus": "F.softplus({})",
    "softsign": "F.softsign({})",
    "silu": "F.silu({})",
    "gelu": "F.gelu({})",
    "softmax": "F.softmax({}, dim=1)",
    "elu": "F.elu({})",
    "leaky_relu": "F.leaky_relu({}, 0.2)",
}


def _var(name: str) -> str:
    return (
        f"{name}_" if keyword.iskeyword(name) or name in ("x", "torch", "F", "nn", "self") else name
    )


def _mod(name: str) -> str:
    return (
        f"self.{name}"
        if name.isidentifier() and not keyword.iskeyword(name)
        else f"self._modules[{name!r}]"
    )


def _vector(values: list[float], rank: int) -> str:
    if len(values) == 1:
        return repr(float(values[0]))
    view = "(1, -1, 1, 1)" if rank == 3 else "(1, -1)"
    return f"torch.tensor({[float(v) for v in values]!r}).view{view}"


def _symmetric(pad: list[int], kernel: list[int]) -> bool:
    left, right, top, bottom = pad
    return left == right and top == bottom and 2 * left <= kernel[1] and 2 * top <= kernel[0]


def _init_line(node: Node, rank: int) -> str | None:
    """The module of a node, or None when ``forward`` computes it inline."""
    a, op = node.args, node.op
    if op == "conv2d":
        return (
            f"nn.Conv2d({a['in_channels']}, {a['out_channels']}, kernel_size={tuple(a['kernel'])}, "
            f"stride={tuple(a.get('stride', [1, 1]))}, padding={tuple(a.get('padding', [0, 0]))}, "
            f"dilation={tuple(a.get('dilation', [1, 1]))}, groups={a.get('groups', 1)}, bias={a.get('bias', True)})"
        )
    if op == "separable_conv2d":
        mid = a["in_channels"] * a.get("multiplier", 1)
        return (
            "nn.ModuleDict({"
            f"'depthwise': nn.Conv2d({a['in_channels']}, {mid}, {tuple(a['kernel'])}, {tuple(a.get('stride', [1, 1]))}, "
            f"{tuple(a.get('padding', [0, 0]))}, {tuple(a.get('dilation', [1, 1]))}, groups={a['in_channels']}, bias=False), "
            f"'pointwise': nn.Conv2d({mid}, {a['out_channels']}, 1, bias={a.get('bias', True)})}})"
        )
    if op == "linear":
        return f"nn.Linear({a['in_features']}, {a['out_features']}, bias={a.get('bias', True)})"
    if op == "batch_norm":
        kind = "BatchNorm2d" if rank == 3 else "BatchNorm1d"
        return f"nn.{kind}({a['num_features']}, eps={a.get('eps', 1e-5)!r}, momentum={a.get('momentum', 0.1)!r})"
    if op == "dropout":
        return f"nn.Dropout({a.get('p', 0.5)!r})"
    if op == "pad":
        return f"nn.ConstantPad2d({tuple(a['pad'])}, {float(a.get('value', 0.0))!r})"
    if op in ("max_pool2d", "avg_pool2d") and _symmetric(a.get("pad", [0, 0, 0, 0]), a["kernel"]):
        pad = a.get("pad", [0, 0, 0, 0])
        common = (
            f"kernel_size={tuple(a['kernel'])}, stride={tuple(a.get('stride', a['kernel']))}, "
            f"padding={(pad[2], pad[0])}, ceil_mode={a.get('ceil_mode', False)}"
        )
        if op == "max_pool2d":
            return f"nn.MaxPool2d({common})"
        return f"nn.AvgPool2d({common}, count_include_pad={a.get('count_include_pad', False)})"
    return None


def _expression(node: Node, ins: list[str], rank: int, has_module: bool) -> str:
    a, op, x = node.args, node.op, ins[0]
    call = f"{_mod(node.name)}({x})"
    if op in ("conv2d", "linear"):
        return _ACT[a.get("activation", "linear")].format(call)
    if op == "separable_conv2d":
        inner = f"{_mod(node.name)}['pointwise']({_mod(node.name)}['depthwise']({x}))"
        return _ACT[a.get("activation", "linear")].format(inner)
    if has_module:
        return call
    if op in ("max_pool2d", "avg_pool2d"):
        k, s, pad, ceil = (
            tuple(a["kernel"]),
            tuple(a.get("stride", a["kernel"])),
            tuple(a["pad"]),
            a.get("ceil_mode", False),
        )
        if op == "max_pool2d":
            return (
                f"F.max_pool2d(F.pad({x}, {pad}, value=float('-inf')), {k}, {s}, ceil_mode={ceil})"
            )
        out = f"F.avg_pool2d(F.pad({x}, {pad}), {k}, {s}, ceil_mode={ceil})"
        if a.get("count_include_pad", False):
            return out
        return f"{out} / F.avg_pool2d(F.pad(torch.ones_like({x}[:1, :1]), {pad}), {k}, {s}, ceil_mode={ceil})"
    return _inline(node, ins, rank)


def _inline(node: Node, ins: list[str], rank: int) -> str:
    a, op, x = node.args, node.op, ins[0]
    if op.startswith("global_"):
        red = "mean" if "avg" in op else "amax"
        return f"{x}.{red}((2, 3), keepdim=True)" + ("" if a.get("keepdims") else ".flatten(1)")
    if op == "flatten":
        return (
            f"{x}.permute(0, 2, 3, 1).flatten(1)"
            if a.get("channels_last") and rank == 3
            else f"{x}.flatten(1)"
        )
    if op == "reshape":
        return f"{x}.reshape({x}.shape[0], *{tuple(a['shape'])})"
    if op == "scale":
        return f"{x} * {_vector(a['scale'], rank)} + {_vector(a.get('offset', [0.0]), rank)}"
    if op == "normalize":
        return f"({x} - {_vector(a['mean'], rank)}) / {_vector(a['std'], rank)}"
    if op == "add":
        return " + ".join(ins)
    if op == "concat":
        return f"torch.cat([{', '.join(ins)}], dim={a.get('dim', 1)})"
    if op == "act":
        return _act(a, x)
    return x  # identity


def _act(a: dict, x: str) -> str:
    fn = a["fn"]
    if fn == "leaky_relu":
        return f"F.leaky_relu({x}, {a.get('alpha', 0.01)!r})"
    if fn == "elu":
        return f"F.elu({x}, {a.get('alpha', 1.0)!r})"
    if fn == "softmax":
        return f"F.softmax({x}, dim={a.get('dim', 1)})"
    if fn == "clip":
        return f"{x}.clamp({a.get('min')!r}, {a.get('max')!r})"
    return _ACT[fn].format(x)


def spec_code(spec: ModelSpec, class_name: str = "") -> str:
    """Python source of an ``nn.Module`` equal to the spec's model (weights load strictly)."""
    shapes = infer_shapes(spec)
    words = re.findall(r"[A-Za-z0-9]+", class_name or spec.title or "ImportedModel")
    cls = "".join(w[:1].upper() + w[1:] for w in words) or "ImportedModel"
    cls = cls if cls[0].isalpha() else f"Model{cls}"
    init, body = [], []
    names = {INPUT: "x"}
    for node in spec.nodes:
        rank = len(shapes[node.inputs[0]])
        line = _init_line(node, rank)
        if line is not None:
            target = _mod(node.name)
            init.append(
                f"        {target} = {line}"
                if target.startswith("self.") and "[" not in target
                else f"        self.add_module({node.name!r}, {line})"
            )
        names[node.name] = _var(node.name)
        expr = _expression(node, [names[i] for i in node.inputs], rank, line is not None)
        body.append(f"        {names[node.name]} = {expr}")
    c, h, w = spec.input_shape
    return "\n".join(
        [
            "import torch",
            "import torch.nn.functional as F",
            "from torch import nn",
            "",
            "",
            f"class {cls}(nn.Module):",
            f'    """Input: N x {c} x {h} x {w}."""',
            "",
            "    def __init__(self):",
            "        super().__init__()",
            *(init or ["        pass"]),
            "",
            "    def forward(self, x):",
            *body,
            f"        return {names[spec.output]}",
            "",
        ]
    )
