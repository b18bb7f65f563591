"""The app starts without the engine: Home needs no model, so opening it must not import torch,
torchvision or captum (about 1-6 s of a server's start on a small machine). Run in a fresh
interpreter, since this test process has long imported torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "captum")

_PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=60)
at.run()
print(json.dumps({"exception": [e.value for e in at.exception], "titles": [t.value for t in at.title],
                  "loaded": [m for m in %r if m in sys.modules]}))
"""


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_app_shell_modules_import_no_torch() -> None:
    mods = [
        "explorer.ui.common",
        "explorer.ui.course",
        "explorer.ui.navigation",
        "explorer.ui.heap",
        "explorer.ui.server_log",
        "explorer.ui.identity",
        "explorer.ui.state",
        "explorer.models.catalog",
    ]
    got = _run(
        f"import json, sys\nimport {', '.join(mods)}\n"
        f"print(json.dumps({{'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    assert got["loaded"] == []


def test_home_opens_without_torch() -> None:
    got = _run(_PROBE % (HEAVY,))
    assert got["exception"] == []
    assert got["titles"] == ["Architecture Explorer"]
    assert got["loaded"] == []


def test_the_children_that_read_uploads_import_no_torch() -> None:
    """The child processes that parse a model file (issue 20) or decode an image set start from
    these modules: without torch each is up in a fraction of a second instead of ~2 s and
    ~0.5 GB per upload."""
    mods = [
        "explorer.sandbox.worker",
        "explorer.data.image_set_decode",
        "explorer.models.imports.parse",
        "explorer.models.imports.onnx_file",
        "explorer.models.imports.keras_files",
        "explorer.models.imports.keras_model",
    ]
    got = _run(
        f"import json, sys\nimport {', '.join(mods)}\n"
        f"print(json.dumps({{'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    assert got["loaded"] == []
