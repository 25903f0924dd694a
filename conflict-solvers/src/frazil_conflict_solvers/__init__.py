"""Conflict solvers for frazil rebases.

* :class:`BasicConflictSolver` -- icechunk's solver, same options and semantics.
* :class:`AttributeMergeSolver` -- merges concurrent attribute edits key by key.
* :class:`FillValueChunkSolver` -- merges concurrent writes to the same chunk
  element by element when the writers filled different parts of it.

All are also available as ``frazil.conflicts.<Name>`` / ``frazil.<Name>`` and by
registered name: ``"basic"``, ``"attribute-merge"``, ``"fill-value"``.
"""

from __future__ import annotations

from frazil_conflict_solvers._attributes import AttributeMergeSolver, merge_metadata
from frazil_conflict_solvers._basic import BasicConflictSolver
from frazil_conflict_solvers._fill import FillValueChunkSolver

__all__ = ["AttributeMergeSolver", "BasicConflictSolver", "FillValueChunkSolver",
           "merge_metadata"]
