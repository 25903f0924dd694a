"""Moves of a rearrange session: the record, path remapping and the refusals.

A rearrange session edits nothing but paths. :class:`MoveTracker` keeps the
moves in the order they were made (the session's view of the hierarchy is
the base snapshot with every move applied in turn, so commits rebased over
are rearranged too) and, per node that moved, its original and final path:
that per-node record is what the transaction log stores (``moved_nodes``,
sorted by final path), as icechunk does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from frazil._refs import is_descendant, parent_path
from frazil.errors import (
    AlreadyExistsError,
    ErrorKind,
    NodeNotFoundError,
    SessionStateError,
)
from frazil.format.ids import NodeId
from frazil.format.model import MoveOperation, NodeSnapshot

__all__ = ["MoveTracker", "check_move", "final_path_key", "merge_moves", "remap"]


def remap(path: str, old: str, new: str) -> str | None:
    """``path`` with the prefix ``old`` replaced by ``new`` (``None`` if not under ``old``)."""
    if path == old:
        return new
    if not is_descendant(path, old):
        return None
    rest = path[1:] if old == "/" else path[len(old) + 1:]
    return new + "/" + rest if new != "/" else "/" + rest


def final_path_key(path: str) -> list[bytes]:
    """Sort key comparing paths segment by segment (``/c`` < ``/c/a`` < ``/ca``)."""
    return [s.encode() for s in path.split("/")]


@dataclass
class MoveTracker:
    """The moves of one rearrange session (icechunk's move tracker)."""

    #: (from, to) of every ``move`` call, in order
    moves: list[tuple[str, str]] = field(default_factory=list)
    #: original path -> (final path, node id, is array), for every node that moved
    by_original: dict[str, tuple[str, NodeId, bool]] = field(default_factory=dict)

    def copy(self) -> MoveTracker:
        return MoveTracker(list(self.moves), dict(self.by_original))

    def is_empty(self) -> bool:
        return not self.moves

    def record(self, from_path: str, to_path: str, subtree: Iterable[NodeSnapshot]) -> None:
        """Record ``from_path -> to_path``; ``subtree`` is the moved nodes at their paths now."""
        if from_path == to_path:
            return
        finals = {final: orig for orig, (final, _, _) in self.by_original.items()}
        for orig, (final, nid, is_array) in list(self.by_original.items()):
            moved = remap(final, from_path, to_path)
            if moved is not None:
                self.by_original[orig] = (moved, nid, is_array)
        for node in subtree:
            # a node that moved before is already tracked (by its original path)
            if node.path in finals:
                continue
            new = remap(node.path, from_path, to_path)
            if new is not None:
                self.by_original[node.path] = (new, node.id, node.is_array)
        self.by_original = {o: v for o, v in self.by_original.items() if o != v[0]}
        self.moves.append((from_path, to_path))

    def moved_to(self, path: str) -> str | None:
        """Where the base node at ``path`` is now (``None``: overwritten by a move)."""
        for old, new in self.moves:
            moved = remap(path, old, new)
            if moved is not None:
                path = moved
            elif path == new or is_descendant(path, new):
                return None
        return path

    def view(self, base: Mapping[str, NodeSnapshot]) -> dict[str, NodeSnapshot]:
        """The nodes of ``base`` with every move applied, by their new paths."""
        if not self.moves:
            return dict(base)
        out: dict[str, NodeSnapshot] = {}
        for node in base.values():
            path = self.moved_to(node.path)
            if path is None:
                continue
            if path != node.path:
                node = NodeSnapshot(node.id, path, node.user_data, node.array, node.extra)
            out[path] = node
        return out

    def operations(self) -> list[MoveOperation]:
        """One :class:`MoveOperation` per moved node, sorted by final path (the tx-log order)."""
        ops = [MoveOperation(orig, final, nid, is_array)
               for orig, (final, nid, is_array) in self.by_original.items()]
        ops.sort(key=lambda m: final_path_key(m.to_path))
        return ops


def merge_moves(logs: Iterable[Iterable[MoveOperation]]) -> list[MoveOperation]:
    """The moves of several transaction logs as one (amend), oldest log first.

    Per node: the first ``from`` and the last ``to`` (``a -> b`` then
    ``b -> c`` is ``a -> c``); a node back where it started is dropped; sorted
    by final path. This is how icechunk merges the logs of an amended commit.
    """
    merged: dict[NodeId, MoveOperation] = {}
    for moves in logs:
        for m in moves:
            first = merged.get(m.node_id)
            merged[m.node_id] = m if first is None else MoveOperation(
                first.from_path, m.to_path, first.node_id, first.is_array)
    out = [m for m in merged.values() if m.from_path != m.to_path]
    out.sort(key=lambda m: final_path_key(m.to_path))
    return out


def check_move(from_path: str, to_path: str, nodes: Mapping[str, NodeSnapshot]) -> NodeSnapshot:
    """The node to move, or icechunk's refusal of ``from_path -> to_path`` over ``nodes``."""
    node = nodes.get(from_path)
    if node is None:
        raise NodeNotFoundError(f"node not found at `{from_path}`: move source does not exist",
                                ErrorKind.NODE_NOT_FOUND)
    if to_path == from_path or is_descendant(to_path, from_path):
        raise SessionStateError(
            f"cannot move `{from_path}` into itself or its own descendant `{to_path}`. A node "
            "cannot be both an ancestor and a descendant of itself; to nest its contents "
            f"under a new group at `{to_path}`, create that group in a writable session, then "
            "move each child of the source into it in a rearrange session",
            ErrorKind.MOVE_INTO_SELF_OR_DESCENDANT)
    if to_path in nodes:
        raise AlreadyExistsError(f"move cannot overwrite existing node at `{to_path}`",
                                 ErrorKind.MOVE_WONT_OVERWRITE)
    parent = parent_path(to_path)
    target = nodes.get(parent)
    if target is None:
        raise SessionStateError(
            f"cannot move to `{to_path}`: the destination's parent group `{parent}` does not "
            "exist. move never creates intermediate groups: create it in a writable session "
            "and commit first, then retry the move in a rearrange session",
            ErrorKind.MOVE_DESTINATION_PARENT_MISSING)
    if target.is_array:
        raise SessionStateError(
            f"cannot move to `{to_path}`: the destination's parent `{parent}` is an array, not a "
            "group. Move destinations must land under groups; arrays cannot have children",
            ErrorKind.MOVE_DESTINATION_PARENT_NOT_GROUP)
    return node
