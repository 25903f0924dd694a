"""Manifest split policies: how an array's chunk refs are grouped into manifests.

At commit, for every array with changes, the kernel asks the selected policy
to partition the array's chunk refs into row groups; each group becomes one
manifest. The kernel then checks that the groups partition the refs and that
their extents (bounding boxes in the chunk grid) do not overlap.

Selecting a policy (first that applies):

1. ``repo.set_manifest_split_policy(name_or_policy, **options)`` on a
   :class:`~frazil.Repository` handle (not persisted: icechunk still opens the
   repository, and other handles are unaffected);
2. the ``FRAZIL_MANIFEST_SPLIT_POLICY`` environment variable: ``name`` or
   ``name:key=value,key=value`` (values that look like integers become ints);
3. the built-in ``"config"`` policy, which reproduces icechunk: it reads the
   repository configuration's ``manifest.splitting`` section.

A policy is any object with a ``split(array, coords)`` method (see
:class:`ManifestSplitPolicy`), registered by name through the
``frazil_register_manifest_split_policies`` hook.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from frazil.errors import InvalidInputError
from frazil.plugins import ManifestSplitPolicyRegistry, get_plugins, hookimpl

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_ENV",
    "ConfigSplitPolicy",
    "ManifestSplitPolicy",
    "SplitArray",
    "groups_from_edges",
    "make_policy",
    "uniform_edges",
]

POLICY_ENV = "FRAZIL_MANIFEST_SPLIT_POLICY"
DEFAULT_POLICY = "config"


@dataclass(frozen=True, slots=True)
class SplitArray:
    """What a policy knows about the array being committed.

    Attributes
    ----------
    path
        Node path, ``"/group/array"``.
    shape
        Array length per dimension.
    num_chunks
        Chunks per dimension (the chunk grid).
    dimension_names
        Zarr dimension names (``None`` entries where unnamed), or ``None``.
    config
        The repository configuration as persisted (icechunk's dict shape).
    """

    path: str
    shape: tuple[int, ...]
    num_chunks: tuple[int, ...]
    dimension_names: tuple[str | None, ...] | None
    config: dict[str, Any]

    @property
    def name(self) -> str:
        """Last path component (what icechunk's ``name_matches`` tests)."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]


@runtime_checkable
class ManifestSplitPolicy(Protocol):
    """What a manifest split policy implements."""

    def split(self, array: SplitArray, coords: np.ndarray) -> list[np.ndarray] | None:
        """Group the chunk refs of ``array`` into manifests.

        Parameters
        ----------
        array
            The array being committed.
        coords
            ``(n, ndim)`` uint32 chunk coordinates of its refs, one row per ref.

        Returns
        -------
        list of numpy.ndarray or None
            Row-index arrays into ``coords``, one per manifest, together a
            partition of ``range(n)`` with non-overlapping bounding boxes; or
            ``None`` for a single manifest.
        """
        ...


def uniform_edges(num_chunks: int, every: int) -> list[int]:
    """Box edges splitting ``num_chunks`` chunks every ``every`` chunks: ``[0, e, 2e, ..., n]``."""
    if every < 1:
        raise InvalidInputError(f"manifest split size must be >= 1, got {every}")
    edges = list(range(0, max(num_chunks, 1), every))
    return edges + [max(num_chunks, 1)]


def groups_from_edges(coords: np.ndarray, edges: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Row groups of ``coords`` falling into the boxes that per-axis ``edges`` define.

    ``edges[axis]`` is increasing and starts at 0; coordinates past the last
    edge fall into the last box. Empty boxes give no group.
    """
    n, ndim = coords.shape
    if n == 0:
        return []
    key = np.zeros(n, np.int64)
    for axis in range(ndim):
        inner = np.asarray(edges[axis][1:-1], dtype=np.int64)
        box = np.searchsorted(inner, coords[:, axis].astype(np.int64), side="right")
        key = key * (len(inner) + 1) + box
    order = np.argsort(key, kind="stable")
    _, starts = np.unique(key[order], return_index=True)
    return [np.sort(g) for g in np.split(order, starts[1:])]


# -- the built-in policy: icechunk's config-driven splitting ---------------------------


def _condition_matches(cond: Any, array: SplitArray) -> bool:
    if cond == "any_array":
        return True
    if isinstance(cond, dict) and len(cond) == 1:
        ((kind, value),) = cond.items()
        if kind == "path_matches":
            return re.search(value["regex"], array.path) is not None
        if kind == "name_matches":
            return re.search(value["regex"], array.name) is not None
        if kind == "or":
            return any(_condition_matches(c, array) for c in value)
        if kind == "and":
            return all(_condition_matches(c, array) for c in value)
    raise InvalidInputError(f"unknown manifest split condition {cond!r}")


def _dim_matches(cond: Any, axis: int, dim_name: str | None) -> bool:
    if cond == "Any":
        return True
    if isinstance(cond, dict) and "Axis" in cond:
        return int(cond["Axis"]) == axis
    if isinstance(cond, dict) and "DimensionName" in cond:
        return dim_name is not None and re.search(cond["DimensionName"], dim_name) is not None
    raise InvalidInputError(f"unknown manifest split dimension condition {cond!r}")


class ConfigSplitPolicy:
    """icechunk's splitting, driven by ``config["manifest"]["splitting"]["split_sizes"]``.

    Rules are tried in order; for each rule whose condition matches the array,
    each axis not yet claimed by an earlier rule takes the first dimension
    condition that matches it and is split every ``num_chunks`` chunks.
    """

    def split(self, array: SplitArray, coords: np.ndarray) -> list[np.ndarray] | None:
        edges = self.edges(array)
        if edges is None:
            return None
        return groups_from_edges(coords, edges)

    def edges(self, array: SplitArray) -> list[list[int]] | None:
        """Per-axis box edges for ``array``; ``None`` when nothing splits it."""
        rules = ((array.config.get("manifest") or {}).get("splitting") or {}).get("split_sizes")
        if not rules:
            return None
        ndim = len(array.num_chunks)
        names = array.dimension_names or (None,) * ndim
        edges: list[list[int] | None] = [None] * ndim
        for cond, dim_specs in rules:
            if not _condition_matches(cond, array):
                continue
            for axis in range(ndim):
                if edges[axis] is not None:
                    continue
                for spec in dim_specs:
                    if _dim_matches(spec["condition"], axis, names[axis]):
                        edges[axis] = uniform_edges(array.num_chunks[axis],
                                                    int(spec["num_chunks"]))
                        break
        if all(e is None for e in edges):
            return None
        return [e if e is not None else [0, max(n, 1)]
                for e, n in zip(edges, array.num_chunks, strict=True)]


@hookimpl
def frazil_register_manifest_split_policies(registry: ManifestSplitPolicyRegistry) -> None:
    """Register the kernel's ``"config"`` policy (icechunk's config-driven splitting)."""
    registry.add(DEFAULT_POLICY, ConfigSplitPolicy, distribution="frazil")


# -- selection -----------------------------------------------------------------------------


def make_policy(policy: str | ManifestSplitPolicy, **options: Any) -> ManifestSplitPolicy:
    """A policy instance from a registered name (built with ``options``) or an instance."""
    if not isinstance(policy, str):
        if options:
            raise InvalidInputError("options are only accepted with a policy name")
        if not isinstance(policy, ManifestSplitPolicy):
            raise InvalidInputError(f"{policy!r} has no split(array, coords) method")
        return policy
    made = get_plugins().split_policy(policy)(**options)
    if not isinstance(made, ManifestSplitPolicy):
        raise InvalidInputError(f"manifest split policy {policy!r} built {made!r}, "
                                "which has no split(array, coords) method")
    return made


def _parse_env(value: str) -> tuple[str, dict[str, Any]]:
    name, _, rest = value.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, sep, raw = item.partition("=")
        if not sep:
            raise InvalidInputError(f"{POLICY_ENV}: expected key=value, got {item!r}")
        options[key.strip()] = int(raw) if re.fullmatch(r"-?\d+", raw.strip()) else raw.strip()
    return name.strip(), options


def selected_policy(repo_policy: ManifestSplitPolicy | None) -> ManifestSplitPolicy:
    """The policy a commit uses: the repository handle's, the environment's, or ``config``."""
    if repo_policy is not None:
        return repo_policy
    env = os.environ.get(POLICY_ENV, "").strip()
    if env:
        name, options = _parse_env(env)
        return make_policy(name, **options)
    # the kernel's own default needs no plugin lookup: loading every installed plugin
    # (entry points, then their modules) would cost a process's first commit ~0.1 s
    return ConfigSplitPolicy()
