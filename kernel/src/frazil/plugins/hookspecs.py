"""Hook specifications: the whole extension surface of frazil.

A plugin is a module (or object) with functions decorated by
:data:`frazil.plugins.hookimpl`, exposed through an entry point in the group of
its kind::

    [project.entry-points."frazil.storage"]
    frazil-s3 = "frazil_s3._plugin"

Groups: ``frazil.storage``, ``frazil.virtual_chunks``, ``frazil.conflict_solvers``,
``frazil.manifest_split`` (a module in any group may also implement
``frazil_register_names``). Name the entry point after the distribution; one
module may be listed in several groups under the same name.

Every hook receives a register object and calls its ``add(...)``; hooks return
nothing, are called for every plugin (never ``firstresult``), and **never do
I/O** (pluggy calls are synchronous and happen on first lookup). They only say
what a plugin provides; factories do the work later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from frazil.plugins._registry import (
        ConflictSolverRegistry,
        ManifestSplitPolicyRegistry,
        NameRegistry,
        StorageRegistry,
        VirtualChunkResolverRegistry,
    )

PROJECT_NAME = "frazil"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# -------------------------------------------------------------------------
# Storage backends
# -------------------------------------------------------------------------


@hookspec
def frazil_register_storage(registry: StorageRegistry) -> None:
    """Register storage backends.

    Call ``registry.add(name, factory, url_schemes=(...), from_url=...)`` once
    per backend. ``factory(**options)`` is the icechunk-style constructor (for
    example ``s3_storage``) and must return a :class:`frazil.storage.Storage`;
    ``from_url(url, **options)`` serves :func:`frazil.storage.storage_from_url`.

    :param registry: the :class:`~frazil.plugins.StorageRegistry` to add to.

    Called once per plugin manager, on the first storage lookup. All
    implementations run; the return value is ignored.
    """


# -------------------------------------------------------------------------
# Virtual chunks
# -------------------------------------------------------------------------


@hookspec
def frazil_register_virtual_chunk_resolvers(registry: VirtualChunkResolverRegistry) -> None:
    """Register resolvers that fetch virtual chunks by URL.

    Call ``registry.add(name, factory, url_schemes=(...))``; the kernel picks
    a resolver by the scheme of a virtual chunk's location (``s3``, ``file``...)
    and calls ``factory(container, credentials)`` to build it.

    :param registry: the :class:`~frazil.plugins.VirtualChunkResolverRegistry`.

    Called once per plugin manager, on the first resolver lookup. All
    implementations run; the return value is ignored.
    """


# -------------------------------------------------------------------------
# Transactions
# -------------------------------------------------------------------------


@hookspec
def frazil_register_conflict_solvers(registry: ConflictSolverRegistry) -> None:
    """Register conflict solvers used by rebase.

    Call ``registry.add(name, solver_class)``; users select one by name
    (``"basic"``) or pass an instance directly.

    :param registry: the :class:`~frazil.plugins.ConflictSolverRegistry`.

    Called once per plugin manager, on the first solver lookup. All
    implementations run; the return value is ignored.
    """


@hookspec
def frazil_register_manifest_split_policies(registry: ManifestSplitPolicyRegistry) -> None:
    """Register policies deciding how an array's chunk refs split into manifests.

    Call ``registry.add(name, policy_class)``; the kernel's default policy is
    driven by the repository's manifest split configuration.

    :param registry: the :class:`~frazil.plugins.ManifestSplitPolicyRegistry`.

    Called once per plugin manager, on the first policy lookup. All
    implementations run; the return value is ignored.
    """


# -------------------------------------------------------------------------
# Public names
# -------------------------------------------------------------------------


@hookspec
def frazil_register_names(registry: NameRegistry) -> None:
    """Contribute names to frazil's public modules (the drop-in ``icechunk`` surface).

    Call ``registry.add(name, obj, module="frazil")`` for each icechunk name a
    distribution provides, e.g. ``("s3_storage", s3_storage)`` from frazil-s3,
    so that ``frazil.s3_storage`` works once it is installed; ``module`` may
    also be ``"frazil.conflicts"`` (solvers). The kernel imports no plugin
    distribution by name: these registrations are the only way in.

    :param registry: the :class:`~frazil.plugins.NameRegistry`.

    Called once per plugin manager, on the first lookup of a name the kernel
    does not define. All implementations run; the return value is ignored.
    """
