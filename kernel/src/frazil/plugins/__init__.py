"""frazil's plugin kernel: hookspecs, register objects and the typed facade.

A third-party plugin needs only :data:`hookimpl` and the register objects::

    from frazil.plugins import hookimpl

    @hookimpl
    def frazil_register_storage(registry):
        registry.add("s3", s3_storage, url_schemes=("s3", "s3a"), from_url=s3_from_url)
"""

from __future__ import annotations

from frazil.plugins._registry import (
    KNOWN_PROVIDERS,
    ConflictSolverRegistry,
    ManifestSplitPolicyRegistry,
    NameRegistry,
    PluginConflictError,
    PluginNotFoundError,
    Provider,
    Registry,
    StorageRegistry,
    VirtualChunkResolverRegistry,
    install_hint,
)
from frazil.plugins.hookspecs import hookimpl, hookspec
from frazil.plugins.manager import (
    AUTOLOAD_ENV,
    BLOCKED_ENV,
    BUILTIN_PLUGINS,
    ENTRY_POINT_GROUPS,
    PluginInfo,
    Plugins,
    backend_names_getattr,
    get_plugins,
    new_plugins,
    reset_plugins,
)

__all__ = [
    "AUTOLOAD_ENV",
    "BLOCKED_ENV",
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUPS",
    "KNOWN_PROVIDERS",
    "ConflictSolverRegistry",
    "ManifestSplitPolicyRegistry",
    "NameRegistry",
    "PluginConflictError",
    "PluginInfo",
    "PluginNotFoundError",
    "Plugins",
    "Provider",
    "Registry",
    "StorageRegistry",
    "VirtualChunkResolverRegistry",
    "backend_names_getattr",
    "get_plugins",
    "hookimpl",
    "hookspec",
    "install_hint",
    "new_plugins",
    "reset_plugins",
]
