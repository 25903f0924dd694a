"""icechunk's ``BasicConflictSolver``."""

from __future__ import annotations

from frazil.conflicts import Conflict, ConflictSolver, ConflictType, RebaseStep, VersionSelection

CT = ConflictType
# conflicts BasicConflictSolver never resolves
_ALWAYS_FAIL = frozenset({
    CT.NewNodeConflictsWithExistingNode, CT.NewNodeInInvalidGroup,
    CT.ZarrMetadataDoubleUpdate, CT.ZarrMetadataUpdateOfDeletedArray,
    CT.ZarrMetadataUpdateOfDeletedGroup, CT.ChunksUpdatedInDeletedArray,
    CT.ChunksUpdatedInUpdatedArray, CT.MoveOperationCannotBeRebased,
})


class BasicConflictSolver(ConflictSolver):
    """Resolve chunk double-writes and deletes of updated nodes; fail on anything else.

    - ``on_chunk_conflict``: both sides wrote a chunk. ``UseOurs`` keeps this
      session's bytes, ``UseTheirs`` drops this session's write, ``Fail`` fails.
    - ``fail_on_delete_of_updated_array`` / ``..._group``: this session deleted
      a node the branch updated. By default the delete wins.

    Every other conflict fails the rebase. If anything fails, the
    ``RebaseFailedError`` lists every conflict of that commit, as icechunk does.
    """

    def __init__(self, *, on_chunk_conflict: VersionSelection = VersionSelection.UseOurs,
                 fail_on_delete_of_updated_array: bool = False,
                 fail_on_delete_of_updated_group: bool = False) -> None:
        self.on_chunk_conflict = VersionSelection(on_chunk_conflict)
        self.fail_on_delete_of_updated_array = bool(fail_on_delete_of_updated_array)
        self.fail_on_delete_of_updated_group = bool(fail_on_delete_of_updated_group)

    def _unsolvable(self, c: Conflict) -> bool:
        t = c.conflict_type
        return (t in _ALWAYS_FAIL
                or (t is CT.ChunkDoubleUpdate and self.on_chunk_conflict is VersionSelection.Fail)
                or (t is CT.DeleteOfUpdatedArray and self.fail_on_delete_of_updated_array)
                or (t is CT.DeleteOfUpdatedGroup and self.fail_on_delete_of_updated_group))

    def solve(self, step: RebaseStep) -> list[Conflict]:
        if any(self._unsolvable(c) for c in step.conflicts):
            return list(step.conflicts)
        for c in step.conflicts:
            if c.conflict_type is CT.ChunkDoubleUpdate \
                    and self.on_chunk_conflict is VersionSelection.UseTheirs:
                step.drop_chunk_changes(c.path, c.conflicted_chunks or [])
            # UseOurs and deletes of updated nodes: keep our change set as it is
        return []

    def __repr__(self) -> str:
        return (f"BasicConflictSolver(on_chunk_conflict={self.on_chunk_conflict!r}, "
                f"fail_on_delete_of_updated_array={self.fail_on_delete_of_updated_array}, "
                f"fail_on_delete_of_updated_group={self.fail_on_delete_of_updated_group})")
