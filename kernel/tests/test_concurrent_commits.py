"""Several processes commit to one branch of a local repository at once.

icechunk's own local storage loses commits under this load; frazil's local
storage makes conditional create/update atomic across processes, so with a
retry on ``ConflictError`` every commit lands and every write is visible.
"""

from __future__ import annotations

import os

import frazil as ic
import pytest
from frazil.testing import check_concurrent_commits

COMMITS = int(os.environ.get("FRAZIL_STRESS_COMMITS", "15"))


def test_four_processes_commit_without_losses(tmp_path):
    path = str(tmp_path / "repo")
    retries = check_concurrent_commits(ic.local_filesystem_storage(path), commits=COMMITS)
    assert retries > 0  # the processes really raced
    # nothing half-written is left where icechunk would list it
    staging = os.path.join(path, ".frazil-staging")
    assert not os.path.isdir(staging) or not os.listdir(staging)


def test_four_processes_commit_with_rebase(tmp_path):
    check_concurrent_commits(ic.local_filesystem_storage(str(tmp_path / "repo")),
                             commits=COMMITS, rebase=True)


def test_four_processes_commit_on_a_spec_v1_repository(tmp_path):
    """v1 moves the branch ref object with a conditional write: no commit is lost either."""
    path = str(tmp_path / "repo")
    retries = check_concurrent_commits(ic.local_filesystem_storage(path), commits=min(COMMITS, 8),
                                       spec_version=1)
    assert retries > 0
    assert ic.Repository.fetch_spec_version(ic.local_filesystem_storage(path)) == 1
    assert not os.path.exists(os.path.join(path, "repo"))


@pytest.mark.slow
def test_four_processes_many_commits(tmp_path):
    check_concurrent_commits(ic.local_filesystem_storage(str(tmp_path / "repo")), commits=60)
