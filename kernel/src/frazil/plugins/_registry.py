"""Register objects handed to the ``frazil_register_*`` hooks, and lookup errors.

A register object is a small typed registry (tox's ``ToxEnvRegister``): a hook
calls ``registry.add(...)`` once per thing it provides instead of returning
loose values, so the kernel can check names, record who provided what, and
explain failures.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, ClassVar

from frazil.errors import ErrorKind, InvalidInputError

__all__ = [
    "KNOWN_PROVIDERS",
    "ConflictSolverRegistry",
    "ManifestSplitPolicyRegistry",
    "NameRegistry",
    "PluginConflictError",
    "PluginNotFoundError",
    "Provider",
    "Registry",
    "StorageRegistry",
    "VirtualChunkResolverRegistry",
    "install_hint",
]

# Which distribution provides a URL scheme or name the kernel does not ship.
KNOWN_PROVIDERS: dict[str, dict[str, str]] = {
    "storage": {
        "s3": "frazil-s3", "s3a": "frazil-s3", "s3_compatible": "frazil-s3", "tigris": "frazil-s3",
        "r2": "frazil-s3", "hf": "frazil-s3", "gs": "frazil-gcs", "gcs": "frazil-gcs",
        "az": "frazil-azure", "abfs": "frazil-azure", "azure": "frazil-azure",
        "http": "frazil-http",
        "https": "frazil-http", "redirect": "frazil-http",
    },
    "virtual chunk resolver": {
        "s3": "frazil-s3", "s3a": "frazil-s3", "gs": "frazil-gcs", "gcs": "frazil-gcs",
        "az": "frazil-azure", "abfs": "frazil-azure", "azure": "frazil-azure",
        "http": "frazil-http", "https": "frazil-http",
    },
    "conflict solver": {"basic": "frazil-conflict-solvers",
                        "BasicConflictSolver": "frazil-conflict-solvers"},
    "manifest split policy": {},
    # icechunk names that optional distributions add to the frazil namespace
    "name": {
        **{f"frazil.{n}": "frazil-s3" for n in (
            "AnyS3Credential", "ChecksumAlgorithm", "S3Credentials", "S3Options",
            "S3StaticCredentials", "hf_storage", "r2_storage", "s3_anonymous_credentials",
            "s3_credentials",
            "s3_from_env_credentials", "s3_refreshable_credentials", "s3_static_credentials",
            "s3_object_store_storage", "s3_storage", "s3_store", "tigris_storage")},
        **{f"frazil.{n}": "frazil-gcs" for n in (
            "AnyGcsCredential", "AnyGcsStaticCredential", "GcsBearerCredential",
            "GcsCredentials", "GcsStaticCredentials", "gcs_anonymous_credentials",
            "gcs_credentials",
            "gcs_from_env_credentials", "gcs_refreshable_credentials",
            "gcs_static_credentials", "gcs_storage", "gcs_store")},
        **{f"frazil.{n}": "frazil-azure" for n in (
            "AnyAzureCredential", "AnyAzureStaticCredential", "AzureCredentials",
            "AzureRefreshableCredential", "AzureStaticCredentials",
            "azure_anonymous_credentials", "azure_credentials", "azure_from_env_credentials",
            "azure_refreshable_credentials", "azure_static_credentials", "azure_storage",
            "azure_store")},
        **dict.fromkeys(("frazil.http_storage", "frazil.http_store",
                         "frazil.redirect_storage"), "frazil-http"),
        **{f"frazil.Storage.{n}": "frazil-s3" for n in (
            "new_s3", "new_s3_object_store", "new_tigris", "new_r2", "new_hf")},
        **{f"frazil.Storage.{n}": "frazil-http" for n in ("new_http", "new_redirect")},
        "frazil.Storage.new_gcs": "frazil-gcs",
        "frazil.Storage.new_azure_blob": "frazil-azure",
        **{f"{module}.{solver}": "frazil-conflict-solvers"
           for module in ("frazil", "frazil.conflicts")
           for solver in ("BasicConflictSolver", "AttributeMergeSolver",
                          "FillValueChunkSolver")},
    },
}


def install_hint(kind: str, key: str) -> str:
    """``"pip install <dist>"`` for a known provider of ``key``, else a generic hint."""
    dist = KNOWN_PROVIDERS.get(kind, {}).get(key)
    if dist is not None:
        return f"pip install {dist}"
    return "no known distribution provides it; install a plugin that registers it"


class PluginNotFoundError(InvalidInputError):
    """No installed plugin provides the requested name or URL scheme."""

    default_kind = ErrorKind.PLUGIN_NOT_FOUND


class PluginConflictError(InvalidInputError):
    """Two plugins registered the same name or URL scheme for one kind."""

    default_kind = ErrorKind.PLUGIN_CONFLICT


@dataclass(frozen=True, slots=True)
class Provider:
    """One registered factory.

    Attributes
    ----------
    kind
        ``"storage"``, ``"virtual chunk resolver"``, ``"conflict solver"`` or
        ``"manifest split policy"``.
    name
        Name users ask for (``"s3"``, ``"basic"``...).
    factory
        Callable building the thing (its arguments depend on the kind).
    url_schemes
        URL schemes served (storages and resolvers), lower case.
    distribution, version
        Distribution that provided it, for ``list_plugins`` and error messages.
    extra
        Kind-specific callables, e.g. ``from_url`` for storages.
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    url_schemes: tuple[str, ...] = ()
    distribution: str = ""
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


