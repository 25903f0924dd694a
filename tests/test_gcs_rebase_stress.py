"""Rebase under load on GCS (fake-gcs-server): 4 processes commit with BasicConflictSolver.

Each worker writes its own region of one array; lost races (412 on the
``repo`` object's generation) are rebased instead of retried from scratch.
Every write must be present and the history complete. The soak version runs
15 commits per process; the unmarked one 5.
"""

from __future__ import annotations

import pytest

pytest.importorskip("frazil_gcs")
pytest.importorskip("frazil_conflict_solvers")


def _run(kwargs, prefix, commits):
    from frazil.testing import check_concurrent_commits
    from frazil_gcs import gcs_storage

    storage = gcs_storage(prefix=prefix, **kwargs)
    return check_concurrent_commits(storage, commits=commits, rebase=True, solver="basic")


def test_four_processes_rebase_on_gcs(gcs_bucket_kwargs):
    assert _run(gcs_bucket_kwargs, "rebase", 5) >= 0


@pytest.mark.slow
def test_four_processes_rebase_on_gcs_soak(gcs_bucket_kwargs):
    assert _run(gcs_bucket_kwargs, "rebase-soak", 15) >= 0
