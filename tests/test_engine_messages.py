"""Error text in the engine names no page.

The engine (``explorer/`` except ``explorer/ui/``) runs in scripts, notebooks and worker
processes as well as under the app, and pages get renamed and rearranged. So the message of an
exception the engine raises says what is wrong and what to change in the input, never where to
click ("the Training page", "the panel below", "the sidebar"); the ui adds where to go when it
shows the message. Measured with ``ast`` on every ``raise`` and every ``...Error(...)`` call.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "explorer"

PAGES = "Home|Basics|Architectures|Feature maps|Training|Recurrent|Experiments|Course"
WHERE = re.compile(
    rf"\b({PAGES}) (page|tab)\b|\bpages?\b|\bsidebar\b|\bpanel below\b|\bbutton\b", re.IGNORECASE
)


def _message_nodes(tree: ast.AST):
    """The string parts of every raised exception and every ``...Error(...)`` / ``...Exception(...)``
    call (a message built first and raised later is usually built in such a call)."""
    seen: set[int] = set()
    for node in ast.walk(tree):
        call = node.exc if isinstance(node, ast.Raise) else node
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if isinstance(node, ast.Raise) or name.endswith(("Error", "Exception")):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                for part in ast.walk(arg):
                    text = isinstance(part, ast.Constant) and isinstance(part.value, str)
                    if text and id(part) not in seen:
                        seen.add(id(part))
                        yield part


def page_mentions(source: str, where: str) -> list[str]:
    return [
        f"{where}:{part.lineno}: {part.value!r}"
        for part in _message_nodes(ast.parse(source))
        if WHERE.search(part.value)
    ]


def test_engine_error_messages_name_no_page() -> None:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.relative_to(ROOT).parts[0] != "ui":
            found += page_mentions(path.read_text(), str(path.relative_to(ROOT.parent)))
    assert found == [], "say what is wrong, not where to click (the ui adds that):\n" + "\n".join(
        found
    )


def test_the_check_sees_a_page_in_a_message() -> None:
    source = """
def f(x):
    if x:
        raise ValueError(f"Too big: open the Training page and lower it ({x}).")
    err = TransferError("use the panel below")
    raise RuntimeError("Training is unavailable: Ray is not installed.")
"""
    assert page_mentions(source, "m.py") == [
        "m.py:4: 'Too big: open the Training page and lower it ('",
        "m.py:5: 'use the panel below'",
    ]