class Registry:
    """Collects :class:`Provider` entries of one kind during a hook call."""

    kind: ClassVar[str] = ""

    def __init__(self) -> None:
        self._by_name: dict[str, Provider] = {}
        self._by_scheme: dict[str, Provider] = {}
        # every provider in registration order, clashing ones included (for listings)
        self._all: list[Provider] = []
        # keys ("name 'x'" / "scheme 'x://'") claimed by more than one provider: a lookup of
        # such a key raises PluginConflictError naming all of them; other keys still work
        self._clashes: dict[str, list[Provider]] = {}
        # Set by the plugin manager: hook implementation code -> (distribution, version)
        self._provenance: dict[CodeType, tuple[str, str]] = {}

    def _calling_plugin(self) -> tuple[str, str]:
        """(distribution, version) of the hook implementation that is calling ``add``."""
        frame = sys._getframe(2)
        while frame is not None:
            found = self._provenance.get(frame.f_code)
            if found is not None:
                return found
            frame = frame.f_back  # type: ignore[assignment]
        return "", ""

    def _add(self, name: str, factory: Callable[..., Any], url_schemes: Iterable[str],
             distribution: str | None, extra: dict[str, Any]) -> Provider:
        if not name or not callable(factory):
            raise InvalidInputError(f"{self.kind} registration needs a name and a callable")
        schemes = tuple(s.lower().removesuffix("://") for s in url_schemes)
        own_dist, own_version = self._calling_plugin()
        dist = distribution or own_dist
        version = own_version if dist == own_dist else ""
        entry = Provider(self.kind, name, factory, schemes, dist, version, extra)
        self._all.append(entry)
        self._claim(self._by_name, name, f"name {name!r}", entry)
        for s in schemes:
            self._claim(self._by_scheme, s, f"scheme '{s}://'", entry)
        return entry

    def _claim(self, table: dict[str, Provider], key: str, what: str, entry: Provider) -> None:
        """Give ``key`` to ``entry``; a second claimant breaks that key only (not the kind)."""
        if what in self._clashes:
            self._clashes[what].append(entry)
        elif key in table:
            self._clashes[what] = [table.pop(key), entry]
        else:
            table[key] = entry

    def _check_clash(self, what: str) -> None:
        providers = self._clashes.get(what)
        if providers:
            raise PluginConflictError(_clash(self.kind, what, providers))

    def clashes(self) -> dict[str, list[Provider]]:
        """Keys registered by more than one provider, each with every claimant."""
        return {k: list(v) for k, v in self._clashes.items()}

    def by_name(self, name: str) -> Provider:
        """The provider registered as ``name``; :class:`PluginNotFoundError` if none.

        :class:`PluginConflictError` when two plugins registered ``name``.
        """
        self._check_clash(f"name {name!r}")
        try:
            return self._by_name[name]
        except KeyError:
            raise PluginNotFoundError(
                f"no {self.kind} named {name!r}: {install_hint(self.kind, name)}") from None

    def by_scheme(self, scheme: str) -> Provider:
        """The provider serving URL ``scheme``; :class:`PluginNotFoundError` if none.

        :class:`PluginConflictError` when two plugins registered ``scheme``.
        """
        scheme = scheme.lower().removesuffix("://")
        self._check_clash(f"scheme '{scheme}://'")
        try:
            return self._by_scheme[scheme]
        except KeyError:
            raise PluginNotFoundError(
                f"no {self.kind} for '{scheme}://': {install_hint(self.kind, scheme)}"
            ) from None

    def __iter__(self) -> Any:
        """Every registered provider, including those whose name or scheme clashes."""
        return iter(list(self._all))

    def __len__(self) -> int:
        return len(self._all)


