"""The plugin manager and its typed facade, :class:`Plugins`.

The manager is built in one place, in one order, on first use:

1. ``add_hookspecs(frazil.plugins.hookspecs)``;
2. block the entry-point names listed in ``FRAZIL_BLOCKED_PLUGINS``;
3. register the kernel's built-ins (:data:`BUILTIN_PLUGINS`; they are also
   declared as entry points, so autoload skips them by name);
4. register in-process plugins passed by the caller (tests);
5. unless ``FRAZIL_DISABLE_PLUGIN_AUTOLOAD`` is set, load the entry points of
   :data:`ENTRY_POINT_GROUPS` (a plugin that fails to import is skipped with a
   warning, so one broken backend cannot break local repositories);
6. ``check_pending()``.

Core code asks :func:`get_plugins` and calls one typed method per kind; it
never calls ``pm.hook.*`` itself.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import pluggy

from frazil.plugins import hookspecs
from frazil.plugins._registry import (
    KNOWN_PROVIDERS,
    ConflictSolverRegistry,
    ManifestSplitPolicyRegistry,
    NameRegistry,
    PluginNotFoundError,
    Registry,
    StorageRegistry,
    VirtualChunkResolverRegistry,
)

if TYPE_CHECKING:
    from frazil.storage import Storage

__all__ = [
    "AUTOLOAD_ENV",
    "BLOCKED_ENV",
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUPS",
    "PluginInfo",
    "Plugins",
    "get_plugins",
    "new_plugins",
    "reset_plugins",
]

ENTRY_POINT_GROUPS = ("frazil.storage", "frazil.virtual_chunks", "frazil.conflict_solvers",
                      "frazil.manifest_split")
AUTOLOAD_ENV = "FRAZIL_DISABLE_PLUGIN_AUTOLOAD"
BLOCKED_ENV = "FRAZIL_BLOCKED_PLUGINS"
# (entry-point name, module) of plugins shipped in the kernel distribution.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (("frazil-builtin", "frazil.storage._builtin"),
                                                ("frazil-builtin-split", "frazil.split"),
                                                ("frazil-builtin-file", "frazil._file_resolver"))
_KERNEL_DISTRIBUTION = "frazil"

_HOOKS: dict[type[Registry], str] = {
    StorageRegistry: "frazil_register_storage",
    VirtualChunkResolverRegistry: "frazil_register_virtual_chunk_resolvers",
    ConflictSolverRegistry: "frazil_register_conflict_solvers",
    ManifestSplitPolicyRegistry: "frazil_register_manifest_split_policies",
    NameRegistry: "frazil_register_names",
}


class PluginInfo(NamedTuple):
    """One row of :meth:`Plugins.list_plugins`."""

    kind: str
    name: str
    distribution: str
    version: str
    #: empty, or why this provider is unusable for some key, e.g.
    #: ``"scheme 's3://' also registered by other-dist"``
    conflict: str = ""


def _entry_points(group: str) -> Iterable[importlib.metadata.EntryPoint]:
    """Entry points of ``group`` (a seam tests monkeypatch)."""
    return importlib.metadata.entry_points(group=group)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution) if distribution else ""
    except importlib.metadata.PackageNotFoundError:
        return ""


class Plugins:
    """Typed facade over frazil's pluggy manager; builds it lazily on first use.

    Parameters
    ----------
    autoload
        Load entry points; ``None`` means "unless ``FRAZIL_DISABLE_PLUGIN_AUTOLOAD``
        is set to a non-empty value".
    blocked
        Entry-point names never to load; ``None`` reads ``FRAZIL_BLOCKED_PLUGINS``
        (comma separated).
    plugins
        Extra ``(name, plugin)`` pairs registered in-process, before autoload.
    """

    def __init__(self, *, autoload: bool | None = None, blocked: Iterable[str] | None = None,
                 plugins: Iterable[tuple[str, object]] = ()) -> None:
        self._autoload = autoload
        self._blocked = None if blocked is None else tuple(blocked)
        self._initial = tuple(plugins)
        self._pm: pluggy.PluginManager | None = None
        self._dists: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self._registries: dict[type[Registry], Registry] = {}
        self._lock = threading.RLock()

    # -- the manager --------------------------------------------------------------

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager, built on first access."""
        with self._lock:
            if self._pm is None:
                self._pm = self._build()
            return self._pm

    def _build(self) -> pluggy.PluginManager:
        pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        blocked = self._blocked
        if blocked is None:
            blocked = tuple(n.strip() for n in os.environ.get(BLOCKED_ENV, "").split(","))
        for name in filter(None, blocked):
            pm.set_blocked(name)
        for name, module in BUILTIN_PLUGINS:
            if not pm.is_blocked(name):
                pm.register(importlib.import_module(module), name=name)
                self._dists[name] = (_KERNEL_DISTRIBUTION, _version(_KERNEL_DISTRIBUTION))
        for name, plugin in self._initial:
            pm.register(plugin, name=name)
        autoload = self._autoload
        if autoload is None:
            autoload = not os.environ.get(AUTOLOAD_ENV)
        if autoload:
            for group in ENTRY_POINT_GROUPS:
                self._load_group(pm, group)
        pm.check_pending()
        return pm

    def _load_group(self, pm: pluggy.PluginManager, group: str) -> None:
        for ep in _entry_points(group):
            if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as e:  # a broken plugin must not break frazil
                warnings.warn(f"frazil: skipping plugin {ep.name!r} ({ep.value}): {e!r}",
                              RuntimeWarning, stacklevel=2)
                continue
            pm.register(plugin, name=ep.name)
            dist = getattr(ep, "dist", None)
            self._dists[ep.name] = (dist.name, dist.version) if dist is not None else ("", "")

    def register(self, plugin: object, name: str | None = None,
                 distribution: str = "") -> str | None:
        """Register a plugin in-process (tests, notebooks); returns its name."""
        with self._lock:
            registered = self.manager.register(plugin, name=name)
            if registered is not None:
                self._dists[registered] = (distribution, _version(distribution))
            self._registries.clear()
            return registered

    def unregister(self, name: str) -> None:
        """Unregister the plugin registered as ``name``."""
        with self._lock:
            self.manager.unregister(name=name)
            self._dists.pop(name, None)
            self._registries.clear()

    def _registry[R: Registry](self, cls: type[R]) -> R:
        with self._lock:
            reg = self._registries.get(cls)
            if reg is None:
                reg = cls()
                hook = getattr(self.manager.hook, _HOOKS[cls])
                # each add() learns its distribution from the implementation calling it
                reg._provenance = {impl.function.__code__: self._dists.get(impl.plugin_name,
                                                                           ("", ""))
                                   for impl in hook.get_hookimpls()}
                hook(registry=reg)  # through pluggy's caller: wrappers and tracing apply
                self._registries[cls] = reg
            return reg  # type: ignore[return-value]

    # -- typed lookups ----------------------------------------------------------------

    def storage_factory(self, name: str) -> Callable[..., Storage]:
        """The icechunk-style constructor of the storage backend ``name``."""
        return self._registry(StorageRegistry).by_name(name).factory

    def storage_for_scheme(self, scheme: str) -> Callable[..., Storage]:
        """``from_url(url, **options) -> Storage`` of the backend serving ``scheme``."""
        provider = self._registry(StorageRegistry).by_scheme(scheme)
        opener: Callable[..., Storage] = provider.extra["from_url"]
        return opener

    def resolver(self, name: str) -> Callable[..., Any]:
        """The virtual chunk resolver factory registered as ``name``."""
        return self._registry(VirtualChunkResolverRegistry).by_name(name).factory

    def resolver_for_scheme(self, scheme: str) -> Callable[..., Any]:
        """The virtual chunk resolver factory serving URL ``scheme``."""
        return self._registry(VirtualChunkResolverRegistry).by_scheme(scheme).factory

    def conflict_solver(self, name: str) -> Callable[..., Any]:
        """The conflict solver class (or factory) registered as ``name``."""
        return self._registry(ConflictSolverRegistry).by_name(name).factory

    def split_policy(self, name: str) -> Callable[..., Any]:
        """The manifest split policy class (or factory) registered as ``name``."""
        return self._registry(ManifestSplitPolicyRegistry).by_name(name).factory

    def public_name(self, module: str, name: str) -> Any:
        """The object a plugin added to the public module ``module`` as ``name``."""
        return self._registry(NameRegistry).lookup(module, name)

    def list_plugins(self) -> list[PluginInfo]:
        """Everything registered, as ``(kind, name, distribution, version, conflict)`` rows.

        Providers whose name or URL scheme another plugin also registered are listed
        too, with ``conflict`` saying which key clashes and with whom.
        """
        rows = []
        for cls in _HOOKS:
            if cls is NameRegistry:  # names are what plugins export, not plugins
                continue
            reg = self._registry(cls)
            clashes = reg.clashes()
            for p in reg:
                notes = [f"{what} also registered by "
                         + ", ".join(o.distribution or "<in-process>"
                                     for o in owners if o is not p)
                         for what, owners in clashes.items() if any(o is p for o in owners)]
                rows.append(PluginInfo(p.kind, p.name, p.distribution,
                                       p.version or _version(p.distribution), "; ".join(notes)))
        return rows


