"""frazil-http against the real icechunk 2.3: repositories served by a real nginx.

Each library writes a repository (several commits, a second branch, tags) to
local disk under nginx's root; the other library then reads every version —
by branch, by tag, by snapshot id — over plain HTTP (``http_storage``) and
through a redirect (``redirect_storage`` to ``http+icechunk://``), and must see
exactly what the writer sees locally. A redirect to ``s3://`` is read from a
moto server by both libraries as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import zarr
from _interop_support import load_lib

pytestmark = pytest.mark.interop


def _write_history(lib, path):
    """Commits on main and dev, tags v1/v2; returns nothing (readers compare to the writer)."""
    repo = lib.Repository.create(lib.local_filesystem_storage(str(path)))
    s = repo.writable_session("main")
    root = zarr.group(s.store)
    root.attrs["writer"] = lib.__name__
    a = root.create_array("a", shape=(20,), chunks=(5,), dtype="i4", fill_value=-7)
    a[:] = np.arange(20)
    first = s.commit("first")
    repo.create_tag("v1", first)

    s = repo.writable_session("main")
    a = zarr.open_array(s.store, path="a")
    a[0:5] = 100
    zarr.open_group(s.store).attrs["step"] = 2
    second = s.commit("second")

    repo.create_branch("dev", second)
    s = repo.writable_session("dev")
    g = zarr.open_group(s.store)
    b = g.create_array("sub/b", shape=(3, 4), chunks=(2, 2), dtype="f8")
    b[:] = np.arange(12.0).reshape(3, 4) / 3
    dev_tip = s.commit("dev adds sub/b")
    repo.create_tag("v2", dev_tip)

    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a")[5:10] = -1
    s.commit("third")


def _content(session):
    """Every array's values and every group's attributes of one session, as plain data."""
    out = {}
    try:
        root = zarr.open_group(session.store, mode="r")
    except zarr.errors.GroupNotFoundError:  # the initial snapshot: not even a root group
        return {"<no root group>": True}

    def walk(group, prefix):
        out[f"{prefix}@attrs"] = json.loads(json.dumps(dict(group.attrs)))
        for name, member in sorted(group.members()):
            path = f"{prefix}/{name}" if prefix else name
            if isinstance(member, zarr.Group):
                walk(member, path)
            else:
                out[path] = (member.dtype.str, member.shape, member[...].tolist())

    walk(root, "")
    return out


def _everything(lib, storage):
    """``{ref or snapshot id: content}`` of every branch, tag and ancestor snapshot."""
    repo = lib.Repository.open(storage)
    seen = {}
    history = {}
    for branch in sorted(repo.list_branches()):
        seen[f"branch:{branch}"] = _content(repo.readonly_session(branch=branch))
        history[branch] = [(s.id, s.message, s.parent_id) for s in repo.ancestry(branch=branch)]
        for snap_id, _, _ in history[branch]:
            if f"snap:{snap_id}" not in seen:
                seen[f"snap:{snap_id}"] = _content(repo.readonly_session(snapshot_id=snap_id))
    for tag in sorted(repo.list_tags()):
        seen[f"tag:{tag}"] = _content(repo.readonly_session(tag=tag))
        assert repo.lookup_tag(tag) in {s for h in history.values() for s, _, _ in h}
    return seen, history


def _http(lib, url):
    if lib.__name__ == "icechunk":
        return lib.http_storage(url)
    from frazil_http import http_storage

    return http_storage(url)


def _redirect(lib, url):
    if lib.__name__ == "icechunk":
        return lib.redirect_storage(url)
    from frazil_http import redirect_storage

    return redirect_storage(url)


@pytest.mark.parametrize("writer,reader", [("icechunk", "frazil"), ("frazil", "icechunk")])
def test_every_version_reads_identically_over_http_and_redirect(
        http_www, http_nginx_url, http_redirects, writer, reader):
    w, r = load_lib(writer), load_lib(reader)
    name = f"{writer}-history"
    _write_history(w, http_www / name)
    local, local_history = _everything(w, w.local_filesystem_storage(str(http_www / name)))
    assert len(local) >= 8  # 2 branches, 2 tags, 5 snapshots (with the initial one)

    url = f"{http_nginx_url}/{name}"
    over_http, http_history = _everything(r, _http(r, url))
    assert http_history == local_history
    assert over_http == local

    target = url.replace("http://", "http+icechunk://")
    redirect_url = http_redirects.add(f"/to/{name}", target)
    chain_url = http_redirects.add(f"/via/{name}", redirect_url, status=307)
    for entry in (redirect_url, chain_url):
        via_redirect, redirect_history = _everything(r, _redirect(r, entry))
        assert redirect_history == local_history
        assert via_redirect == local


@pytest.mark.parametrize("lib_name", ["icechunk", "frazil"])
def test_read_only_and_missing_over_http(http_www, http_nginx_url, http_redirects, lib_name):
    lib = load_lib(lib_name)
    _write_history(load_lib("icechunk"), http_www / f"ro-{lib_name}")
    repo = lib.Repository.open(_http(lib, f"{http_nginx_url}/ro-{lib_name}"))
    with pytest.raises(lib.ReadOnlyError):
        repo.create_branch("nope", repo.lookup_branch("main"))
    with pytest.raises(lib.ReadOnlyError):
        repo.create_tag("nope", repo.lookup_branch("main"))
    with pytest.raises(lib.ReadOnlyError):
        repo.delete_branch("dev")
    with pytest.raises(lib.ReadOnlyError):
        lib.Repository.create(_http(lib, f"{http_nginx_url}/fresh-{lib_name}"))
    with pytest.raises(lib.ReadOnlyError):  # both refuse the session itself
        repo.writable_session("main")
    assert sorted(repo.list_branches()) == ["dev", "main"]

    missing = _http(lib, f"{http_nginx_url}/no-such-repo")
    assert lib.Repository.exists(missing) is False
    with pytest.raises(lib.RepositoryNotFoundError):
        lib.Repository.open(missing)
    red = http_redirects.add(f"/missing-{lib_name}",
                             f"http+ic://{http_nginx_url[7:]}/no-such-repo")
    with pytest.raises(lib.RepositoryNotFoundError):
        lib.Repository.open(_redirect(lib, red))


def _public_bucket(endpoint, bucket):
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))


_CHILD_READER = """
import importlib, json, sys, zarr
lib = importlib.import_module(sys.argv[1])
make = lib.redirect_storage if sys.argv[1] == "icechunk" else \\
    importlib.import_module("frazil_http").redirect_storage
