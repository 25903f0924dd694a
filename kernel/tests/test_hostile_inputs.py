"""Hostile inputs (issue: six defects found by an outside probe), each at its root.

Every case gets a clear frazil error, loses nothing, and where icechunk 2.3 can
be asked the same question it is: both libraries refuse.
"""

from __future__ import annotations

import json
import os
import struct

import frazil as ic
import numpy as np
import pytest
import zarr
from frazil._sync import sync
from frazil.format import codec
from frazil.format.header import FileType, encode_file
from zarr.core.buffer import default_buffer_prototype

icechunk = pytest.importorskip("icechunk")


# ------------------------------------------------- 1 + 2: virtual chunk containers
@pytest.fixture
def files(tmp_path):
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    allowed.mkdir()
    secret.mkdir()
    (allowed / "a.bin").write_bytes(b"ALLOWED-DATA")
    (secret / "s.bin").write_bytes(b"SECRET--DATA")
    return tmp_path


def _virtual_read(lib, root, location, auth, containers=("allowed/",)):
    cfg = lib.RepositoryConfig.default()
    for c in containers:
        cfg.set_virtual_chunk_container(lib.VirtualChunkContainer(
            f"file://{root}/{c}", lib.local_filesystem_store(f"{root}/{c}")))
    repo = lib.Repository.create(lib.in_memory_storage(), config=cfg,
                                 authorize_virtual_chunk_access=auth)
    s = repo.writable_session("main")
    a = zarr.group(store=s.store).create_array("v", shape=(4,), chunks=(4,), dtype="u1",
                                               compressors=None, fill_value=0)
    s.store.set_virtual_ref("v/c/0", location, offset=0, length=4, validate_container=False)
    return bytes(a[:])


TRAVERSALS = ["allowed/../secret/s.bin", "allowed/%2e%2e/secret/s.bin",
              "allowed/%2E./secret/s.bin", "allowed/./../secret/s.bin"]


@pytest.mark.parametrize("lib", [ic, icechunk], ids=["frazil", "icechunk"])
@pytest.mark.parametrize("tail", TRAVERSALS)
def test_dot_segments_cannot_leave_the_container(lib, files, tail):
    root = str(files)
    auth = {f"file://{root}/allowed/": lib.credentials.LocalFileSystemAccess}
    with pytest.raises(ValueError, match="no virtual chunk container can handle"):
        _virtual_read(lib, root, f"file://{root}/{tail}", auth)


@pytest.mark.parametrize("lib", [ic, icechunk], ids=["frazil", "icechunk"])
def test_dot_segments_inside_the_container_still_read(lib, files):
    root = str(files)
    auth = {f"file://{root}/allowed/": lib.credentials.LocalFileSystemAccess}
    assert _virtual_read(lib, root, f"file://{root}/allowed/./a.bin", auth) == b"ALLO"
    assert _virtual_read(lib, root, f"file://{root}/allowed/x/../a.bin", auth) == b"ALLO"


@pytest.mark.parametrize("lib", [ic, icechunk], ids=["frazil", "icechunk"])
def test_empty_segments_are_refused(lib, files):
    root = str(files)
    auth = {f"file://{root}/allowed/": lib.credentials.LocalFileSystemAccess}
    with pytest.raises(ValueError, match=r"empty \(//\)"):
        _virtual_read(lib, root, f"file://{root}/allowed//a.bin", auth)


@pytest.mark.parametrize("lib", [ic, icechunk], ids=["frazil", "icechunk"])
def test_authorizing_an_unconfigured_prefix_reads_nothing(lib, files):
    """``{"file:///": ...}`` authorizes no configured container: nothing resolves."""
    root = str(files)
    auth = {"file:///": lib.credentials.LocalFileSystemAccess}
    with pytest.raises(ValueError, match="no virtual chunk container can handle"):
        _virtual_read(lib, root, "file:///etc/passwd", auth)
    with pytest.raises(ValueError, match="no virtual chunk container can handle"):
        _virtual_read(lib, root, f"file://{root}/secret/s.bin", auth)
    with pytest.raises(ValueError, match="authorize"):
        _virtual_read(lib, root, f"file://{root}/allowed/a.bin", auth)


