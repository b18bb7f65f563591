"""Process-wide state of the ui lives in one module, ``explorer/ui/process_state.py``.

Every session of a Streamlit server runs in one Python process, so a module-level variable is
shared by all browsers. Outside ``process_state``, a module under ``explorer/ui/`` may hold
constant tables (ALL_CAPS names, never changed after import), loggers, compiled patterns and
``st.cache_*`` caches, but no state that changes while the server runs: no lock or event, no
lowercase module-level container, no ``global`` rebinding, no function that changes a
module-level container in place. Measured with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "explorer" / "ui"
HOME = UI / "process_state.py"

CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter"}
SYNC_CALLS = {"Lock", "RLock", "Event", "Condition", "Semaphore", "BoundedSemaphore"}
MUTATORS = {
    "append",
    "add",
    "clear",
    "discard",
    "extend",
    "insert",
    "pop",
    "popitem",
    "remove",
    "setdefault",
    "update",
}


def _call_name(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _is_constant_name(name: str) -> bool:
    return name == "__all__" or name.lstrip("_").isupper()


def _module_level(tree: ast.Module) -> list[tuple[str, ast.AST, int]]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target] if node.value is not None else []
        else:
            continue
        found += [(t.id, node.value, node.lineno) for t in targets]
    return found


def _changed_in_place(node: ast.AST) -> str | None:
    """The name a statement changes in place (``x[k] = v``, ``del x[k]``, ``x.add(v)``), or None."""
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
        for t in getattr(node, "targets", None) or [node.target]:
            if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                return t.value.id
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id if func.attr in MUTATORS else None
    return None


def problems(source: str, where: str) -> list[str]:
    """What in one ui module's source is process-wide mutable state."""
    tree = ast.parse(source)
    out = []
    names = set()
    for name, value, line in _module_level(tree):
        names.add(name)
        call = _call_name(value)
        if call in SYNC_CALLS:
            out.append(f"{where}:{line}: {name} = {call}() (a process-wide lock or event)")
        container = call in CONTAINER_CALLS or isinstance(
            value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
        )
        if container and not _is_constant_name(name):
            out.append(f"{where}:{line}: {name} is a module-level container (mutable state)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            out.append(f"{where}:{node.lineno}: global {', '.join(node.names)}")
        target = _changed_in_place(node)
        if target in names:
            out.append(f"{where}:{node.lineno}: changes the module-level {target} in place")
    return out


def test_no_ui_module_but_process_state_holds_process_wide_state() -> None:
    found = []
    for path in sorted(UI.rglob("*.py")):
        if path != HOME:
            found += problems(path.read_text(), str(path.relative_to(UI)))
    assert found == []


def test_process_state_holds_what_it_says() -> None:
    from explorer.ui import process_state

    assert process_state.job_manager is None or hasattr(process_state.job_manager, "submit")
    assert isinstance(process_state.owner_sessions, dict)
    assert isinstance(process_state.gc_frozen_at, int)
    assert problems(HOME.read_text(), "process_state.py")  # it does hold such state


def test_the_check_sees_each_kind_of_process_wide_state() -> None:
    source = """
import threading
TABLE = {"a": 1}
_seen = set()
_lock = threading.Lock()
_current = None

def remember(key):
    global _current
    _current = key
    TABLE[key] = 2
    _seen.add(key)
"""
    found = problems(source, "m.py")
    assert found == [
        "m.py:4: _seen is a module-level container (mutable state)",
        "m.py:5: _lock = Lock() (a process-wide lock or event)",
        "m.py:9: global _current",
        "m.py:11: changes the module-level TABLE in place",
        "m.py:12: changes the module-level _seen in place",
    ]
    assert problems('LEVELS = {"a": 1}\n__all__ = ["f"]\n', "ok.py") == []
