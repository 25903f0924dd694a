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


# --------------------------------------------------------------- top-level names
#: icechunk 2.3 names frazil does not provide yet, each with its reason. The list
#: may only shrink; a new icechunk name missing from frazil fails the test.
NOT_YET: dict[str, str] = {}


#: names icechunk has that are not its API (appear once something imports them)
INTERNALS = {
    "vendor": "icechunk's vendored third-party code",
    "testing": "icechunk's own test helpers (frazil.testing is frazil's conformance kit)",
}


def test_top_level_names_match_icechunk():
    ice = {n for n in dir(icechunk) if not n.startswith("_") and n not in INTERNALS}
    missing = sorted(n for n in ice if not hasattr(frazil, n) and n not in NOT_YET)
    assert missing == []
    assert all(n in ice for n in NOT_YET), "a NOT_YET entry icechunk no longer has"


CONFIG_CLASSES = ["CompressionConfig", "CachingConfig", "StorageSettings",
                  "StorageRetriesSettings", "StorageTimeoutSettings",
                  "StorageConcurrencySettings", "ManifestConfig", "ManifestPreloadConfig",
                  "ManifestVirtualChunkLocationCompressionConfig", "ManifestSplittingConfig",
                  "ManifestSplitCondition", "ManifestPreloadCondition", "RepositoryConfig",
                  "Attribution"]


@pytest.mark.parametrize("cls", CONFIG_CLASSES)
def test_config_classes_have_icechunks_members_and_arguments(cls):
    ice, flo = getattr(icechunk, cls), getattr(frazil, cls)
    members = [n for n in dir(ice) if not n.startswith("_") and not hasattr(flo, n)]
    assert members == []
    try:
        ice_sig = inspect.signature(ice)
    except ValueError:  # some Rust classes carry no signature
        return
    flo_sig = inspect.signature(flo)
    assert list(ice_sig.parameters) == list(flo_sig.parameters)
    for name, param in ice_sig.parameters.items():
        assert flo_sig.parameters[name].kind == param.kind, f"{cls}({name})"
        assert flo_sig.parameters[name].default == param.default, f"{cls}({name}) default"


def test_logging_entry_points(caplog, monkeypatch):
    import logging

    monkeypatch.setenv("FRAZIL_LOG", "frazil.storage=debug,info")
    frazil.initialize_logs()
    assert logging.getLogger("frazil.storage").level == logging.DEBUG
    assert logging.getLogger("frazil").level == logging.INFO
    frazil.set_logs_filter("icechunk=error")  # icechunk's targets are accepted
    assert logging.getLogger("frazil").level == logging.ERROR
    with pytest.raises(frazil.InvalidInputError, match="unknown level"):
        frazil.set_logs_filter("frazil=loud")
    frazil.set_logs_filter(None)
    assert frazil.user_agent().startswith("frazil-python-2.")
    assert frazil.shutdown_telemetry() is None


def test_print_debug_info(capsys):
    frazil.print_debug_info()
    out = capsys.readouterr().out
    assert "frazil: 2." in out and "zarr:" in out and "python:" in out


#: class members icechunk 2.3 has and frazil does not yet, each with its reason
NOT_YET_MEMBERS: dict[tuple[str, str], str] = {}


def test_class_members_match_icechunk():
    """Every public member of every icechunk class is on frazil's class of the same name."""
    missing = []
    for name in icechunk.__all__:
        ice, flo = getattr(icechunk, name), getattr(frazil, name, None)
        if not inspect.isclass(ice) or flo is None:
            continue
        missing += [(name, m) for m in dir(ice) if not m.startswith("_")
                    and not hasattr(flo, m) and (name, m) not in NOT_YET_MEMBERS]
    assert missing == []


def test_storage_constructors_and_settings(tmp_path):
    assert isinstance(frazil.Storage.new_in_memory(), frazil.Storage)
    local = frazil.Storage.new_local_filesystem(str(tmp_path))
    assert isinstance(local.default_settings(), frazil.StorageSettings)
    repo = frazil.Repository.create(local)
    assert "repo" in {o.key for o in local.list_objects_metadata()}
    assert repo.list_branches() == {"main"}
    with pytest.raises(AttributeError, match="no attribute 'new_nothing'"):
        frazil.Storage.new_nothing  # noqa: B018
