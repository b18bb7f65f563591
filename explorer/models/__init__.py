"""Architectures as data: the catalog, the builders and the weight loaders."""

from explorer.models.catalog import CATALOG, FAMILIES, catalog, get_spec
from explorer.models.catalog_types import ArchSpec

__all__ = ["CATALOG", "FAMILIES", "ArchSpec", "catalog", "get_spec"]