def _clash(kind: str, what: str, providers: list[Provider]) -> str:
    by = " and by ".join(p.distribution or "<in-process>" for p in providers)
    return (f"{kind} {what} registered {len(providers)} times: by {by}; uninstall or block "
            "all but one (FRAZIL_BLOCKED_PLUGINS)")


class StorageRegistry(Registry):
    """Register object of ``frazil_register_storage``."""

    kind = "storage"

    def add(self, name: str, factory: Callable[..., Any], *, url_schemes: Iterable[str] = (),
            from_url: Callable[..., Any] | None = None,
            distribution: str | None = None) -> Provider:
        """Register a storage backend.

        Parameters
        ----------
        name
            Backend name, e.g. ``"s3"``.
        factory
            icechunk-style constructor (``s3_storage(bucket=..., ...)``) returning
            a :class:`frazil.storage.Storage`.
        url_schemes
            Schemes :func:`frazil.storage.storage_from_url` routes here.
        from_url
            ``from_url(url, **options) -> Storage``; defaults to
            ``factory(url, **options)``.
        distribution
            Providing distribution; defaults to the plugin's own.
        """
        opener = from_url if from_url is not None else factory
        return self._add(name, factory, url_schemes, distribution, {"from_url": opener})


class VirtualChunkResolverRegistry(Registry):
    """Register object of ``frazil_register_virtual_chunk_resolvers``."""

    kind = "virtual chunk resolver"

    def add(self, name: str, factory: Callable[..., Any], *, url_schemes: Iterable[str],
            distribution: str | None = None) -> Provider:
        """Register a resolver serving virtual chunk URLs of ``url_schemes``."""
        return self._add(name, factory, url_schemes, distribution, {})


class ConflictSolverRegistry(Registry):
    """Register object of ``frazil_register_conflict_solvers``."""

    kind = "conflict solver"

    def add(self, name: str, factory: Callable[..., Any], *,
            distribution: str | None = None) -> Provider:
        """Register a conflict solver class (or factory) under ``name``."""
        return self._add(name, factory, (), distribution, {})


class ManifestSplitPolicyRegistry(Registry):
    """Register object of ``frazil_register_manifest_split_policies``."""

    kind = "manifest split policy"

    def add(self, name: str, factory: Callable[..., Any], *,
            distribution: str | None = None) -> Provider:
        """Register a manifest split policy class (or factory) under ``name``."""
        return self._add(name, factory, (), distribution, {})


class NameRegistry(Registry):
    """Register object of ``frazil_register_names``: public names by module."""

    kind = "name"

    def add(self, name: str, obj: Any, *, module: str = "frazil",
            distribution: str | None = None) -> Provider:
        """Make ``obj`` importable as ``<module>.<name>`` (``module``: ``frazil``...)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidInputError(f"not a Python name: {name!r}")
        if module not in ("frazil", "frazil.conflicts", "frazil.Storage"):
            raise InvalidInputError(f"plugins may add names to 'frazil', 'frazil.conflicts' and "
                                    f"'frazil.Storage', not {module!r}")
        # Provider needs a callable: wrap constants so any object can be registered
        return self._add(f"{module}.{name}", lambda: obj, (), distribution, {"object": obj})

    def lookup(self, module: str, name: str) -> Any:
        """The object registered as ``<module>.<name>``; ``PluginNotFoundError`` if none."""
        return self.by_name(f"{module}.{name}").extra["object"]
