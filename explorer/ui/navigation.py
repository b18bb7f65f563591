"""The app's pages as data: app.py builds the navigation from it, the tests iterate over it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageDef:
    file: str
    title: str
    url_path: str


PAGES: tuple[PageDef, ...] = (
    PageDef("app_pages/home.py", "Home", ""),  # the default page lives at "/"
    PageDef("app_pages/course.py", "Course", "course"),
    PageDef("app_pages/basics.py", "Convolution basics", "basics"),
    PageDef("app_pages/architectures.py", "Architectures", "architectures"),
    PageDef("app_pages/feature_maps.py", "Feature maps", "feature-maps"),
    PageDef("app_pages/training.py", "Training", "training"),
    PageDef("app_pages/recurrent.py", "Recurrent networks", "recurrent"),
    PageDef("app_pages/experiments.py", "Experiments", "experiments"),
)
