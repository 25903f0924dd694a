"""Manifest split policies: the built-in ``config`` policy reproduces icechunk."""

from __future__ import annotations

import os

import frazil
import numpy as np
import pytest
import zarr
from frazil.plugins import hookimpl, new_plugins
from frazil.split import ConfigSplitPolicy, SplitArray, groups_from_edges, uniform_edges

ic = pytest.importorskip("icechunk")


def _splitting(rules):
    return ic.RepositoryConfig(manifest=ic.ManifestConfig(
        splitting=ic.ManifestSplittingConfig.from_dict(rules)))


CASES = {
    "axis0-by-2": lambda: {ic.ManifestSplitCondition.path_matches(".*"):
                           {ic.ManifestSplitDimCondition.Axis(0): 2}},
    "named-and-any": lambda: {
        ic.ManifestSplitCondition.name_matches("^t"):
            {ic.ManifestSplitDimCondition.DimensionName("time"): 3},
        ic.ManifestSplitCondition.or_conditions([ic.ManifestSplitCondition.name_matches("zz"),
                                                 ic.ManifestSplitCondition.AnyArray()]):
            {ic.ManifestSplitDimCondition.Any(): 4},
    },
    "no-match": lambda: {ic.ManifestSplitCondition.and_conditions(
        [ic.ManifestSplitCondition.name_matches("nothing"), ic.ManifestSplitCondition.AnyArray()]):
        {ic.ManifestSplitDimCondition.Any(): 1}},
}


def _write(lib, path, config):
    repo = lib.Repository.create(lib.local_filesystem_storage(path), config=config)
    s = repo.writable_session("main")
    arrays = {}
    for name, shape, dims in (("temp", (10, 6), ("time", "x")), ("other", (7, 9), None)):
        a = zarr.create_array(s.store, name=name, shape=shape, chunks=(1, 1), dtype="i4",
                              dimension_names=dims, fill_value=-1)
        arrays[name] = np.arange(np.prod(shape), dtype="i4").reshape(shape)
        a[:] = arrays[name]
    s.commit("c")
    return arrays


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_policy_matches_icechunk(tmp_path, case):
    cfg = _splitting(CASES[case]())
    ic_path, fl_path = str(tmp_path / "ic"), str(tmp_path / "fl")
    _write(ic, ic_path, cfg)
    # frazil opens an icechunk-configured repo: the persisted config drives splitting
    frazil_cfg = frazil.Repository.fetch_config(frazil.local_filesystem_storage(ic_path))
    data = _write(frazil, fl_path, frazil_cfg)
    count = lambda p: len(os.listdir(os.path.join(p, "manifests")))  # noqa: E731
    assert count(fl_path) == count(ic_path)
    r = ic.Repository.open(ic.local_filesystem_storage(fl_path))
    for name, expected in data.items():
        got = zarr.open_array(r.readonly_session(branch="main").store, path=name, mode="r")
        np.testing.assert_array_equal(got[:], expected)


def test_config_policy_edges():
    config = {"manifest": {"splitting": {"split_sizes": [
        [{"path_matches": {"regex": "temp"}}, [{"condition": {"Axis": 1}, "num_chunks": 2}]],
        ["any_array", [{"condition": "Any", "num_chunks": 5}]],
    ]}}}
    arr = SplitArray("/g/temp", (12, 6), (12, 6), None, config)
    assert ConfigSplitPolicy().edges(arr) == [[0, 5, 10, 12], [0, 2, 4, 6]]
    assert ConfigSplitPolicy().edges(SplitArray("/a", (3,), (3,), None, {})) is None
    assert uniform_edges(6, 4) == [0, 4, 6]
    coords = np.array([[0, 0], [11, 5], [4, 1], [12, 0]], dtype=np.uint32)  # past the grid too
    groups = groups_from_edges(coords, [[0, 5, 10, 12], [0, 2, 4, 6]])
    assert sorted(map(list, groups)) == [[0, 2], [1], [3]]


class _Halves:
    def split(self, array, coords):
        mid = array.num_chunks[0] // 2
        low = np.nonzero(coords[:, 0] < mid)[0]
        return [low, np.nonzero(coords[:, 0] >= mid)[0]]


class _Overlapping:
    def split(self, array, coords):
        return [np.arange(0, len(coords), 2), np.arange(1, len(coords), 2)]


def test_frazil_register_manifest_split_policies_hook(tmp_path):
    class Plugin:
        @hookimpl
        def frazil_register_manifest_split_policies(self, registry):
            registry.add("halves", _Halves)

    plugins = new_plugins(autoload=False, plugins=[("halves-plugin", Plugin())])
    assert plugins.split_policy("halves") is _Halves
    assert plugins.split_policy("config") is ConfigSplitPolicy
    assert {r.name for r in plugins.list_plugins() if r.kind == "manifest split policy"} == {
        "config", "halves"}


def test_policy_instance_and_checks(tmp_path):
    path = str(tmp_path / "repo")
    repo = frazil.Repository.create(frazil.local_filesystem_storage(path))
    repo.set_manifest_split_policy(_Halves())
    s = repo.writable_session("main")
    a = zarr.create_array(s.store, name="a", shape=(8,), chunks=(1,), dtype="i4")
    a[:] = np.arange(8)
    s.commit("c")
    assert len(os.listdir(os.path.join(path, "manifests"))) == 2
    repo.set_manifest_split_policy(_Overlapping())
    s = repo.writable_session("main")
    zarr.open_array(s.store, path="a", mode="r+")[0] = 5
    with pytest.raises(frazil.InternalError, match="overlapping"):
        s.commit("bad")
    with pytest.raises(frazil.InvalidInputError):
        repo.set_manifest_split_policy(object())
    with pytest.raises(frazil.plugins.PluginNotFoundError):
        repo.set_manifest_split_policy("no-such-policy")
    repo.set_manifest_split_policy(None)
    assert repo.manifest_split_policy is None


def test_default_policy_commits_without_loading_plugins(tmp_path):
    """A process's first commit with the default policy loads no plugin (entry points and
    their modules cost ~0.1 s); a named policy still comes from the registry."""
    import subprocess
    import sys

    code = f"""
import zarr, frazil
from frazil.plugins import get_plugins
repo = frazil.Repository.create(frazil.local_filesystem_storage({str(tmp_path / 'r')!r}))
s = repo.writable_session("main")
zarr.group(s.store).create_array("x", shape=(4,), chunks=(2,), dtype="i4")[:] = 1
s.commit("one")
print("loaded" if get_plugins()._pm is not None else "not loaded")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "FRAZIL_LOG": "error"}, check=True)
    assert out.stdout.strip().splitlines()[-1] == "not loaded"
