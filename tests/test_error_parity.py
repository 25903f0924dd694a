"""The same mistake raises the same error class (by name) with the same kind in icechunk 2.3
and frazil, so ``except ic.SomeError`` code keeps working after ``import frazil as ic``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _interop_support import LIBRARIES, load_lib

icechunk = pytest.importorskip("icechunk")


def _repo(lib: Any, path: Path) -> Any:
    return lib.Repository.create(lib.local_filesystem_storage(str(path)))


def _create_over_existing(lib: Any, path: Path) -> None:
    _repo(lib, path)
    _repo(lib, path)


def _create_in_dirty_prefix(lib: Any, path: Path) -> None:
    path.mkdir()
    (path / "stray.txt").write_text("x")
    _repo(lib, path)


def _open_missing(lib: Any, path: Path) -> None:
    lib.Repository.open(lib.local_filesystem_storage(str(path)))


def _unknown_branch(lib: Any, path: Path) -> None:
    _repo(lib, path).readonly_session(branch="nope")


def _unknown_tag(lib: Any, path: Path) -> None:
    _repo(lib, path).readonly_session(tag="nope")


def _unknown_snapshot(lib: Any, path: Path) -> None:
    _repo(lib, path).readonly_session(snapshot_id="0" * 20)


def _duplicate_branch(lib: Any, path: Path) -> None:
    repo = _repo(lib, path)
    tip = repo.lookup_branch("main")
    repo.create_branch("dev", tip)
    repo.create_branch("dev", tip)


def _delete_main(lib: Any, path: Path) -> None:
    _repo(lib, path).delete_branch("main")


CASES = [_create_over_existing, _create_in_dirty_prefix, _open_missing, _unknown_branch,
         _unknown_tag, _unknown_snapshot, _duplicate_branch, _delete_main]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_same_error_class_and_kind(tmp_path: Path, case: Any) -> None:
    seen = {}
    for name in LIBRARIES:
        with pytest.raises(Exception) as err:
            case(load_lib(name), tmp_path / name)
        seen[name] = (type(err.value).__name__, getattr(err.value, "kind", None))
    assert seen["frazil"] == seen["icechunk"]
    assert seen["frazil"][0] != "Exception"


BAD_CONFIG = [
    lambda lib: lib.CachingConfig(num_snapshot_nodes="x"),
    lambda lib: lib.CachingConfig(num_snapshot_nodes=-1),
    lambda lib: lib.CompressionConfig(level="a"),
    lambda lib: lib.RepositoryConfig(inline_chunk_threshold_bytes="a"),
    lambda lib: lib.ManifestPreloadConfig(max_total_refs=1.5),
    lambda lib: lib.StorageRetriesSettings(max_tries=-3),
]


@pytest.mark.parametrize("make", BAD_CONFIG, ids=range(len(BAD_CONFIG)))
def test_bad_config_values_raise_what_icechunk_raises(make: Any) -> None:
    """icechunk raises a builtin TypeError/OverflowError; frazil's error is that builtin and
    an InvalidInputError naming the setting."""
    with pytest.raises(Exception) as ice:
        make(icechunk)
    builtin = type(ice.value)
    assert builtin in (TypeError, OverflowError)
    frazil = load_lib("frazil")
    with pytest.raises(builtin) as flo:
        make(frazil)
    assert isinstance(flo.value, frazil.InvalidInputError)
    assert "must be" in str(flo.value)
    import pickle
    again = pickle.loads(pickle.dumps(flo.value))
    assert type(again) is type(flo.value) and str(again) == str(flo.value)


def _snapshot_file_not_in_repo(lib: Any, path: Path) -> None:
    """A snapshot object the repository does not list (e.g. left by a failed commit) is
    not a session target, even though its file is readable."""
    import shutil

    repo = _repo(lib, path)
    tip = repo.lookup_branch("main")
    stray = "Z" * 19 + "0"  # a valid id no repository operation made
    shutil.copy(path / "snapshots" / tip, path / "snapshots" / stray)
    repo.readonly_session(snapshot_id=stray)


@pytest.mark.parametrize("name", LIBRARIES)
def test_a_snapshot_file_outside_the_repo_info_is_not_found(tmp_path: Path, name: str) -> None:
    lib = load_lib(name)
    with pytest.raises(lib.SnapshotNotFoundError):
        _snapshot_file_not_in_repo(lib, tmp_path / name)
