"""Manifest splitting at commit: which refs of an array go to which manifest.

The policy decides; the kernel checks that the parts partition the refs and
that their extents (bounding boxes in the chunk grid) do not overlap, as the
spec requires of an array's manifest refs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from floe import _chunkrefs as cr
from floe._errors import InternalError
from floe.format.model import ArrayRefs, NodeSnapshot

if TYPE_CHECKING:
    from floe.repository import Repository


def split_array_refs(repo: Repository, node: NodeSnapshot, refs: ArrayRefs) -> list[ArrayRefs]:
    """The manifests (one ``ArrayRefs`` each) that hold ``refs`` of ``node``."""
    if len(refs) == 0:
        return []
    groups = _policy_groups(repo, node, refs)
    if groups is None:
        return [refs]
    parts = [cr.take(refs, np.sort(g)) for g in groups if len(g)]
    _check_partition(node, refs, parts)
    return parts


def _policy_groups(repo: Repository, node: NodeSnapshot,
                   refs: ArrayRefs) -> list[np.ndarray] | None:
    """Row groups from the configured split policy; ``None`` = one manifest."""
    return None


def _check_partition(node: NodeSnapshot, refs: ArrayRefs, parts: list[ArrayRefs]) -> None:
    if sum(len(p) for p in parts) != len(refs):
        raise InternalError(f"manifest split of {node.path} lost or duplicated chunk refs")
    boxes = [cr.extents(p) for p in parts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if all(lo1 < hi2 and lo2 < hi1 for (lo1, hi1), (lo2, hi2) in zip(a, b, strict=True)):
                raise InternalError(f"manifest split of {node.path} gives overlapping extents "
                                    f"{a} and {b}")
