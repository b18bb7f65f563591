"""ui/ holds what draws and what is per session: no function there is engine logic.

A function under ``explorer/ui/`` counts as ui when it uses Streamlit (``st.``, any name bound by
an ``import streamlit...``, a decorator such as ``@st.cache_data`` included) or session state
(``session_state``), directly or through a ui function it refers to: one of its own module
(``f(...)``, or passed as a callback), of its own class (``self.f``) or of another ui module
(imported by name or through its module). Everything else is engine code that belongs in the
engine (``explorer/`` outside ``ui/``). Measured with ``ast``, so a new offender fails here.
:data:`ALLOWED` lists today's offenders by qualified name and can only shrink: the test also
fails when a listed function is gone or is ui now (remove it from the list then), like
``tests/test_imports.py``'s ratchet.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "explorer" / "ui"

_Func = tuple[str, str]  # (module, qualified name in it)

# Offenders present today, each waiting to move to its engine home (or to be judged ui and
# rewritten so that it is). Only shrinks.
ALLOWED: frozenset[str] = frozenset(
    {
        *(f"explorer/ui/arch_diagram.py::{q}" for q in ("_input_shape", "_rows", "link_weights")),
        *(f"explorer/ui/arch_sections.py::{q}" for q in ("_side_parse",)),
        *(
            f"explorer/ui/basics_conv.py::{q}"
            for q in (
                "Basics.side",
                "_bind_pos",
                "_parse_pos",
                "_typed_start",
                "stride_padding_inputs",
            )
        ),
        *(f"explorer/ui/basics_sections.py::{q}" for q in ("course_number",)),
        *(f"explorer/ui/common.py::{q}" for q in ("InputFold.close", "fold_inputs", "human")),
        *(
            f"explorer/ui/feature_views/__init__.py::{q}"
            for q in ("url_tokens", "view_for", "view_labels")
        ),
        *(
            f"explorer/ui/feature_views/context.py::{q}"
            for q in ("ViewContext.mi", "ViewContext.name_of", "paper_label")
        ),
        *(
            f"explorer/ui/feature_views/looks_for.py::{q}"
            for q in (
                "_png",
                "_settings",
                "_spatial_layers",
            )
        ),
        *(f"explorer/ui/feature_views/space.py::{q}" for q in ("_compute",)),
        *(f"explorer/ui/heap.py::{q}" for q in ("freeze_loaded",)),
        *(f"explorer/ui/identity.py::{q}" for q in ("_new_id",)),
        *(
            f"explorer/ui/browser_jobs.py::{q}"
            for q in (
                "_env_float",
                "_log_once",
                "_resumable",
                "_shutdown",
                "compact_history",
                "poll_interval",
                "server_settings",
            )
        ),
        *(
            f"explorer/ui/kernel_editor.py::{q}"
            for q in (
                "_bind",
                "_fmt_kernel",
                "_kernel_ok",
                "_parse_kernel",
                "_valid_kernel",
            )
        ),
        *(
            f"explorer/ui/image_set_panel.py::{q}"
            for q in ("_touch", "expire", "keep_shot", "root", "user_folder")
        ),
        *(f"explorer/ui/own_model.py::{q}" for q in ("_from_checkpoint",)),
        *(
            f"explorer/ui/recurrent_sections.py::{q}"
            for q in (
                "bind_network",
                "catalog_key",
                "network_config",
            )
        ),
        *(f"explorer/ui/recurrent_view_section.py::{q}" for q in ("view_fold_label",)),
        *(
            f"explorer/ui/recurrent_views.py::{q}"
            for q in ("ViewContext.bind", "_quantity", "_unique")
        ),
        *(f"explorer/ui/runs_panel.py::{q}" for q in ("store",)),
        *(
            f"explorer/ui/server_log.py::{q}"
            for q in (
                "_StderrHandler.__init__",
                "_StderrHandler.stream",
                "setup_logging",
            )
        ),
        *(
            f"explorer/ui/state.py::{q}"
            for q in (
                "PageState._refuse",
                "PageState.not_in_link",
                "PageState.refused",
                "PageState.remembered",
                "_formatter_for",
                "_hashable",
                "_is_valid",
                "_parser_for",
            )
        ),
        *(f"explorer/ui/training_sections.py::{q}" for q in ("_start_problems",)),
        *(f"explorer/ui/training_url.py::{q}" for q in ("_valid",)),
        *(f"explorer/ui/url_values.py::{q}" for q in ("ascii_float", "ascii_int", "escape_text")),
        *(f"explorer/ui/view_link.py::{q}" for q in ("_page_paths", "app_base_url")),
    }
)  # 75 functions


def _streamlit_names(tree: ast.Module) -> set[str]:
    names = {"st"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {
                (a.asname or a.name).split(".")[0]
                for a in node.names
                if a.name.split(".")[0] == "streamlit"
            }
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "streamlit":
            names |= {a.asname or a.name for a in node.names}
    return names


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Qualified name -> node: module-level functions and the methods of module-level classes."""
    out: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out.setdefault(
                        f"{node.name}.{sub.name}", sub
                    )  # a property's setter: its getter decides
    return out


