"""icechunk names that live in optional floe distributions teach what to install."""

from __future__ import annotations

import importlib.util

import pytest

import floe


@pytest.mark.parametrize("name,dist", [("gcs_storage", "floe-gcs"),
                                       ("azure_storage", "floe-azure"),
                                       ("http_storage", "floe-http")])
def test_missing_backend_names_its_distribution(name, dist):
    if importlib.util.find_spec(dist.replace("-", "_")) is not None:
        pytest.skip(f"{dist} is installed")
    with pytest.raises(AttributeError, match=f"pip install {dist}"):
        getattr(floe, name)
    assert not hasattr(floe, name)


def test_storage_from_url_is_public():
    repo = floe.Repository.create(floe.storage_from_url("memory://"))
    assert repo.list_branches() == {"main"}
