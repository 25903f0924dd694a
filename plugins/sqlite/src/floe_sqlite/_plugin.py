"""Entry point of floe-sqlite (group ``floe.storage``): registers ``sqlite://``."""

from __future__ import annotations

from floe.plugins import StorageRegistry, hookimpl

from floe_sqlite._storage import sqlite_from_url, sqlite_storage


@hookimpl
def floe_register_storage(registry: StorageRegistry) -> None:
    """Register the ``sqlite`` backend, serving ``sqlite://`` URLs."""
    registry.add("sqlite", sqlite_storage, url_schemes=("sqlite",), from_url=sqlite_from_url)
