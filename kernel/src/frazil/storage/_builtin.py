"""The kernel's built-in storages, registered as a plugin like any other.

Declared in ``kernel/pyproject.toml`` as ``frazil-builtin`` in the
``frazil.storage`` entry-point group, and registered first by the manager.
"""

from __future__ import annotations

from frazil.plugins._registry import StorageRegistry
from frazil.plugins.hookspecs import hookimpl
from frazil.storage import in_memory_storage, local_filesystem_storage
from frazil.storage._url import local_from_url, memory_from_url


@hookimpl
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register ``in_memory`` (``memory://``) and ``local_filesystem`` (``file://``)."""
    registry.add("in_memory", in_memory_storage, url_schemes=("memory",),
                 from_url=memory_from_url, distribution="frazil")
    registry.add("local_filesystem", local_filesystem_storage, url_schemes=("file",),
                 from_url=local_from_url, distribution="frazil")
