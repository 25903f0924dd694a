"""Entry point of the ``frazil.conflict_solvers`` group: registers the solvers by name."""

from __future__ import annotations

from typing import Any

from frazil.plugins import hookimpl


@hookimpl
def frazil_register_conflict_solvers(registry: Any) -> None:
    from frazil_conflict_solvers import (
        AttributeMergeSolver,
        BasicConflictSolver,
        FillValueChunkSolver,
    )

    registry.add("basic", BasicConflictSolver)
    registry.add("attribute-merge", AttributeMergeSolver)
    registry.add("fill-value", FillValueChunkSolver)