@pytest.mark.parametrize("lib", [ic, icechunk], ids=["frazil", "icechunk"])
def test_containers_credentials_and_sentinels_authorize(lib, files):
    root = str(files)
    prefix = f"file://{root}/allowed/"
    auth = lib.containers_credentials({prefix: lib.credentials.LocalFileSystemAccess})
    assert _virtual_read(lib, root, f"{prefix}a.bin", auth) == b"ALLO"


def test_nested_containers_pick_the_longest_prefix(files):
    root = str(files)
    (files / "allowed" / "inner").mkdir()
    (files / "allowed" / "inner" / "i.bin").write_bytes(b"INNER")
    outer, inner = f"file://{root}/allowed/", f"file://{root}/allowed/inner/"
    # only the outer container is authorized: a ref under the inner one is refused
    with pytest.raises(ic.InvalidInputError, match="authorize"):
        _virtual_read(ic, root, f"{inner}i.bin", {outer: ic.credentials.LocalFileSystemAccess},
                      containers=("allowed/", "allowed/inner/"))


def test_write_time_validation_uses_the_normalized_location(files):
    root = str(files)
    cfg = ic.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(
        f"file://{root}/allowed/", ic.local_filesystem_store(f"{root}/allowed/")))
    s = ic.Repository.create(ic.in_memory_storage(), config=cfg).writable_session("main")
    zarr.group(store=s.store).create_array("v", shape=(4,), chunks=(1,), dtype="u1")
    with pytest.raises(ic.InvalidInputError, match="no matching virtual chunk container"):
        s.store.set_virtual_ref("v/c/0", f"file://{root}/allowed/../secret/s.bin",
                                offset=0, length=1)
    spec = ic.VirtualChunkSpec([1], f"file://{root}/allowed/%2e%2e/secret/s.bin", 0, 1)
    assert s.store.set_virtual_refs("v", [spec]) == [(1,)]
    locs = [f"file://{root}/allowed/a.bin", f"file://{root}/allowed/../secret/s.bin", "", ""]
    failed = s.store.set_virtual_refs_arr("v", (4,), locs, np.zeros(4, np.uint64),
                                          np.ones(4, np.uint64))
    assert failed == [(1,)]


# ------------------------------------------------------- 3: manifest size bombs
class _Buf:
    """A tiny flatbuffer assembler for hand-made hostile files (front to back)."""

    def __init__(self) -> None:
        self.b = bytearray(4)  # the root offset is patched in at the end

    def align(self, n: int = 4) -> None:
        while len(self.b) % n:
            self.b.append(0)

    def table(self, fields: list[tuple[int, bytes]], tlen: int) -> tuple[int, list[int]]:
        """vtable + table; ``fields``: (offset in table, bytes); returns (pos, field positions)."""
        self.align(2)
        nslots = len(fields)
        vt = len(self.b)
        self.b += struct.pack("<HH", 4 + 2 * nslots, tlen)
        for off, _ in fields:
            self.b += struct.pack("<H", off)
        self.align(4)
        pos = len(self.b)
        self.b += struct.pack("<i", pos - vt) + bytes(tlen - 4)
        for off, data in fields:
            self.b[pos + off: pos + off + len(data)] = data
        return pos, [pos + off for off, _ in fields]

    def uoffset(self, at: int, target: int) -> None:
        self.b[at: at + 4] = struct.pack("<I", target - at)

    def vector(self, count: int, body: bytes) -> int:
        self.align(4)
        pos = len(self.b)
        self.b += struct.pack("<I", count) + body
        return pos


