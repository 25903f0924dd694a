"""icechunk names that live in optional frazil distributions teach what to install."""

from __future__ import annotations

import importlib.util

import frazil
import pytest


@pytest.mark.parametrize("name,dist", [("gcs_storage", "frazil-gcs"),
                                       ("azure_storage", "frazil-azure"),
                                       ("http_storage", "frazil-http")])
def test_missing_backend_names_its_distribution(name, dist):
    if importlib.util.find_spec(dist.replace("-", "_")) is not None:
        pytest.skip(f"{dist} is installed")
    with pytest.raises(AttributeError, match=f"pip install {dist}"):
        getattr(frazil, name)
    assert not hasattr(frazil, name)


def test_storage_from_url_is_public():
    repo = frazil.Repository.create(frazil.storage_from_url("memory://"))
    assert repo.list_branches() == {"main"}
