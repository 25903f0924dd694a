from __future__ import annotations

import frazil as ic
import pytest


@pytest.fixture
def repo_path(tmp_path):
    return str(tmp_path / "repo")


@pytest.fixture
def repo(repo_path):
    return ic.Repository.create(ic.local_filesystem_storage(repo_path))
