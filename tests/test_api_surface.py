"""The drop-in promise, checked against the real icechunk 2.3 API."""

from __future__ import annotations

import inspect

import frazil
import pytest

icechunk = pytest.importorskip("icechunk")

CLASSES = ["Repository", "Session", "IcechunkStore"]


@pytest.mark.parametrize("cls", CLASSES)
def test_every_sync_method_has_its_async_form(cls):
    ice, flo = getattr(icechunk, cls), getattr(frazil, cls)
    missing = [n for n in dir(flo) if not n.startswith("_") and not n.endswith("_async")
               and hasattr(ice, n + "_async") and not hasattr(flo, n + "_async")]
    assert missing == []


ERRORS = ["IcechunkError", "ConflictError", "RebaseFailedError", "NotFoundError",
          "NodeNotFoundError", "SnapshotNotFoundError", "RefNotFoundError",
          "RepositoryNotFoundError", "AlreadyExistsError", "ReadOnlyError", "InvalidInputError",
          "SessionStateError", "StorageError", "FormatError", "InternalError"]


@pytest.mark.parametrize("name", ERRORS)
def test_error_tree_mirrors_icechunk(name):
    ice, flo = getattr(icechunk, name), getattr(frazil, name)
    ice_bases = {b.__name__ for b in ice.__mro__} & set(ERRORS + ["KeyError", "ValueError"])
    flo_bases = {b.__name__ for b in flo.__mro__} & set(ERRORS + ["KeyError", "ValueError"])
    assert ice_bases == flo_bases


@pytest.mark.parametrize("method", ["create", "open", "open_or_create", "readonly_session",
                                    "writable_session", "transaction", "create_branch",
                                    "reset_branch", "ancestry", "create_tag"])
def test_repository_signatures_accept_icechunk_arguments(method):
    ice = inspect.signature(getattr(icechunk.Repository, method))
    flo = inspect.signature(getattr(frazil.Repository, method))
    for name, param in ice.parameters.items():
        assert name in flo.parameters, f"{method}: missing argument {name}"
        assert flo.parameters[name].kind == param.kind, f"{method}({name}) kind differs"


def test_commit_signature():
    ice = inspect.signature(icechunk.Session.commit)
    flo = inspect.signature(frazil.Session.commit)
    for name in ("message", "metadata", "allow_empty", "rebase_with", "rebase_tries"):
        assert name in ice.parameters and name in flo.parameters
