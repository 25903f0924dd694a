"""Entry point of frazil-sqlite (group ``frazil.storage``): registers ``sqlite://``."""

from __future__ import annotations

from frazil.plugins import StorageRegistry, hookimpl

from frazil_sqlite._storage import sqlite_from_url, sqlite_storage


@hookimpl
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register the ``sqlite`` backend, serving ``sqlite://`` URLs."""
    registry.add("sqlite", sqlite_storage, url_schemes=("sqlite",), from_url=sqlite_from_url)
