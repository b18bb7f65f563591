"""The app's pages as data: app.py builds the navigation from it, the tests iterate over it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageDef:
    file: str
    title: str
    url_path: str


PAGES: tuple[PageDef, ...] = (
    PageDef("pages/home.py", "Home", "home"),
    PageDef("pages/basics.py", "Convolution basics", "basics"),
    PageDef("pages/architectures.py", "Architectures", "architectures"),
    PageDef("pages/feature_maps.py", "Feature maps", "feature-maps"),
    PageDef("pages/training.py", "Training", "training"),
    PageDef("pages/recurrent.py", "Recurrent networks", "recurrent"),
)
