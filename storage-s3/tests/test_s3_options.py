"""icechunk's S3 options on a real S3 API (moto, with a FaultFront to see the wire):
extra headers, requester pays, checksums, Tigris consistency, the bucket root
and the legacy leading-slash key layout (with icechunk 2.3 as the oracle)."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import boto3
import frazil
import numpy as np
import pytest
import zarr
from frazil_s3 import ChecksumAlgorithm, S3Options, s3_storage, s3_store, tigris_storage


def _raw(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def _headers(seen):
    return {k.lower(): v for k, v in seen.headers.items()}


def test_extra_headers_and_requester_pays_on_every_route(front, front_kwargs):
    storage = s3_storage(prefix="hdr", requester_pays=True,
                         headers={"X-Both": "b", "X-Role": "both"},
                         read_headers={"X-Role": "read"}, write_headers={"X-Role": "write"},
                         **front_kwargs)

    async def main():
        await storage.put_object("k", b"data")  # plain route, PUT
        assert await storage.get_object("k", (1, 3)) == b"at"  # plain route, GET
        assert await storage.object_size("k") == 4  # plain route, HEAD
        assert [o.path for o in await storage.list_objects_async("")] == ["k"]  # plain route, list
        assert await storage.delete_objects(["k"]) == 1  # boto3, POST

    asyncio.run(main())
    methods = set()
    for seen in front.requests():
        h = _headers(seen)
        methods.add(seen.method)
        assert h["x-both"] == "b" and h["x-amz-request-payer"] == "requester", seen
        assert h["x-role"] == ("read" if seen.method in ("GET", "HEAD") else "write"), seen
        assert "x-both" in h["authorization"].lower()  # signed, like every other header
    assert methods == {"PUT", "GET", "HEAD", "POST"}


@pytest.mark.parametrize("bad", [{"bad header": "x"}, {"X-Ok": "line\r\nbreak"}, {"": "x"}])
def test_invalid_headers_refused_up_front(s3_kwargs, bad):
    with pytest.raises(frazil.InvalidInputError):
        s3_storage(prefix="x", headers=bad, **s3_kwargs)
    with pytest.raises(ValueError):  # noqa: PT011 - icechunk raises ValueError too
        s3_storage(prefix="x", write_headers=bad, **s3_kwargs)


@pytest.mark.parametrize("algorithm", ["Sha256", "Crc32", "Sha1"])
def test_checksum_algorithm_on_uploads(s3_kwargs, s3_endpoint, algorithm):
    import icechunk

    # frazil's enum, icechunk's enum and the persisted name are all accepted
    given = {"Sha256": ChecksumAlgorithm.Sha256, "Crc32": icechunk.ChecksumAlgorithm.Crc32,
             "Sha1": "sha1"}[algorithm]
    storage = s3_storage(prefix="sum", checksum_algorithm=given, multipart_threshold=6 * 2**20,
                         multipart_part_size=5 * 2**20, **s3_kwargs)
    small = b"small object"
    big = np.random.default_rng(1).bytes(6 * 2**20 + 7)

    async def main():
        await storage.put_object("small", small)
        await storage.put_object_if("cond", small, expected=None)
        await storage.put_object("big", big)  # multipart, checksum per part
        assert await storage.get_object("big") == big
        assert await storage.delete_objects(["cond"]) == 1

    asyncio.run(main())
    raw = _raw(s3_endpoint)
    name = f"Checksum{algorithm.upper()}"
    head = raw.head_object(Bucket=s3_kwargs["bucket"], Key="sum/small", ChecksumMode="ENABLED")
    digest = {"Sha256": hashlib.sha256, "Sha1": hashlib.sha1}.get(algorithm)
    if digest is not None:
        assert head[name] == base64.b64encode(digest(small).digest()).decode()
    else:
        import zlib

        assert head[name] == base64.b64encode(zlib.crc32(small).to_bytes(4, "big")).decode()
    big_head = raw.head_object(Bucket=s3_kwargs["bucket"], Key="sum/big", ChecksumMode="ENABLED")
    assert big_head.get(name), big_head  # the completed upload carries a checksum too
    with pytest.raises(frazil.InvalidInputError):
        s3_storage(prefix="sum", checksum_algorithm="md5", **s3_kwargs)


def test_container_checksum_setting_persists_like_icechunk(tmp_path):
    import icechunk

    store = s3_store(region="us-east-1", checksum_algorithm=ChecksumAlgorithm.Crc32c)
    assert store._to_dict()["s3"]["checksum_algorithm"] == "crc32c"
    assert S3Options._from_dict(store._to_dict()) == store
    # frazil writes the container, icechunk reads it back, and the other way round
    cfg = frazil.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(frazil.VirtualChunkContainer("s3://bucket/data/", store))
    frazil.Repository.create(frazil.local_filesystem_storage(str(tmp_path / "f")), config=cfg)
    ice = icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "f")))
    got = ice.config.virtual_chunk_containers["s3://bucket/data/"].store
    assert "checksum_algorithm: icechunk.ChecksumAlgorithm.Crc32c" in str(got)
    icfg = icechunk.RepositoryConfig.default()
    icfg.set_virtual_chunk_container(icechunk.VirtualChunkContainer(
        "s3://bucket/data/", icechunk.s3_store(region="us-east-1",
                                                checksum_algorithm=icechunk.ChecksumAlgorithm.Sha1)))
    icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path / "i")),
                               config=icfg)
    mine = frazil.Repository.open(frazil.local_filesystem_storage(str(tmp_path / "i")))
    cont = mine.config.virtual_chunk_containers["s3://bucket/data/"]
    assert cont.store.options["checksum_algorithm"] == "sha1"
    # the form the s3:// resolver builds its client from
    assert S3Options._from_dict(cont.store._to_dict()).checksum_algorithm is ChecksumAlgorithm.Sha1


def test_tigris_consistency_headers_and_weak_read_only(front, front_kwargs, s3_kwargs):
    kw = {k: v for k, v in front_kwargs.items() if k not in ("region", "force_path_style")}
    with pytest.raises(frazil.StorageError, match="region"):
        tigris_storage(prefix="t", **kw)
    strong = tigris_storage(prefix="t", region="us-east-1",
                            headers={"x-tigris-consistent": "false", "X-Mine": "1"}, **kw)
    repo = frazil.Repository.create(strong)
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="a", shape=(4,), chunks=(2,), dtype="i1")[:] = 3
    s.commit("consistent")
    for seen in front.requests():
        h = _headers(seen)
        assert h["x-tigris-regions"] == "us-east-1" and h["x-tigris-consistent"] == "true"
        assert h["x-mine"] == "1"
        assert (h.get("cache-control") == "no-cache") == (seen.method in ("GET", "HEAD"))
    front.seen.clear()
    weak = tigris_storage(prefix="t", use_weak_consistency=True, **kw)
    assert not weak.can_write
    read = frazil.Repository.open(weak).readonly_session(branch="main")
    assert zarr.open_array(read.store, path="a", mode="r")[:].tolist() == [3] * 4
    assert not any("x-tigris-consistent" in _headers(s) for s in front.requests())
    with pytest.raises(frazil.IcechunkError):
        frazil.Repository.create(tigris_storage(prefix="t2", use_weak_consistency=True, **kw))
    assert not front.requests("PUT")  # nothing was written


def test_no_new_repository_at_the_bucket_root(s3_kwargs):
    import icechunk

    icechunk.set_logs_filter("error")
    for lib in (frazil, icechunk):
        with pytest.raises(ValueError, match="prefix"):  # icechunk's InvalidInputError too
            lib.Repository.create(lib.s3_storage(prefix=None, **s3_kwargs))


def _copy(raw, bucket, src_prefix, dst_prefix):
    keys = [o["Key"] for o in raw.list_objects_v2(Bucket=bucket, Prefix=src_prefix + "/")
            .get("Contents", [])]
    for key in keys:
        raw.copy_object(Bucket=bucket, Key=dst_prefix + key[len(src_prefix) + 1:],
                        CopySource={"Bucket": bucket, "Key": key})
    return keys


def test_legacy_rooted_keys_found_read_and_written_like_icechunk(s3_kwargs, s3_endpoint):
    import icechunk

    icechunk.set_logs_filter("error")
    raw, bucket = _raw(s3_endpoint), s3_kwargs["bucket"]
    seed = frazil.Repository.create(s3_storage(prefix="seed", **s3_kwargs))
    s = seed.writable_session("main")
    zarr.create_array(s.store, name="a", shape=(6,), chunks=(3,), dtype="i4")[:] = np.arange(6)
    s.commit("seeded")
    _copy(raw, bucket, "seed", "/")  # what icechunk < 2.1 wrote at the bucket root
    rooted = [o["Key"] for o in raw.list_objects_v2(Bucket=bucket, Prefix="/")["Contents"]]
    assert "/repo" in rooted

    # probed (legacy_rooted_keys=None) and forced: frazil reads it, as does icechunk
    for flag in (None, True):
        repo = frazil.Repository.open(s3_storage(prefix=None, legacy_rooted_keys=flag,
                                               **s3_kwargs))
        arr = zarr.open_array(repo.readonly_session(branch="main").store, path="a", mode="r")
        assert arr[:].tolist() == list(range(6))
    # frazil commits there with leading-slash keys; icechunk reads the commit
    repo = frazil.Repository.open(s3_storage(prefix=None, **s3_kwargs))
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a")[:3] = -1
    s.commit("on rooted keys")
    after = {o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]}
    assert not any(k.startswith(("snapshots/", "manifests/", "chunks/")) for k in after)
    ice = icechunk.Repository.open(icechunk.s3_storage(prefix=None, **s3_kwargs))
    arr = zarr.open_array(ice.readonly_session(branch="main").store, path="a", mode="r")
    assert arr[:].tolist() == [-1, -1, -1, 3, 4, 5]

    # forcing the standard layout finds no repository; a prefix cannot be rooted
    with pytest.raises(frazil.IcechunkError):
        frazil.Repository.open(s3_storage(prefix=None, legacy_rooted_keys=False, **s3_kwargs))
    with pytest.raises(frazil.InvalidInputError, match="empty prefix"):
        s3_storage(prefix="p", legacy_rooted_keys=True, **s3_kwargs)
    # distinct objects under both layouts: ambiguous, refused
    raw.put_object(Bucket=bucket, Key="repo", Body=b"someone else's")
    with pytest.raises(frazil.StorageError, match="ambiguous"):
        frazil.Repository.open(s3_storage(prefix=None, **s3_kwargs))