def _hostile_manifest(mid: bytes, nid: bytes, n: int, *, share_table: bool,
                      share_index: bool, ndim: int, share_inline: bool) -> bytes:
    """A manifest of ``n`` inline refs for node ``nid``, sharing what it is told to."""
    f = _Buf()
    root, (_, arrays_at) = f.table([(4, mid), (16, b"")], 20)
    f.uoffset(0, root)
    arrays = f.vector(1, bytes(4))
    am, (_, refs_at) = f.table([(4, nid), (12, b"")], 16)
    f.uoffset(arrays + 4, am)
    f.uoffset(arrays_at, arrays)
    refs = f.vector(n, bytes(4 * n))
    f.uoffset(refs_at, refs)
    tables = []
    for i in range(1 if share_table else n):
        pos, (index_at, inline_at) = f.table([(4, b""), (8, b"")], 12)
        tables.append((pos, index_at, inline_at))
    for i in range(n):
        f.uoffset(refs + 4 + 4 * i, tables[0 if share_table else i][0])
    index = None
    inline = None
    for i, (_, index_at, inline_at) in enumerate(tables):
        if index is None or not share_index:
            index = f.vector(ndim, struct.pack(f"<{ndim}I", *([i] + [0] * (ndim - 1))))
        f.uoffset(index_at, index)
        if inline is None or not share_inline:
            inline = f.vector(4096, bytes(4096))
        f.uoffset(inline_at, inline)
    return encode_file(FileType.MANIFEST, bytes(f.b))


@pytest.fixture
def one_array_repo(tmp_path):
    path = str(tmp_path / "r")
    repo = ic.Repository.create(ic.local_filesystem_storage(path))
    s = repo.writable_session("main")
    zarr.group(store=s.store).create_array("a", shape=(4096,), chunks=(1,), dtype="u1",
                                           compressors=None)[:2] = 7
    s.commit("two chunks")
    (name,) = os.listdir(os.path.join(path, "manifests"))
    return path, name


@pytest.mark.parametrize("share", ["table", "index", "inline"])
def test_manifest_sharing_tricks_are_refused_cheaply(one_array_repo, share):
    path, name = one_array_repo
    mpath = os.path.join(path, "manifests", name)
    good = codec.decode_manifest(open(mpath, "rb").read(), "m")
    bomb = _hostile_manifest(good.id.raw, good.arrays[0].node_id.raw, 2000,
                             share_table=share == "table", share_index=share == "index",
                             ndim=1, share_inline=share == "inline")
    assert len(bomb) < 64 * 1024  # small on disk
    with pytest.raises(ic.FormatError, match="share|shared|overlap|apparent size too large"):
        codec.decode_manifest(bomb, "hostile manifest")
    open(mpath, "wb").write(bomb)
    fresh = ic.Repository.open(ic.local_filesystem_storage(path))
    arr = zarr.open_array(fresh.readonly_session("main").store, path="a", mode="r")
    with pytest.raises(ic.FormatError):
        arr[:4]


def test_manifest_with_absurd_dimensions_is_refused(one_array_repo):
    path, name = one_array_repo
    good = codec.decode_manifest(open(os.path.join(path, "manifests", name), "rb").read(), "m")
    bomb = _hostile_manifest(good.id.raw, good.arrays[0].node_id.raw, 4, share_table=False,
                             share_index=False, ndim=100_000, share_inline=False)
    with pytest.raises(ic.FormatError, match="dimensions"):
        codec.decode_manifest(bomb, "hostile manifest")


def test_honest_manifests_still_decode(one_array_repo):
    path, name = one_array_repo
    good = codec.decode_manifest(open(os.path.join(path, "manifests", name), "rb").read(), "m")
    honest = _hostile_manifest(good.id.raw, good.arrays[0].node_id.raw, 50, share_table=False,
                               share_index=False, ndim=1, share_inline=False)
    refs = codec.decode_manifest(honest, "honest").arrays[0]
    assert len(refs) == 50 and refs.coords[:, 0].tolist() == list(range(50))


