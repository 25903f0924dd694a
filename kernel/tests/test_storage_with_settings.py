"""The kernel's part of ``Storage.with_settings``: conditional-write flags and split reads,
on the built-in storages (the object-store backends are checked on the wire in
tests/test_storage_settings.py)."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import frazil
import pytest
from frazil.storage import ConditionFailedError, InMemoryStorage, LocalFileSystemStorage


def run(coro):
    return asyncio.run(coro)


def _settings(**kw):
    return frazil.StorageSettings(**kw)


class CountingStorage(InMemoryStorage):
    """Counts the byte ranges the kernel asks the backend for."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[object] = []

    async def _get_object(self, path, byte_range):
        self.ranges.append(byte_range)
        return await super()._get_object(path, byte_range)


def test_nothing_set_gives_the_same_storage():
    s = InMemoryStorage()
    assert s.with_settings(None) is s and s.with_settings(_settings()) is s
    with pytest.raises(frazil.InvalidInputError, match="StorageSettings"):
        s.with_settings("fast please")


def test_conditional_update_off_overwrites_a_stale_version():
    s = InMemoryStorage()
    first = run(s.put_object_if("k", b"1", expected=None))
    run(s.put_object_if("k", b"2", expected=first))
    with pytest.raises(ConditionFailedError):  # stale token: refused by default
        run(s.put_object_if("k", b"3", expected=first))
    plain = s.with_settings(_settings(unsafe_use_conditional_update=False))
    token = run(plain.put_object_if("k", b"3", expected=first))
    assert run(s.get_object_versioned("k")) == (b"3", token)  # same objects as the original
    with pytest.raises(ConditionFailedError):  # the original still checks
        run(s.put_object_if("k", b"4", expected=first))
    with pytest.raises(ConditionFailedError):  # creation is still conditional
        run(plain.put_object_if("k", b"5", expected=None))


def test_conditional_create_off_replaces_an_existing_object(tmp_path: Path):
    s = LocalFileSystemStorage(tmp_path)
    run(s.put_object("k", b"old"))
    with pytest.raises(ConditionFailedError):
        run(s.put_object_if("k", b"new", expected=None))
    plain = s.with_settings(_settings(unsafe_use_conditional_create=False))
    token = run(plain.put_object_if("k", b"new", expected=None))
    assert run(s.get_object_versioned("k")) == (b"new", token)
    clone = pickle.loads(pickle.dumps(plain))  # the settings travel with the storage
    run(clone.put_object_if("k", b"newer", expected=None))
    assert run(s.get_object("k")) == b"newer"


def test_large_ranges_are_read_in_parallel_parts():
    s = CountingStorage()
    payload = bytes(range(256)) * 4
    run(s.put_object("k", payload))
    split = s.with_settings(_settings(concurrency=frazil.StorageConcurrencySettings(
        max_concurrent_requests_for_object=3, ideal_concurrent_request_size=100)))
    assert run(split.get_object("k", (10, 1010))) == payload[10:1010]
    assert s.ranges == [(10, 344), (344, 678), (678, 1010)]  # at most 3 parts
    s.ranges.clear()
    assert run(split.get_object("k", (10, 5000))) == payload[10:]  # clamped, as one read
    with pytest.raises(frazil.InvalidInputError):
        run(split.get_object("k", (2000, 5000)))
    s.ranges.clear()
    assert run(split.get_object("k", (0, 250))) == payload[:250]
    assert s.ranges == [(0, 84), (84, 168), (168, 250)]  # parts of at most the ideal size
    s.ranges.clear()
    for rng in [(0, 100), (900, None), (-500, None), None]:  # small or open: one request
        run(split.get_object("k", rng))
    assert len(s.ranges) == 4
    s.ranges.clear()
    run(s.get_object("k", (10, 1010)))
    assert s.ranges == [(10, 1010)]  # the original does not split


def test_repository_applies_its_config_settings(tmp_path: Path):
    storage = LocalFileSystemStorage(tmp_path / "r")
    config = frazil.RepositoryConfig(storage=_settings(unsafe_use_conditional_update=False))
    repo = frazil.Repository.create(storage, config=config)
    assert repo.storage is not storage
    assert repo.storage.__dict__.get("_conditional_update") is False
    reopened = frazil.Repository.open(storage)  # the saved config governs it too
    assert reopened.storage.__dict__.get("_conditional_update") is False
    plain = frazil.Repository.create(LocalFileSystemStorage(tmp_path / "p"))
    assert "_conditional_update" not in plain.storage.__dict__


def test_the_same_settings_give_the_same_copy(tmp_path: Path):
    s = LocalFileSystemStorage(tmp_path)
    one = s.with_settings(_settings(unsafe_use_conditional_update=False))
    assert s.with_settings(_settings(unsafe_use_conditional_update=False)) is one
    assert one.with_settings(_settings(unsafe_use_conditional_update=False)) is one
    other = s.with_settings(_settings(unsafe_use_conditional_create=False))
    assert other is not one and other.__dict__.get("_conditional_update", True) is True
    assert "_settings_cache" not in pickle.loads(pickle.dumps(one)).__dict__


def test_settings_of_a_copy_stack_on_that_copy(tmp_path: Path):
    s = InMemoryStorage()
    plain_update = s.with_settings(_settings(unsafe_use_conditional_update=False))
    both = plain_update.with_settings(_settings(unsafe_use_conditional_create=False))
    assert both.__dict__.get("_conditional_update") is False
    assert both.__dict__.get("_conditional_create") is False
    only_create = s.with_settings(_settings(unsafe_use_conditional_create=False))
    assert only_create is not both and "_conditional_update" not in only_create.__dict__
