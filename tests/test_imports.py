"""The import graph of explorer/: no circle, no upward edge between layers.

Every ``import`` counts: one inside a function (a lazy import is still a dependency and still
closes a circle: ``models/weights.py <-> training/checkpoints.py`` was one) and one under
``if TYPE_CHECKING:`` (it never runs, but it is a dependency of the code's meaning all the same:
``training/job.py <-> training/backends/base.py`` hid there until the backends typed against the
``JobHandle`` protocol instead of the job class).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Layers from the bottom. A module may import its own package and anything in a lower layer.
LAYERS = {
    "device": 0,
    "bounded": 0,
    "basics": 0,
    "sandbox": 0,  # sandbox: untrusted work in a child process (data and models use it)
    "data": 1,
    "models": 1,  # "models and data import nothing above them" (nor each other)
    "probe": 2,
    "training": 3,
    "viz": 4,  # figures of probes and training events
    "ui": 5,  # the only Streamlit code of the engine
}

# Edges present today that break the rules, each waiting for its module's owner to move it.
# The test below fails when one of them disappears, so this list can only shrink.
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_CIRCLES: set[frozenset[str]] = set()


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (ROOT / "explorer").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def imported_names(source: str, package: str) -> list[str]:
    """Every dotted name one module's source imports, wherever the import stands (in a function,
    under ``if TYPE_CHECKING:``); relative imports resolved against ``package``."""
    targets: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets += [f"{base}.{a.name}" for a in node.names]
    return targets


def import_graph(mods: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module -> the explorer modules it imports (a name imported from a package counts as the
    submodule when it is one, else as the package's ``__init__``)."""
    mods = _modules() if mods is None else mods

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in mods.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for target in imported_names(path.read_text(), package):
            if target.split(".")[0] in {"explorer", "app_pages", "app"}:
                found = resolve(target) if target.startswith("explorer") else target
                if found and found != module:
                    graph[module].add(found)
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    nodes = set(graph) | {w for targets in graph.values() for w in targets}
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.add(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def upward_edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    bad = set()
    for a, targets in graph.items():
        for b in targets:
            if not b.startswith("explorer"):
                bad.add((a, b))  # the engine never imports the app or its pages
                continue
            la, lb = _layer(a), _layer(b)
            if la == lb:
                continue
            if la not in LAYERS or lb not in LAYERS or LAYERS[lb] >= LAYERS[la]:
                bad.add((a, b))
    return bad


def test_every_engine_package_has_a_layer() -> None:
    packages = {_layer(m) for m in _modules()} - {""}
    assert packages <= set(LAYERS), packages - set(LAYERS)


def test_no_upward_edge() -> None:
    bad = upward_edges(import_graph())
    assert bad - KNOWN_UPWARD == set(), sorted(bad - KNOWN_UPWARD)
    assert bad >= KNOWN_UPWARD, f"fixed, remove from KNOWN_UPWARD: {sorted(KNOWN_UPWARD - bad)}"


def test_no_import_circle() -> None:
    found = set(circles(import_graph()))
    assert found - KNOWN_CIRCLES == set(), [sorted(c) for c in found - KNOWN_CIRCLES]
    assert found >= KNOWN_CIRCLES, (
        f"fixed, remove from KNOWN_CIRCLES: {[sorted(c) for c in KNOWN_CIRCLES - found]}"
    )


def test_the_checker_sees_a_circle_and_an_upward_edge() -> None:
    # The old circle models/weights.py <-> training/checkpoints.py, written as a graph.
    graph = {
        "explorer.models.weights": {"explorer.training.checkpoints"},
        "explorer.training.checkpoints": {"explorer.models.weights"},
    }
    assert circles(graph) == [frozenset(graph)]
    assert upward_edges(graph) == {("explorer.models.weights", "explorer.training.checkpoints")}
    assert upward_edges(
        {"explorer.probe.x": {"explorer.ui.browser_jobs"}, "explorer.ui.y": {"explorer.models"}}
    ) == {("explorer.probe.x", "explorer.ui.browser_jobs")}


def test_an_import_under_type_checking_is_an_edge(tmp_path: Path) -> None:
    # The circle job <-> backends.base as it was: the backend's half only under TYPE_CHECKING.
    job = tmp_path / "job.py"
    job.write_text("from explorer.training.backends.base import JobSpec\n")
    base = tmp_path / "base.py"
    base.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from explorer.training.job import Job\n"
    )
    graph = import_graph({"explorer.training.job": job, "explorer.training.backends.base": base})
    assert graph["explorer.training.backends.base"] == {"explorer.training.job"}
    assert circles(graph) == [
        frozenset({"explorer.training.job", "explorer.training.backends.base"})
    ]
