"""Paper-style layer names: ``features.28`` becomes ``conv5_3``, ``layer2.1`` becomes ``stage2.block2``.

Names are derived from the module structure alone (never from an input), so they are the
same at every input size, and a new catalog entry gets names for free. The conventions are
the ones of the papers' figures and of the Caffe models people quote:

- VGG: ``conv1_1 ... conv5_3``, ``relu1_1``, ``pool1 ... pool5``, ``fc6 fc7 fc8``, ``drop7``
  (the dropout on fc7's input);
- AlexNet: ``conv1 ... conv5``, ``pool1 pool2 pool5`` (named after the convolution they
  follow), ``fc6 fc7 fc8``;
- LeNet-5: ``C1 S2 C3 S4 C5 F6 output`` (C5 is the paper's name of the 400 -> 120 layer);
- the course's Keras CNN: ``conv1 pool1 conv2 pool2 flatten dense1 out``;
- GoogLeNet: ``conv1 pool1 conv2 conv3 pool2 inception3a ... inception5b`` with the branches
  ``inception3a/1x1``, ``/3x3_reduce``, ``/3x3``, ``/5x5_reduce``, ``/5x5``, ``/pool``,
  ``/pool_proj``;
- ResNet: ``conv1``, ``stageS.blockB`` (``layer2.1`` -> ``stage2.block2``, the paper's
  ``conv3_x``), inside a block ``conv1 bn1 conv2 ... shortcut``; ``gap``, ``fc``;
- NiN: ``mlpconv1 ...`` blocks holding ``conv1 cccp1 cccp2`` (Caffe's names).

Inside a named unit the separator is ``/`` (Caffe's ``inception_3a/3x3``) so a readable name
never looks like a raw module path (which uses ``.``); ResNet's ``stage2.block2`` is the one
dotted name and no raw path spells it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from torch import nn

from explorer.probe.block_kinds import (
    ADAPTIVE,
    POOLS,
    is_conv,
    is_inception,
    is_nin_block,
    is_residual,
    is_vgg_block,
    naming_style,
)
from explorer.probe.capture import ACTIVATIONS, UnknownLayerError

log = logging.getLogger(__name__)

_BRANCH_NAMES = (("1x1",), ("3x3_reduce", "3x3"), ("5x5_reduce", "5x5"), ("pool", "pool_proj"))


def _relu_name(after: str) -> str:
    """relu1_1 after conv1_1, relu6 after fc6, otherwise relu_<name> (Caffe's relu_3x3)."""
    head, _, leaf = after.rpartition("/")
    prefix = head + "/" if head else ""
    match = re.fullmatch(r"(?:conv|fc)(\d[\d_]*)", leaf)
    return f"{prefix}relu{match.group(1)}" if match else f"{prefix}relu_{leaf}"


@dataclass
class _Namer:
    """Walks the trunk in definition order, keeping the counters papers number layers by."""

    style: str
    names: dict[str, str] = field(default_factory=dict)
    convs: int = 0  # convolutions named so far (sequential numbering)
    stage: int = 1  # VGG: the current block (pools close it)
    in_stage: int = 0
    pools: int = 0
    letters: int = 0  # LeNet: C1, S2, C3 ... share one counter
    dense: int = 0
    dense_total: int = 0
    inception_group: int = 0  # 3 for GoogLeNet's first Inception group
    inception_letter: int = 0
    res_stage: int = 0
    res_block: int = 0
    mlpconv: int = 0
    last: str = ""  # the name an activation after this point refers to

    def put(self, path: str, name: str) -> None:
        self.names[path] = name
        self.last = name

    def conv_name(self) -> str:
        self.convs += 1
        if self.style == "lenet":
            self.letters += 1
            return f"C{self.letters}"
        if self.style == "vgg":
            self.in_stage += 1
            return f"conv{self.stage}_{self.in_stage}"
        return f"conv{self.convs}"

    def pool_name(self) -> str:
        self.pools += 1
        if self.style == "lenet":
            self.letters += 1
            return f"S{self.letters}"
        if self.style == "vgg":
            name = f"pool{self.stage}"
            self.stage, self.in_stage = self.stage + 1, 0
            return name
        if self.style == "alexnet":
            return f"pool{self.convs}"
        if self.inception_group:  # GoogLeNet: the pool after inception3b is pool3
            name = f"pool{self.inception_group}"
            self.inception_group, self.inception_letter = self.inception_group + 1, 0
            return name
        return f"pool{self.pools}"

    def dense_name(self) -> str:
        self.dense += 1
        if self.style == "lenet":
            self.letters += 1
            if self.dense == self.dense_total:
                return "output"
            return f"C{self.letters}" if self.dense == 1 else f"F{self.letters}"
        if self.style == "keras":
            return "out" if self.dense == self.dense_total else f"dense{self.dense}"
        if self.dense_total == 1:
            return "fc"
        base = self.stage - 1 if self.style == "vgg" else self.convs
        return f"fc{base + self.dense}"

    def next_dense(self) -> str:
        """The name the next dense layer will get (dropout is named after the layer it feeds)."""
        saved = (self.dense, self.letters)
        name = self.dense_name()
        self.dense, self.letters = saved
        return name


def _walk_trunk(namer: _Namer, module: nn.Module, prefix: str) -> None:
    for local, child in module.named_children():
        path = f"{prefix}{local}"
        _name_unit(namer, child, path, local)


def _name_unit(namer: _Namer, child: nn.Module, path: str, local: str) -> None:
    if not _name_block(namer, child, path, local):
        _name_leaf(namer, child, path, local)


def _name_block(namer: _Namer, child: nn.Module, path: str, local: str) -> bool:
    """Name a block or a container and what is inside it; False for a plain layer."""
    if is_inception(child):
        if not namer.inception_group:
            namer.inception_group = 3
        name = f"inception{namer.inception_group}{chr(ord('a') + namer.inception_letter)}"
        namer.inception_letter += 1
        namer.put(path, name)
        _name_inception(namer, child, path, name)
    elif is_residual(child):
        _name_residual(namer, child, path)
    elif is_nin_block(child):
        _name_nin(namer, child, path)
    elif is_vgg_block(child) and namer.style == "vgg":
        namer.names[path] = f"block{namer.stage}"
        _walk_trunk(namer, child, path + ".")
    elif type(child) is nn.Sequential or (
        not is_conv(child) and any(True for _ in child.children())
    ):
        container = re.fullmatch(r"layer(\d+)", local)
        if container and any(is_residual(m) for m in child.children()):
            namer.res_stage, namer.res_block = int(container.group(1)), 0
            namer.names[path] = f"stage{namer.res_stage}"
        else:
            namer.names[path] = local if not local.isdigit() else f"seq{local}"
        _walk_trunk(namer, child, path + ".")
    else:
        return False
    return True


def _name_nin(namer: _Namer, child: nn.Module, path: str) -> None:
    """A NiN block: mlpconvB, its first convolution convB, the 1x1 ones cccp1, cccp2..."""
    namer.mlpconv += 1
    b = namer.mlpconv
    namer.put(path, f"mlpconv{b}")
    k = 0
    for sub_local, sub in child.named_children():
        sub_path = f"{path}.{sub_local}"
        if isinstance(sub, nn.Conv2d):
            namer.convs += 1
            name = f"conv{b}" if k == 0 else f"cccp{2 * (b - 1) + k}"
            k += 1
            namer.put(sub_path, name)
        else:
            namer.names[sub_path] = _relu_name(namer.last)


def _name_leaf(namer: _Namer, child: nn.Module, path: str, local: str) -> None:
    """Name one layer: the weighted ones (convolution, pooling, dense) advance the counters;
    activations, dropout and batch norm are named after the layer they belong to."""
    if is_conv(child):
        name = namer.conv_name()
        namer.put(path, name)
        _name_inside(namer, child, path, name)
    elif isinstance(child, POOLS):
        namer.put(path, namer.pool_name())
    elif isinstance(child, ADAPTIVE):
        size = child.output_size
        is_global = size in (1, (1, 1), [1, 1])
        namer.put(
            path,
            "gap"
            if is_global
            else ("avgpool" if isinstance(child, nn.AdaptiveAvgPool2d) else "maxpool"),
        )
    elif isinstance(child, nn.Linear):
        namer.put(path, namer.dense_name())
    else:
        namer.names[path] = _follower_name(namer, child, local)


def _follower_name(namer: _Namer, child: nn.Module, local: str) -> str:
    """The name of a layer that follows another (activation, dropout, batch norm, flatten...)."""
    if isinstance(child, ACTIVATIONS):
        return (
            _relu_name(namer.last)
            if isinstance(child, nn.ReLU)
            else f"{type(child).__name__.lower()}_{namer.last}"
        )
    if isinstance(child, nn.Dropout):
        nxt = namer.next_dense() if namer.dense < namer.dense_total else ""
        match = re.fullmatch(r"fc(\d+)", nxt)
        return f"drop{match.group(1)}" if match else "dropout"
    if isinstance(child, nn.BatchNorm2d):
        match = re.fullmatch(r"conv(\d[\d_]*)", namer.last)
        return f"bn{match.group(1)}" if match else f"bn_{namer.last}"
    if isinstance(child, nn.Flatten):
        return "flatten"
    return local if not local.isdigit() else f"{type(child).__name__.lower()}{local}"


def _name_inside(namer: _Namer, unit: nn.Module, path: str, name: str) -> None:
    """The insides of a unit keep their local names under the unit's name (conv1/bn)."""
    for sub_path, _sub in unit.named_modules(prefix=path):
        if sub_path != path:
            namer.names[sub_path] = name + "/" + sub_path[len(path) + 1 :].replace(".", "/")


def _name_inception(namer: _Namer, block: nn.Module, path: str, name: str) -> None:
    branches = list(block.named_children())
    regular = len(branches) == len(_BRANCH_NAMES)
    for j, (local, branch) in enumerate(branches):
        b_path = f"{path}.{local}"
        units = [
            (n, m)
            for n, m in (
                branch.named_children() if type(branch) is nn.Sequential else [("", branch)]
            )
        ]
        weighted = [m for _, m in units if is_conv(m) or isinstance(m, POOLS)]
        template = _BRANCH_NAMES[j] if regular and len(weighted) == len(_BRANCH_NAMES[j]) else None
        if type(branch) is nn.Sequential:
            namer.names[b_path] = f"{name}/branch{j + 1}"
        k, last = 0, f"{name}/branch{j + 1}"
        for u_local, unit in units:
            u_path = f"{b_path}.{u_local}" if u_local else b_path
            if is_conv(unit) or isinstance(unit, POOLS):
                leaf = template[k] if template else f"branch{j + 1}_{k + 1}"
                k += 1
                last = f"{name}/{leaf}"
                namer.names[u_path] = last
                _name_inside(namer, unit, u_path, last)
            elif isinstance(unit, ACTIVATIONS):
                namer.names[u_path] = _relu_name(last)
            else:
                namer.names[u_path] = f"{last}/{u_local or type(unit).__name__.lower()}"
                _name_inside(namer, unit, u_path, namer.names[u_path])


def _starts_stage(block: nn.Module) -> bool:
    first = next((c for c in block.modules() if isinstance(c, nn.Conv2d)), None)
    return first is not None and (first.stride != (1, 1) or first.in_channels != first.out_channels)


def _name_residual(namer: _Namer, block: nn.Module, path: str) -> None:
    in_container = re.search(r"(^|\.)layer\d+\.\d+$", path) is not None
    if not in_container and (
        namer.res_stage == 0 or (_starts_stage(block) and namer.res_block > 0)
    ):
        namer.res_stage, namer.res_block = namer.res_stage + 1, 0  # blocks without stage containers
    namer.res_block += 1
    name = f"stage{namer.res_stage}.block{namer.res_block}"
    namer.put(path, name)
    for sub_path, sub in block.named_modules(prefix=path):
        if sub_path == path:
            continue
        rel = sub_path[len(path) + 1 :]
        head, _, rest = rel.partition(".")
        if head in ("downsample", "shortcut"):
            head = "shortcut"
            if rest:
                kind = (
                    "conv"
                    if isinstance(sub, nn.Conv2d)
                    else ("bn" if isinstance(sub, nn.BatchNorm2d) else rest)
                )
                rel = f"{head}/{kind}"
            else:
                rel = head
        namer.names[sub_path] = f"{name}/{rel.replace('.', '/')}"


def layer_names(model: nn.Module, arch: str | None = None) -> dict[str, str]:
    """Module path -> readable paper-style name, for every named module of ``model``.

    ``arch`` (a catalog key) picks the family's convention; without it the convention is
    guessed from the structure. Names are unique per model and never equal another
    module's raw path, so :func:`resolve_layer` accepts either.
    """
    style = naming_style(model, arch)
    if style == "own":  # an imported model: the names in the user's file
        return {p: p for p, _ in model.named_modules() if p}
    namer = _Namer(style)
    namer.dense_total = sum(1 for m in model.modules() if isinstance(m, nn.Linear))
    _walk_trunk(namer, model, "")
    paths = [p for p, _ in model.named_modules() if p]
    raw = set(paths)
    out: dict[str, str] = {}
    taken: set[str] = set()
    for p in paths:
        name = namer.names.get(p, p)
        if name in taken or (name in raw and name != p):
            name = p  # a clash (an unusual model): the raw path is always unique
        out[p] = name
        taken.add(name)
    return out


def resolve_layer(model: nn.Module, name: str, arch: str | None = None) -> str:
    """The module path of ``name``, which may be a readable name or a raw module path.

    Raises :class:`UnknownLayerError` with a few valid names when it is neither.
    """
    names = layer_names(model, arch)
    if name in names:
        return name
    reverse = {v: k for k, v in names.items()}
    if name in reverse:
        return reverse[name]
    sample = ", ".join(list(reverse)[:8])
    raise UnknownLayerError(
        f"Unknown layer {name!r}: the model has no layer of that name (e.g. {sample})."
    )


def display_name(name: str) -> str:
    """A name for people: 'stage2.block2' -> 'stage 2, block 2'; other names unchanged."""
    match = re.fullmatch(r"stage(\d+)\.block(\d+)(/.*)?", name)
    if match:
        return f"stage {match.group(1)}, block {match.group(2)}" + (match.group(3) or "").replace(
            "/", " / "
        )
    return name


def readable_names(model: nn.Module, arch: str | None = None) -> dict[str, str]:
    """Module path -> the paper-style name the other pages use (``C1``, ``conv3_2``, ``stage 2,
    block 1``); an empty mapping (raw paths shown) for a model the namer cannot read."""
    try:
        return {path: display_name(name) for path, name in layer_names(model, arch).items()}
    except Exception:
        log.warning("No readable layer names for %s", type(model).__name__, exc_info=True)
        return {}
