"""Distributed writes through forks: frazil vs icechunk 2.3 on one process cluster.

    python benchmarks/distributed.py                 # 2 workers, 5 runs per library
    python benchmarks/distributed.py --workers 4 --runs 7 --mib 64

One ``distributed.LocalCluster`` (processes, one thread per worker, on
127.0.0.1) serves both libraries. A run, timed end to end on the client: open
a writable session on a local-disk repository holding one float64 array,
fork it once per worker, send each fork to a worker that writes its disjoint
slab of the array (one zarr write of ``--mib / workers`` MiB), gather the
forks, merge them and commit. Runs alternate between the libraries, each on
a fresh repository (its creation is not timed). Prints median seconds per
library and the ratio frazil / icechunk.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import types

# this file shares its name with the ``distributed`` package: keep its folder off the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import numpy as np  # noqa: E402
import zarr  # noqa: E402

CHUNK = 2**17  # float64 elements per chunk: 1 MiB

# dashboard off; the scheduler's remaining HTTP routes on a free port, not 8787
_NO_FIXED_PORT = {"dashboard_address": "127.0.0.1:0"}


def _write_slab(fork: object, lo: int, hi: int) -> object:
    """Worker side: write elements [lo, hi) of /a through the fork and return it."""
    a = zarr.open_array(fork.store, path="a", mode="a")  # type: ignore[attr-defined]
    a[lo:hi] = np.arange(lo, hi, dtype="f8")
    return fork


def _prepare(lib: types.ModuleType, path: str, n: int) -> object:
    repo = lib.Repository.create(lib.local_filesystem_storage(path))
    s = repo.writable_session("main")
    zarr.create_array(s.store, name="a", shape=(n,), chunks=(CHUNK,), dtype="f8",
                      fill_value=0.0)
    s.commit("empty array")
    return repo


def _one_run(lib: types.ModuleType, client: object, n: int, workers: int) -> float:
    tmp = tempfile.mkdtemp(prefix=f"bench-dist-{lib.__name__}-")
    try:
        repo = _prepare(lib, os.path.join(tmp, "repo"), n)
        bounds = np.linspace(0, n // CHUNK, workers + 1).astype(int) * CHUNK
        t0 = time.perf_counter()
        s = repo.writable_session("main")  # type: ignore[attr-defined]
        forks = [s.fork() for _ in range(workers)]
        futures = client.map(_write_slab, forks, bounds[:-1].tolist(),  # type: ignore[attr-defined]
                             bounds[1:].tolist(), pure=False)
        s.merge(*client.gather(futures))  # type: ignore[attr-defined]
        s.commit("workers")
        elapsed = time.perf_counter() - t0
        check = zarr.open_array(repo.readonly_session("main").store,  # type: ignore[attr-defined]
                                path="a", mode="r")
        assert check[n - 1] == n - 1 and check[0] == 0
        return elapsed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mib", type=int, default=32, help="array size in MiB")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the report is a median of >= 5 runs)")
    import cloudpickle  # noqa: PLC0415 - benchmark-only dependencies
    import distributed  # noqa: PLC0415

    if __name__ != "__main__":  # functions of __main__ already travel by value
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    libs = [importlib.import_module(name) for name in ("icechunk", "frazil")]
    if hasattr(libs[0], "set_logs_filter"):
        libs[0].set_logs_filter("error")
    n = args.mib * 2**20 // 8 // CHUNK * CHUNK
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  scheduler_kwargs=_NO_FIXED_PORT) as cluster, \
            distributed.Client(cluster) as client:
        for lib in libs:  # warm-up: imports on the workers, first-use caches
            _one_run(lib, client, n, args.workers)
        times: dict[str, list[float]] = {lib.__name__: [] for lib in libs}
        for r in range(args.runs):
            for lib in libs if r % 2 == 0 else libs[::-1]:  # alternate who goes first
                times[lib.__name__].append(_one_run(lib, client, n, args.workers))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.workers} workers, {args.mib} MiB float64 array in 1 MiB chunks, "
          f"median of {args.runs} runs (fork, write, gather, merge, commit)")
    print("| library | median s | runs (s) |")
    print("|---|---:|---|")
    for k, v in times.items():
        print(f"| {k} | {med[k]:.3f} | {', '.join(f'{x:.3f}' for x in v)} |")
    print(f"ratio frazil / icechunk: {med['frazil'] / med['icechunk']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
