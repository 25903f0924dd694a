"""1,000,000 virtual refs via set_virtual_refs_arr + commit: frazil vs icechunk.

Each implementation runs in its own subprocess; reports wall time of
set_virtual_refs_arr + commit and the process's peak RSS (ru_maxrss).
Usage: python benchmarks/virtual.py [N]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np, zarr
warnings.simplefilter("ignore")
impl, n, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ic = __import__("frazil" if impl == "frazil" else "icechunk")
prefix = "file:///data/virtual/"
cfg = ic.RepositoryConfig.default()
cfg.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix,
                                                         ic.local_filesystem_store("/data")))
repo = ic.Repository.create(ic.local_filesystem_storage(root), config=cfg,
                            authorize_virtual_chunk_access={prefix: None})
s = repo.writable_session("main")
side = 1000
zarr.create_array(s.store, name="v", shape=(side, n // side), chunks=(1, 1), dtype="<f4",
                  compressors=None, fill_value=0)
locations = [f"{prefix}file_{i // 1000:05d}.nc" for i in range(n)]
offsets = np.arange(n, dtype=np.uint64) * 4
lengths = np.full(n, 4, np.uint64)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
s.store.set_virtual_refs_arr("v", (side, n // side), locations, offsets, lengths)
t1 = time.perf_counter()
s.commit("1M virtual refs")
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"impl": impl, "set_s": t1 - t0, "commit_s": t2 - t1, "total_s": t2 - t0,
                  "peak_rss_mib": peak / 1024, "rss_before_mib": base / 1024}))
"""


def run(impl: str, n: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run([sys.executable, "-c", CHILD, impl, str(n), d + "/repo"],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    res = {impl: run(impl, n) for impl in ("icechunk", "frazil")}
    for r in res.values():
        print(f"{r['impl']:9s} set {r['set_s']:6.2f}s commit {r['commit_s']:6.2f}s "
              f"total {r['total_s']:6.2f}s peak RSS {r['peak_rss_mib']:7.1f} MiB")
    f, i = res["frazil"], res["icechunk"]
    print(f"time ratio frazil/icechunk {f['total_s'] / i['total_s']:.2f} (target <= 2); "
          f"peak RSS ratio {f['peak_rss_mib'] / i['peak_rss_mib']:.2f} (target <= 1)")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t:.1f}s)")
