"""Architectures as data: the catalog, the builders and the weight loaders."""

from explorer.models.catalog import CATALOG, FAMILIES, ArchSpec, catalog, get_spec

__all__ = ["CATALOG", "FAMILIES", "ArchSpec", "catalog", "get_spec"]
