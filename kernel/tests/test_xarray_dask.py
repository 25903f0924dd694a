"""``frazil.dask.store_dask`` and ``frazil.xarray.to_icechunk`` on dask's threaded scheduler.

The process-cluster runs are in ``tests/test_distributed_interop.py``; here the
same code paths run in-process (forks shared between threads), and icechunk
2.3 reads what frazil wrote.
"""

from __future__ import annotations

import importlib
import inspect

import frazil as ic
import numpy as np
import pytest
import zarr

da = pytest.importorskip("dask.array")
xr = pytest.importorskip("xarray")
icechunk = pytest.importorskip("icechunk")

from frazil.dask import store_dask  # noqa: E402
from frazil.xarray import to_icechunk  # noqa: E402


def _ds(t0: int, nt: int) -> xr.Dataset:
    t = np.arange(t0, t0 + nt)
    v = (t[:, None] * 10 + np.arange(4)[None, :]).astype("f8")
    return xr.Dataset({"v": (("time", "x"), da.from_array(v, chunks=(2, 2)))},
                      coords={"time": t, "x": np.arange(4)})


def _icechunk_open(path: str) -> xr.Dataset:
    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(path))
    return xr.open_zarr(repo.readonly_session("main").store, consolidated=False).load()


def test_store_dask_many_sources_regions_and_tree(repo, repo_path):
    s = repo.writable_session("main")
    for name in ("a", "b"):
        zarr.create_array(s.store, name=name, shape=(10, 4), chunks=(2, 2), dtype="i4",
                          fill_value=-1)
    s.commit("arrays")
    s = repo.writable_session("main")
    fork = s.fork()
    targets = [zarr.open_array(fork.store, path=p, mode="a") for p in ("a", "b")]
    src = da.arange(24, chunks=4, dtype="i4").reshape(6, 4).rechunk((2, 2))
    merged = store_dask(sources=[src, src + 100], targets=targets,
                        regions=[(slice(0, 6), slice(None)), (slice(4, 10), slice(None))],
                        split_every=2, scheduler="threads")
    assert isinstance(merged, ic.ForkSession)
    s.merge(merged)
    s.commit("stored")
    theirs = icechunk.Repository.open(icechunk.local_filesystem_storage(repo_path))
    ro = theirs.readonly_session("main")
    a = zarr.open_array(ro.store, path="a", mode="r")[:]
    b = zarr.open_array(ro.store, path="b", mode="r")[:]
    np.testing.assert_array_equal(a[:6], np.arange(24).reshape(6, 4))
    assert (a[6:] == -1).all() and (b[:4] == -1).all()
    np.testing.assert_array_equal(b[4:], np.arange(24).reshape(6, 4) + 100)
    with pytest.raises(ValueError, match="does not accept compute"):
        store_dask(sources=[src], targets=targets[:1], compute=True)
    with pytest.raises(ValueError, match="as many targets as sources"):
        store_dask(sources=[src, src], targets=targets[:1])


def test_to_icechunk_region_and_modes(repo, repo_path):
    s = repo.writable_session("main")
    to_icechunk(_ds(0, 6), s, group="g")
    s.commit("initial")
    s = repo.writable_session("main")
    patch = _ds(0, 6).isel(time=slice(2, 4)) * -1
    to_icechunk(patch[["v"]].drop_vars(["time", "x"]), s, group="g",
                region={"time": slice(2, 4), "x": slice(None)}, split_every=3)
    s.commit("region")
    expected = _ds(0, 6).compute()
    expected["v"][2:4] = -expected["v"][2:4]
    theirs = icechunk.Repository.open(icechunk.local_filesystem_storage(repo_path))
    got = xr.open_zarr(theirs.readonly_session("main").store, group="g",
                       consolidated=False).load()
    xr.testing.assert_identical(got, expected)
    s = repo.writable_session("main")
    with pytest.raises(FileExistsError, match="already contains data"):  # mode "w-"
        to_icechunk(_ds(0, 6), s, group="g")
    with pytest.raises(ValueError, match="append_dim"):
        to_icechunk(_ds(6, 2), s, group="g", mode="w", append_dim="time")
    with pytest.raises(ValueError, match="frazil Session"):
        to_icechunk(_ds(0, 2), object())  # type: ignore[arg-type]


def test_to_icechunk_dataarray_eager_and_lazy(repo, repo_path):
    s = repo.writable_session("main")
    lazy = xr.DataArray(da.ones((4, 4), chunks=2), dims=("y", "x"))  # unnamed
    to_icechunk(lazy, s, group="lazy")
    eager = xr.DataArray(np.arange(3.0), dims="t", name="t")  # named like its dimension
    to_icechunk(eager, s, group="eager")
    s.commit("arrays")
    got = xr.open_dataarray(repo.readonly_session("main").store, group="lazy",
                            engine="zarr", consolidated=False)
    xr.testing.assert_identical(got.load(), lazy.compute())
    theirs = icechunk.Repository.open(icechunk.local_filesystem_storage(repo_path))
    back = xr.open_dataarray(theirs.readonly_session("main").store, group="eager",
                             engine="zarr", consolidated=False).load()
    np.testing.assert_array_equal(back.values, np.arange(3.0))
    assert back.name == "t"


def test_two_writes_and_an_append_in_one_session(repo, repo_path):
    """Each to_icechunk forks the session as it is (new arrays, merged chunks, resize)."""
    s = repo.writable_session("main")
    to_icechunk(_ds(0, 4), s)
    to_icechunk(_ds(4, 2), s, append_dim="time")
    to_icechunk(_ds(6, 4), s, append_dim="time")
    s.commit("three writes")
    xr.testing.assert_identical(_icechunk_open(repo_path), _ds(0, 10).compute())


@pytest.mark.parametrize(("module", "name"), [
    ("xarray", "to_icechunk"), ("dask", "store_dask"),
    ("distributed", "extract_session"), ("distributed", "merge_sessions")])
def test_signatures_match_icechunk(module, name):
    mine = inspect.signature(getattr(importlib.import_module(f"frazil.{module}"), name))
    theirs = inspect.signature(getattr(importlib.import_module(f"icechunk.{module}"), name))
    assert [(p.name, p.kind, p.default) for p in mine.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]
