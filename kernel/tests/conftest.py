from __future__ import annotations

import frazil as ic
import pytest


@pytest.fixture
def repo_path(tmp_path):
    return str(tmp_path / "repo")


@pytest.fixture
def spec_version():
    """The spec version of fresh test repositories; modules parametrize it over 2 and 1."""
    return 2


@pytest.fixture
def repo(repo_path, spec_version):
    return ic.Repository.create(ic.local_filesystem_storage(repo_path), spec_version=spec_version)