repo = lib.Repository.open(make(sys.argv[2]))
arr = zarr.open_array(repo.readonly_session(branch="main").store, path="a", mode="r")
print(json.dumps({"values": arr[:].tolist(), "branches": sorted(repo.list_branches())}))
"""


def test_redirect_to_s3(s3_bucket_kwargs, s3_moto_endpoint, http_redirects):
    """``Location: s3://bucket/prefix?region=...`` read anonymously, as icechunk does.

    icechunk's redirect takes no endpoint: it reaches moto through the AWS SDK's
    ``AWS_ENDPOINT_URL`` variable, in a child process so the variable stays there.
    frazil honours the same variable (boto3 does), and also takes the endpoint
    through ``target_options`` (a frazil extra), in this process. moto refuses
    anonymous reads unless the bucket policy allows them, as AWS does.
    """
    frazil_s3 = pytest.importorskip("frazil_s3")
    from frazil_http import redirect_storage

    ic = load_lib("icechunk")
    kw = s3_bucket_kwargs
    _public_bucket(kw["endpoint_url"], kw["bucket"])
    repo = ic.Repository.create(ic.s3_storage(prefix="via/redirect", **kw))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="a", shape=(12,), chunks=(4,), dtype="i2")[:] = np.arange(12)
    s.commit("for the redirect")
    url = http_redirects.add("/s3repo", f"s3://{kw['bucket']}/via/redirect?region=us-east-1")

    storage = redirect_storage(url, target_options={"s3": {
        "endpoint_url": kw["endpoint_url"], "allow_http": True, "force_path_style": True}})
    frepo = load_lib("frazil").Repository.open(storage)
    got = zarr.open_array(frepo.readonly_session(branch="main").store, path="a", mode="r")[:]
    assert got.tolist() == list(range(12))
    assert isinstance(storage._target, frazil_s3.S3Storage)
    with pytest.raises(load_lib("frazil").ReadOnlyError):
        frepo.create_branch("x", frepo.lookup_branch("main"))

    env = dict(os.environ, AWS_ENDPOINT_URL=kw["endpoint_url"], AWS_ALLOW_HTTP="true")
    for lib_name in ("icechunk", "frazil"):
        done = subprocess.run([sys.executable, "-c", _CHILD_READER, lib_name, url], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {
            "values": list(range(12)), "branches": ["main"]}, lib_name
