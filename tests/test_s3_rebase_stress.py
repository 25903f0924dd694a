"""Rebase under load on S3 (moto): 4 processes x 15 commits with BasicConflictSolver.

Each worker writes its own region of one array; lost races are rebased with
``BasicConflictSolver`` instead of retried from scratch. Every write must be
present and the history complete.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("frazil_s3")
pytest.importorskip("frazil_conflict_solvers")


def test_four_processes_rebase_on_s3(s3_bucket_kwargs):  # noqa: F811
    from frazil.testing import check_concurrent_commits
    from frazil_s3 import s3_storage

    commits = int(os.environ.get("FRAZIL_STRESS_COMMITS", "15"))
    storage = s3_storage(prefix="rebase-stress", **s3_bucket_kwargs)
    check_concurrent_commits(storage, commits=commits, rebase=True, solver="basic")
