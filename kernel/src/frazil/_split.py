"""Manifest splitting at commit: which refs of an array go to which manifest.

The policy decides; the kernel checks that the parts partition the refs and
that their extents (bounding boxes in the chunk grid) do not overlap, as the
spec requires of an array's manifest refs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from frazil import _chunkrefs as cr
from frazil.errors import InternalError
from frazil.format.model import ArrayRefs, NodeSnapshot
from frazil.split import ManifestSplitPolicy, SplitArray, selected_policy


def split_array_refs(policy: ManifestSplitPolicy | None, config: dict[str, Any],
                     node: NodeSnapshot, refs: ArrayRefs) -> list[ArrayRefs]:
    """The manifests (one ``ArrayRefs`` each) that hold ``refs`` of ``node``.

    ``policy`` is the repository handle's own policy (``None``: the selected
    default), ``config`` the repository config as a dict.
    """
    if len(refs) == 0:
        return []
    groups = _policy_groups(selected_policy(policy), config, node, refs)
    if groups is None:
        return [refs]
    parts = [cr.take(refs, np.sort(g)) for g in groups if len(g)]
    _check_partition(node, refs, parts)
    return parts


def _policy_groups(policy: ManifestSplitPolicy, config: dict[str, Any], node: NodeSnapshot,
                   refs: ArrayRefs) -> list[np.ndarray] | None:
    """Row groups from the split policy (:mod:`frazil.split`); ``None`` = one manifest."""
    assert node.array is not None
    array = SplitArray(
        path=node.path,
        shape=tuple(length for length, _ in node.array.shape),
        num_chunks=tuple(n for _, n in node.array.shape),
        dimension_names=node.array.dimension_names,
        config=config,
    )
    groups = policy.split(array, refs.coords)
    if groups is None:
        return None
    return [np.asarray(g, dtype=np.intp) for g in groups]


def _check_partition(node: NodeSnapshot, refs: ArrayRefs, parts: list[ArrayRefs]) -> None:
    rows = np.concatenate([p.coords for p in parts]) if parts else refs.coords[:0]
    if sum(len(p) for p in parts) != len(refs) or len(np.unique(cr.row_keys(rows))) != len(rows):
        raise InternalError(f"manifest split of {node.path} lost or duplicated chunk refs")
    boxes = [cr.extents(p) for p in parts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if all(lo1 < hi2 and lo2 < hi1 for (lo1, hi1), (lo2, hi2) in zip(a, b, strict=True)):
                raise InternalError(f"manifest split of {node.path} gives overlapping extents "
                                    f"{a} and {b}")
