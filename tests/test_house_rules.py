"""The rules of the house that a green unit test would not otherwise show."""

import re
from pathlib import Path

from explorer.ui.navigation import PAGES

ROOT = Path(__file__).resolve().parents[1]
ENGINE = [p for p in (ROOT / "explorer").rglob("*.py") if "ui" not in p.relative_to(ROOT / "explorer").parts]


def test_the_engine_never_imports_streamlit() -> None:
    pattern = re.compile(r"^\s*(import streamlit|from streamlit)", re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in ENGINE if pattern.search(p.read_text())]
    assert offenders == []


def test_pages_are_thin() -> None:
    pattern = re.compile(r"nn\.Conv2d|nn\.Linear|\.backward\(|optim\.")
    offenders = [p.file for p in PAGES if pattern.search((ROOT / p.file).read_text())]
    assert offenders == []


def test_no_pickle_loading() -> None:
    sources = [*ROOT.joinpath("explorer").rglob("*.py"), *ROOT.joinpath("scripts").rglob("*.py"),
               *(ROOT / p.file for p in PAGES), ROOT / "app.py"]  # fmt: skip
    for path in sources:
        for line in path.read_text().splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, f"{path.relative_to(ROOT)}: {line.strip()}"


def test_every_page_file_is_in_the_navigation() -> None:
    folder = ROOT / Path(PAGES[0].file).parent
    on_disk = {str(p.relative_to(ROOT)) for p in folder.glob("*.py") if p.name != "__init__.py"}
    assert on_disk == {p.file for p in PAGES}


MAX_LINES = 400  # issue 13: a module longer than this mixes concerns; split it by concern


def test_no_engine_or_page_file_is_longer_than_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for folder in ("explorer", "app_pages")
        for p in (ROOT / folder).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"over {MAX_LINES} lines: {long}"