def _direct(node: ast.AST, st_names: set[str]) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and (n.id in st_names or n.id == "session_state"):
            return True
        if isinstance(n, ast.Attribute) and n.attr == "session_state":
            return True
    return False


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _ui_imports(tree: ast.Module, package: str) -> tuple[dict[str, _Func], dict[str, str]]:
    """Names bound to ui functions (``from explorer.ui.x import f``: name -> (module, f)) and to
    ui modules (``from explorer.ui import x``, ``import explorer.ui.x as x``: name -> module)."""
    names: dict[str, _Func] = {}
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if not base.startswith("explorer.ui"):
                continue
            for a in node.names:
                names[a.asname or a.name] = (base, a.name)
                modules[a.asname or a.name] = f"{base}.{a.name}"  # a submodule, if it is one
        elif isinstance(node, ast.Import):
            modules |= {
                a.asname: a.name
                for a in node.names
                if a.name.startswith("explorer.ui") and a.asname
            }
    return names, modules


def _tables(tree: ast.Module, functions: dict) -> dict[str, set[str]]:
    """Module-level names bound to values that hold this module's functions (a dispatch table,
    a view registry): name -> those functions."""
    out: dict[str, set[str]] = {}
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        held = (
            {n.id for n in ast.walk(value) if isinstance(n, ast.Name) and n.id in functions}
            if value
            else set()
        )
        for target in targets:
            if isinstance(target, ast.Name) and held:
                out[target.id] = held
    return out


def _refers_to(
    module: str,
    qual: str,
    node: ast.AST,
    functions: dict,
    imports: tuple,
    tables: dict[str, set[str]],
) -> set[_Func]:
    """The functions ``node`` refers to: its module's own (also through a module-level table of
    them), its class's (``self.f``) and other ui modules' (imported by name or through their module)."""
    names, modules = imports
    cls = qual.rpartition(".")[0]
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id in functions:
            out.add((module, n.id))  # called or passed (a callback): either way it runs this ui
        elif isinstance(n, ast.Name) and n.id in tables:
            out |= {(module, f) for f in tables[n.id]}
        elif isinstance(n, ast.Name) and n.id in names:
            out.add(names[n.id])
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
            if n.value.id in {"self", "cls"} and f"{cls}.{n.attr}" in functions:
                out.add((module, f"{cls}.{n.attr}"))
            elif n.value.id in modules:
                out.add((modules[n.value.id], n.attr))
    return out


def _graph(sources: dict[str, str]) -> tuple[dict[_Func, set[_Func]], set[_Func]]:
    """Module -> source in; every function -> what it refers to, and those using Streamlit out."""
    refs: dict[_Func, set[_Func]] = {}
    direct: set[_Func] = set()
    for module, source in sources.items():
        tree = ast.parse(source)
        is_package = module.endswith(".__init__")
        module = module.removesuffix(".__init__")
        package = module if is_package else module.rpartition(".")[0]
        st_names, functions, imports = (
            _streamlit_names(tree),
            _functions(tree),
            _ui_imports(tree, package),
        )
        tables = _tables(tree, functions)
        for qual, node in functions.items():
            refs[(module, qual)] = _refers_to(module, qual, node, functions, imports, tables)
            if _direct(node, st_names):
                direct.add((module, qual))
    return refs, direct


def not_ui(sources: dict[str, str]) -> set[_Func]:
    """The functions that use Streamlit or session state neither directly nor through another."""
    refs, ui = _graph(sources)
    grew = True
    while grew:
        new = {f for f, targets in refs.items() if f not in ui and targets & ui}
        ui |= new
        grew = bool(new)
    return set(refs) - ui


def offenders() -> set[str]:
    """Qualified names (``explorer/ui/x.py::f``) of the functions under ui/ that are not ui."""
    paths = {}
    for path in sorted(UI.rglob("*.py")):
        name = _module(path) + (".__init__" if path.name == "__init__.py" else "")
        paths[name.removesuffix(".__init__")] = path
    sources = {
        (m + ".__init__" if p.name == "__init__.py" else m): p.read_text() for m, p in paths.items()
    }
    return {f"{paths[m].relative_to(ROOT).as_posix()}::{q}" for m, q in not_ui(sources)}


def test_ui_defines_no_engine_logic() -> None:
    found = offenders()
    new = sorted(found - ALLOWED)
    assert new == [], f"engine logic in ui/ (move it to the engine, or make it draw): {new}"
    fixed = sorted(ALLOWED - found)
    assert fixed == [], f"gone or ui now: remove them from ALLOWED: {fixed}"


def test_the_measure_tells_ui_from_engine() -> None:
    page = """
import streamlit as st
from streamlit import session_state as ss
from explorer.ui.store import kept
from explorer.ui import store

def draws(): st.write(1)
def keeps(): return ss.get("k")
def via_state(x): return x.session_state
def helper(): return draws()
def mine(): return kept()
def through_module(): return store.kept()
def engine_only(): return store.pure()
def pure(a, b): return a + b
_TABLE = {"draw": draws}
def dispatch(k): return _TABLE[k]()
@st.cache_data
def cached(a): return pure(a, 1)
class C:
    def m(self): return self.n()
    def n(self): st.write(2)
    def p(self): return 3
"""
    store = """
import streamlit as st
def kept(): return _store()
def _store(): return st.session_state
def pure(): return 1
"""
    found = not_ui({"explorer.ui.page": page, "explorer.ui.store": store})
    assert found == {
        ("explorer.ui.page", "engine_only"),
        ("explorer.ui.page", "pure"),
        ("explorer.ui.page", "C.p"),
        ("explorer.ui.store", "pure"),
    }