# ------------------------------------------------ 5: zstd frames that lie or trail
def _frame_declaring(size: int) -> bytes:
    # magic, frame header descriptor (8-byte content size, single segment), size, an
    # empty last raw block
    return b"\x28\xb5\x2f\xfd" + bytes([0xE0]) + struct.pack("<Q", size) + b"\x01\x00\x00"


KINDS = [(FileType.REPO_INFO, codec.decode_repo_info),
         (FileType.SNAPSHOT, codec.decode_snapshot),
         (FileType.MANIFEST, codec.decode_manifest),
         (FileType.TRANSACTION_LOG, codec.decode_transaction_log)]


@pytest.mark.parametrize("ftype,decode", KINDS, ids=lambda k: getattr(k, "name", ""))
def test_terabyte_frame_is_a_format_error(ftype, decode):
    good = encode_file(ftype, b"\0" * 64)
    header = good[:39]
    with pytest.raises(ic.FormatError, match="apparent size too large"):
        decode(header + _frame_declaring(1 << 40), "hostile")


@pytest.mark.parametrize("ftype,decode", KINDS, ids=lambda k: getattr(k, "name", ""))
def test_bytes_after_the_frame_are_a_format_error(filled_files, ftype, decode):
    data = filled_files[ftype]
    decode(data, "as written")  # the honest file decodes
    with pytest.raises(ic.FormatError, match="after the end"):
        decode(data + b"\0trailing", "hostile")


@pytest.fixture
def filled_files(tmp_path):
    path = str(tmp_path / "r")
    repo = ic.Repository.create(ic.local_filesystem_storage(path))
    s = repo.writable_session("main")
    zarr.group(store=s.store).create_array("a", shape=(4,), chunks=(2,), dtype="i4")[:] = 3
    sid = s.commit("one")

    def one(folder, name=None):
        name = name or sorted(os.listdir(os.path.join(path, folder)))[0]
        return open(os.path.join(path, folder, name), "rb").read()

    return {FileType.REPO_INFO: open(os.path.join(path, "repo"), "rb").read(),
            FileType.SNAPSHOT: one("snapshots", sid),
            FileType.MANIFEST: one("manifests"),
            FileType.TRANSACTION_LOG: one("transactions", sid)}


def test_decompression_bomb_without_a_declared_size_is_bounded():
    import zstandard

    bomb = zstandard.ZstdCompressor(write_content_size=False).compress(b"\0" * (300 << 20))
    header = encode_file(FileType.SNAPSHOT, b"")[:39]
    with pytest.raises(ic.FormatError, match="apparent size too large"):
        codec.decode_snapshot(header + bomb, "bomb")


# ---------------------------------------------- 6: a group written over an array
def _set(store, key: str, value: bytes) -> None:
    async def go():
        await store.set(key, default_buffer_prototype().buffer.from_bytes(value))
    sync(go())


@pytest.mark.parametrize("lib", [ic, icechunk], ids=["frazil", "icechunk"])
def test_group_metadata_over_an_array_is_refused(lib, tmp_path):
    repo = lib.Repository.create(lib.local_filesystem_storage(str(tmp_path / "r")))
    s = repo.writable_session("main")
    root = zarr.group(store=s.store)
    root.create_array("a", shape=(4,), chunks=(2,), dtype="i4")[:] = 5
    root.create_group("g")
    s.commit("array and group")
    s = repo.writable_session("main")
    group_md = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}).encode()
    with pytest.raises(lib.AlreadyExistsError, match="node already exists"):
        _set(s.store, "a/zarr.json", group_md)
    array_md = zarr.open_array(s.store, path="a").metadata.to_buffer_dict(
        default_buffer_prototype())["zarr.json"].to_bytes()
    with pytest.raises(lib.AlreadyExistsError, match="node already exists"):
        _set(s.store, "g/zarr.json", array_md)
    assert zarr.open_array(s.store, path="a")[:].tolist() == [5, 5, 5, 5]  # nothing lost
    assert not s.has_uncommitted_changes
