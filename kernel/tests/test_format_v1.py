"""Spec-v1 codecs and state: MessagePack metadata, v1 snapshots, refs, config.yaml."""

from __future__ import annotations

import json

import frazil as ic
import pytest
from frazil import _config_yaml
from frazil.format import _msgpack, _v1, codec
from frazil.format.header import HEADER_LEN, file_spec_version
from frazil.format.ids import NodeId, ObjectId
from frazil.format.model import ArrayData, ManifestFileInfo, ManifestRef, NodeSnapshot, Snapshot
from hypothesis import given
from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 63), (1 << 64) - 1)
    | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(JSON)
def test_msgpack_round_trip(value):
    assert _msgpack.decode(_msgpack.encode(value), "v") == value


@pytest.mark.parametrize("value,hexed", [
    (0, "00"), (127, "7f"), (128, "cc80"), (-1, "ff"), (-33, "d0df"), (65536, "ce00010000"),
    (1.5, "cb3ff8000000000000"), ("a", "a161"), ([1], "9101"),
    ({"b": 1, "a": None}, "82a161c0a16201"), (True, "c3"), (None, "c0"),
])
def test_msgpack_is_compact_and_sorted(value, hexed):
    assert _msgpack.encode(value).hex() == hexed


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\xa5ab", b"\x92\x01", b"\x00\x00",
                                  b"\x81\x01\x02", b"\xdd\xff\xff\xff\xff"])
def test_msgpack_garbage_is_a_format_error(data):
    with pytest.raises(ic.FormatError):
        _msgpack.decode(data, "v")


def _snapshot() -> Snapshot:
    arr = ArrayData(((10, 3), (0, 0)), ("t", None),
                    [ManifestRef(ObjectId.random(), ((0, 3), (0, 1)))])
    return Snapshot(
        id=ObjectId.random(), flushed_at=1_700_000_000_000_000, message="m",
        metadata={"k": [1, {"x": 2.5}]},
        nodes=[NodeSnapshot(NodeId.random(), "/", b"{}", None),
               NodeSnapshot(NodeId.random(), "/a", b"{}", arr)],
        manifest_files=[ManifestFileInfo(ObjectId.random(), 123, 4)],
        parent_id=ObjectId.random())


def test_v1_snapshot_round_trip_and_header():
    s = _snapshot()
    data = _v1.encode_snapshot_v1(s)
    assert file_spec_version(data) == 1
    assert _v1.decode_snapshot(data, "s") == s
    # v2 files still decode through the same entry point
    v2 = codec.encode_snapshot(Snapshot(s.id, s.nodes, s.flushed_at, s.message, s.metadata,
                                        s.manifest_files))
    assert file_spec_version(v2) == 2
    assert _v1.decode_snapshot(v2, "s").nodes == s.nodes


def test_v1_snapshot_corruption_is_a_format_error():
    data = bytearray(_v1.encode_snapshot_v1(_snapshot()))
    for cut in (HEADER_LEN + 3, len(data) - 5):
        with pytest.raises(ic.FormatError):
            _v1.decode_snapshot(bytes(data[:cut]), "s")
    data[HEADER_LEN - 3] = 9
    with pytest.raises(ic.FormatError, match="unsupported spec version 9"):
        _v1.decode_snapshot(bytes(data), "s")


def test_config_yaml_round_trip():
    cfg = {"inline_chunk_threshold_bytes": 5, "manifest": {"preload": {"preload_if": {
        "or": [{"name_matches": {"regex": "x"}},
               {"num_refs": {"from": {"Included": 0}, "to": {"Excluded": 10}}}]}},
        "splitting": {"split_sizes": [[{"path_matches": {"regex": ".*"}},
                                       [{"condition": {"Axis": 0}, "num_chunks": 2},
                                        {"condition": "Any", "num_chunks": 1}]]]}},
        "virtual_chunk_containers": {"file:///d/": {"name": None, "url_prefix": "file:///d/",
                                                    "store": {"local_file_system": "/d"}}}}
    text = _config_yaml.dumps(cfg)
    assert b"!local_file_system" in text and b"!Included 0" in text and b"!Axis 0" in text
    assert _config_yaml.loads(text) == cfg
    assert _config_yaml.loads(json.dumps({"a": 1}).encode()) == {"a": 1}
    for bad in (b"[1, 2]", b"a: [", b"{{"):
        with pytest.raises(ic.FormatError):
            _config_yaml.loads(bad)


def test_v1_ref_files_and_bad_refs(tmp_path):
    path = tmp_path / "r"
    repo = ic.Repository.create(ic.local_filesystem_storage(str(path)), spec_version=1)
    main = repo.lookup_branch("main")
    ref = path / "refs" / "branch.main" / "ref.json"
    assert json.loads(ref.read_text()) == {"snapshot": main}
    with pytest.raises(ic.InvalidInputError):
        repo.create_branch("a/b", main)
    repo.create_tag("t", main)
    repo.delete_tag("t")
    assert (path / "refs" / "tag.t" / "ref.json.deleted").read_bytes() == b""
    assert (path / "refs" / "tag.t" / "ref.json").exists()  # kept: the name stays taken
    ref.write_text("{not json")
    with pytest.raises(ic.FormatError):
        ic.Repository.open(ic.local_filesystem_storage(str(path))).list_branches()
