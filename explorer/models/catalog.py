"""The catalog: every architecture of the course as data, in the order the course tells it.

Pages read titles, years, papers and ideas from here; nothing is hard-coded in a page.
The entries are data modules (:mod:`explorer.models.catalog_entries`,
:mod:`explorer.models.catalog_recurrent`, what an entry is: :mod:`explorer.models.catalog_types`);
this module looks them up.
"""

from __future__ import annotations

from explorer.models.catalog_entries import cnn_entries
from explorer.models.catalog_recurrent import recurrent_entries
from explorer.models.catalog_types import ArchSpec, Kind

CATALOG: dict[str, ArchSpec] = {s.key: s for s in [*cnn_entries(), *recurrent_entries()]}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(spec.family for spec in CATALOG.values()))
# Entries of users' imported models (explorer.models.imported_entry), never listed by catalog(): a key is
# the digest of the model's spec, so only a session that imported that model holds its key.
OWN_ENTRIES: dict[str, ArchSpec] = {}


def get_spec(key: str) -> ArchSpec:
    """The catalog entry for ``key`` (or an imported model's); a clear KeyError for unknown keys."""
    try:
        return CATALOG[key] if key in CATALOG else OWN_ENTRIES[key]
    except KeyError:
        raise KeyError(f"Unknown architecture {key!r}. Known: {', '.join(CATALOG)}.") from None


def progression(kind: Kind = "cnn") -> list[ArchSpec]:
    """The first dated entry of each family, in the course's order (LeNet, AlexNet, VGG, NiN,
    GoogLeNet, ResNet: the catalog's order, which puts VGG (2014) before NiN (2013) as the course
    tells it).

    Undated entries (the course's own example) are left out rather than given a made-up year.
    """
    firsts: dict[str, ArchSpec] = {}
    for spec in catalog(kind=kind):
        if spec.year is not None and spec.family not in firsts:
            firsts[spec.family] = spec
    return list(firsts.values())


def catalog(
    kind: Kind | None = None, compact: bool | None = None, family: str | None = None
) -> list[ArchSpec]:
    """Catalog entries in course order, optionally filtered."""
    return [
        s
        for s in CATALOG.values()
        if (kind is None or s.kind == kind)
        and (compact is None or s.compact == compact)
        and (family is None or s.family == family)
    ]
