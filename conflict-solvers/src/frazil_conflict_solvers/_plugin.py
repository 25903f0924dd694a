"""Entry point of the ``frazil.conflict_solvers`` group: registers the solvers by name."""

from __future__ import annotations

from frazil.plugins import ConflictSolverRegistry, NameRegistry, hookimpl

from frazil_conflict_solvers._attributes import AttributeMergeSolver
from frazil_conflict_solvers._basic import BasicConflictSolver
from frazil_conflict_solvers._fill import FillValueChunkSolver


@hookimpl
def frazil_register_conflict_solvers(registry: ConflictSolverRegistry) -> None:
    """Register the solvers by name (``commit(rebase_with="basic")``)."""
    registry.add("basic", BasicConflictSolver)
    registry.add("attribute-merge", AttributeMergeSolver)
    registry.add("fill-value", FillValueChunkSolver)


@hookimpl
def frazil_register_names(registry: NameRegistry) -> None:
    """The solvers as ``frazil.<Name>`` and ``frazil.conflicts.<Name>`` (icechunk's places)."""
    for solver in (BasicConflictSolver, AttributeMergeSolver, FillValueChunkSolver):
        for module in ("frazil", "frazil.conflicts"):
            registry.add(solver.__name__, solver, module=module)
