"""Three-way merge of zarr metadata: concurrent edits of different attribute keys merge."""

from __future__ import annotations

import json
from typing import Any

from frazil.conflicts import Conflict, ConflictType, RebaseStep

from frazil_conflict_solvers._fallback import FallbackSolver

CT = ConflictType
_MISSING: Any = object()


def _merge_dicts(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any],
                 recurse: str | None, strict: bool = False) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key in [*theirs, *(k for k in ours if k not in theirs)]:
        b, o, t = base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING)
        if key == recurse and all(isinstance(x, dict) or x is _MISSING for x in (b, o, t)):
            sub = _merge_dicts({} if b is _MISSING else b, {} if o is _MISSING else o,
                               {} if t is _MISSING else t, None, strict=True)
            if sub is None:
                return None
            if sub or not (o is _MISSING and t is _MISSING):
                out[key] = sub
            continue
        if o == b:
            v = t  # only they changed it (or nobody did)
        elif t == b:
            v = o  # only we changed it
        elif o == t and not strict:
            v = o  # a field both sides changed identically (attributes never: see below)
        else:
            return None  # changed on both sides
        if v is not _MISSING:
            out[key] = v
    return out


def merge_metadata(base: bytes, ours: bytes, theirs: bytes) -> bytes | None:
    """Three-way merge of three zarr.json documents, or ``None`` if they conflict.

    Top-level fields and, inside ``attributes``, each attribute key merge
    independently: a value changed on one side only takes that side's value.
    An attribute key changed on both sides is a conflict, even when both set
    the same value (two writers claiming one key is a sign of a real race); a
    top-level field (shape, codecs, ...) changed identically on both sides is
    kept, one changed differently is a conflict.
    """
    docs = [json.loads(x) for x in (base, ours, theirs)]
    if not all(isinstance(d, dict) for d in docs):
        return None
    merged = _merge_dicts(docs[0], docs[1], docs[2], "attributes")
    if merged is None:
        return None
    return json.dumps(merged, indent=2).encode()


def _without_attributes(user_data: bytes) -> Any:
    doc = json.loads(user_data)
    if isinstance(doc, dict):
        doc.pop("attributes", None)
    return doc


class AttributeMergeSolver(FallbackSolver):
    """Merge concurrent metadata edits of the same group or array key by key.

    Resolves ``ZarrMetadataDoubleUpdate`` when the two sides changed different
    attribute keys (or other metadata fields), and ``ChunksUpdatedInUpdatedArray``
    when the branch changed only the attributes of an array this session wrote
    chunks to (the chunks stay valid). Everything else, including the same
    attribute key set to different values on both sides, goes to ``fallback``
    (default: :class:`~frazil.ConflictDetector`, i.e. fail).
    """

    async def narrow(self, step: RebaseStep, c: Conflict) -> Conflict | None:
        return None if self._resolve(step, c) else c

    def _resolve(self, step: RebaseStep, c: Conflict) -> bool:
        base, ours, theirs = step.base_node(c.path), step.our_node(c.path), \
            step.their_node(c.path)
        if base is None or ours is None or theirs is None:
            return False
        if c.conflict_type is CT.ZarrMetadataDoubleUpdate:
            if base.is_array != ours.is_array or base.is_array != theirs.is_array:
                return False
            merged = merge_metadata(base.user_data, ours.user_data, theirs.user_data)
            if merged is None:
                return False
            step.set_our_metadata(c.path, merged)
            return True
        if c.conflict_type is CT.ChunksUpdatedInUpdatedArray:
            return _without_attributes(base.user_data) == _without_attributes(theirs.user_data)
        return False