_GLOBAL: Plugins | None = None
_GLOBAL_LOCK = threading.Lock()


def get_plugins() -> Plugins:
    """The process-wide :class:`Plugins` (entry points load on its first lookup)."""
    global _GLOBAL
    with _GLOBAL_LOCK:
        if _GLOBAL is None:
            _GLOBAL = Plugins()
        return _GLOBAL


def backend_names_getattr(module: str, names: frozenset[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for the ``names`` of ``module`` that backend
    distributions provide (``frazil.storage.s3_storage``...): the object a distribution
    registered under that name, else an ``AttributeError`` naming what to install."""
    def __getattr__(name: str) -> Any:
        if name in names:
            try:
                return get_plugins().public_name("frazil", name)
            except PluginNotFoundError:
                pass
        dist = KNOWN_PROVIDERS["name"].get(f"frazil.{name}") if name in names else None
        hint = f": it needs the {dist} distribution (pip install {dist})" if dist else ""
        raise AttributeError(f"module {module!r} has no attribute {name!r}{hint}")

    return __getattr__


def new_plugins(*, autoload: bool | None = None, blocked: Iterable[str] | None = None,
                plugins: Iterable[tuple[str, object]] = ()) -> Plugins:
    """A fresh, independent :class:`Plugins` (for tests); see :class:`Plugins`."""
    return Plugins(autoload=autoload, blocked=blocked, plugins=plugins)


def reset_plugins() -> None:
    """Forget the process-wide facade; the next :func:`get_plugins` builds a new one."""
    global _GLOBAL
    with _GLOBAL_LOCK:
        _GLOBAL = None
