"""frazil (frazil-s3) vs icechunk 2.3, side by side, on one moto S3 server.

    python benchmarks/s3.py                       # every case, 5 interleaved runs
    python benchmarks/s3.py --runs 7 --cases bulk,commits --check
    python benchmarks/s3.py --no-memory           # times only

The moto server runs in its own process (``python -m moto.server``) on
127.0.0.1, so neither library shares an interpreter (and its GIL) with the
server. Cases (each run on a new prefix, set-up untimed, runs interleaved with
the library that goes first alternating, median of ``--runs``):

* ``bulk``: 64 MiB of float32 in 256 chunks: create + write + commit, then a
  full read back from a freshly opened repository (also split into phases);
* ``small_chunks``, ``commits``, ``cold_open``: the cases of ``run.py``
  (10,000 inline chunks write + commit; 50 sequential small commits; open +
  one chunk read of the 64 MiB repository), on S3;
* ``meta:<op>``: the operations of ``metadata.py`` (``open``, ``ancestry``,
  ``list_branches``, ``create_branch``, ``create_tag``,
  ``session_at_snapshot``; each on a fresh ``Repository.open``) on a repository
  with 200 commits built once, untimed.

Memory: for every case and library fresh Python processes (``--memory-runs``,
median; 3 by default) each run the case once
(set-up included; for ``meta`` every operation once on the built repository)
and reports its peak resident set (``VmHWM`` of /proc/self/status; ``ru_maxrss``
would start at the forking parent's size), which counts Rust and Python
allocations alike. The process's peak right after importing the
library, zarr and numpy is reported too. Ratios are frazil / icechunk; the
target of issue #20 is <= 1.0 for time and memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import metadata  # noqa: E402  (the operations and history builder of metadata.py)
import run  # noqa: E402  (the cases of run.py)

SIZES = run.Sizes(big_shape=(4096, 4096), big_chunks=(256, 256), small_count=10_000,
                  small_chunk=100, commits=50)
HISTORY = 200  # commits of the metadata repository
TARGET = 1.0
BUCKET = "bench-bucket"
LIBS = ("icechunk", "frazil")


# -- the moto server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
            return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("moto server did not start")


def reset_moto(endpoint: str) -> None:
    """Empty the server (it keeps every object in memory) and recreate the bucket."""
    import boto3

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset",
                                                  method="POST")).read()
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
                 aws_secret_access_key="x").create_bucket(Bucket=BUCKET)


def use_s3(endpoint: str) -> None:
    """Point run.py's (and so metadata.py's) storage at prefixes of BUCKET."""
    def storage(lib, prefix: str):
        kw = dict(bucket=BUCKET, prefix=prefix, endpoint_url=endpoint, allow_http=True,
                  force_path_style=True, access_key_id="x", secret_access_key="x",
                  region="us-east-1")
        if lib.__name__ == "frazil":
            from frazil_s3 import s3_storage

            return s3_storage(**kw)
        return lib.s3_storage(**kw)

    run.STORAGE = storage


def new_prefix(lib) -> str:
    return f"bench/{lib.__name__}/{uuid.uuid4().hex}"


# -- cases -------------------------------------------------------------------------------

PHASES = ("create", "write", "commit", "open", "read")


def bulk(lib, prefix: str, data: np.ndarray) -> list[float]:
    """Seconds of each phase (see PHASES) of one end-to-end 64 MiB run."""
    marks = [time.perf_counter()]
    repo = run.new_repo(lib, prefix)
    marks.append(time.perf_counter())
    session = repo.writable_session("main")
    arr = zarr.create_array(session.store, name="big", shape=SIZES.big_shape,
                            chunks=SIZES.big_chunks, dtype="f4", compressors=None)
    arr[:] = data
    marks.append(time.perf_counter())
    session.commit("bulk")
    marks.append(time.perf_counter())
    fresh = run.open_repo(lib, prefix)
    got_arr = zarr.open_array(fresh.readonly_session(branch="main").store, path="big", mode="r")
    marks.append(time.perf_counter())
    got = got_arr[:]
    marks.append(time.perf_counter())
    assert np.array_equal(got, data)
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    #: (lib, prefix) -> state, untimed
    setup: Callable
    #: (lib, prefix, state) -> seconds (or phase seconds, for bulk)
    timed: Callable
    #: whether the server is emptied after each run (the case leaves big objects)
    reset: bool = True


def _bulk_setup(lib, prefix):
    return np.random.default_rng(0).random(SIZES.big_shape, dtype=np.float32)


def _run_case(case: run.Case) -> tuple[Callable, Callable]:
    def setup(lib, prefix):
        return case.setup(lib, prefix, SIZES)

    def timed(lib, prefix, state):
        t0 = time.perf_counter()
        case.timed(lib, prefix, SIZES, state)
        return time.perf_counter() - t0

    return setup, timed


def _run_cases() -> list[Case]:
    by_name = {c.name: c for c in run.CASES}
    out = []
    for name in ("small_chunks", "commits", "cold_open"):
        setup, timed = _run_case(by_name[name])
        out.append(Case(name, run.case_title(by_name[name], SIZES), setup, timed))
    return out


CASES = [Case("bulk", "64 MiB float32 in 256 chunks: write + commit + full read back",
              _bulk_setup, bulk), *_run_cases()]
META_OPS = tuple(metadata.operations(["x"]))


# -- timing ------------------------------------------------------------------------------


def time_case(case: Case, libs: dict, runs: int, endpoint: str) -> dict[str, list]:
    out: dict[str, list] = {name: [] for name in libs}
    for lib in libs.values():  # warm-up: imports, clients, connection pools
        prefix = new_prefix(lib)
        case.timed(lib, prefix, case.setup(lib, prefix))
    reset_moto(endpoint)
    for r in range(runs):
        pairs = list(libs.items())
        for name, lib in pairs if r % 2 == 0 else pairs[::-1]:  # alternate who goes first
            prefix = new_prefix(lib)
            state = case.setup(lib, prefix)
            out[name].append(case.timed(lib, prefix, state))
            if case.reset:
                reset_moto(endpoint)
    return out


def time_metadata(libs: dict, runs: int) -> tuple[dict[str, dict[str, list[float]]],
                                                 dict[str, str]]:
    """Median-ready seconds per operation and library, and each library's repository prefix."""
    built = {}
    for name, lib in libs.items():
        prefix = new_prefix(lib)
        built[name] = (prefix, metadata.build(lib, prefix, HISTORY))
    times: dict[str, dict[str, list[float]]] = {}
    for op in META_OPS:
        times[op] = {name: [] for name in libs}
        for i in range(runs + 1):  # the first round warms up
            pairs = list(libs.items())
            for name, lib in pairs if i % 2 == 0 else pairs[::-1]:  # alternate who goes first
                prefix, ids = built[name]
                fn = metadata.operations(ids)[op]
                t0 = time.perf_counter()
                fn(run.open_repo(lib, prefix))
                if i:
                    times[op][name].append(time.perf_counter() - t0)
    return times, {name: prefix for name, (prefix, _) in built.items()}


# -- memory (a fresh process per case and library) ---------------------------------------


peak_rss_kib = run.peak_rss_kib  # VmHWM of this process, shared with run.py


def child(lib_name: str, case_name: str, endpoint: str, prefix: str | None) -> None:
    """Run one case once in this (fresh) process; print its peak RSS as JSON."""
    lib = run.load(lib_name)
    use_s3(endpoint)
    imported = peak_rss_kib()
    if case_name == "meta":
        # branch and tag names no earlier run (timed, or another memory run) took
        metadata._NAMES = iter(range(10**9 + time.time_ns() % 10**15 * 10**3, 10**20))
        repo = run.open_repo(lib, prefix)
        ids = [s.id for s in repo.ancestry(branch="main")][::-1]
        for fn in metadata.operations(ids).values():
            fn(run.open_repo(lib, prefix))
    else:
        case = next(c for c in CASES if c.name == case_name)
        prefix = new_prefix(lib)
        case.timed(lib, prefix, case.setup(lib, prefix))
    peak = peak_rss_kib()
    print(json.dumps({"imported_kib": imported, "peak_kib": peak}))


def measure_memory(case_name: str, endpoint: str, runs: int,
                   prefix: dict[str, str] | None = None) -> dict[str, dict[str, int]]:
    """Median peak (and after-import) KiB per library of ``runs`` interleaved fresh processes."""
    got: dict[str, list[dict[str, int]]] = {n: [] for n in LIBS}
    for _ in range(runs):
        for n in LIBS:
            got[n].append(_memory_once(case_name, n, endpoint, prefix and prefix[n]))
    return {n: {k: int(statistics.median(r[k] for r in rs)) for k in rs[0]}
            for n, rs in got.items()}


def _memory_once(case_name: str, lib_name: str, endpoint: str,
                 prefix: str | None = None) -> dict[str, int]:
    cmd = [sys.executable, __file__, "--child", lib_name, case_name, endpoint]
    if prefix:
        cmd.append(prefix)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"memory run of {lib_name} {case_name} failed:\n{done.stderr}")
    out = done.stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- report ------------------------------------------------------------------------------


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table(rows: list[tuple[str, float, float]], unit: Callable[[float], str]) -> list[str]:
    lines = ["| case | icechunk | frazil | frazil / icechunk | <= 1.0 |",
             "|---|---:|---:|---:|---|"]
    for title, ice, flo in rows:
        ratio = flo / ice
        shown = f"{ratio:.2f}" if abs(ratio - 1) >= 0.005 else f"{ratio:.3f}"
        lines.append(f"| {title} | {unit(ice)} | {unit(flo)} | {shown} | "
                     f"{'yes' if ratio <= TARGET else '**no**'} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cases", default=",".join([c.name for c in CASES] + ["meta"]))
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory table")
    ap.add_argument("--memory-runs", type=int, default=3,
                    help="fresh processes per case and library (median)")
    ap.add_argument("--check", action="store_true", help="exit 1 if a ratio is above 1.0")
    args = ap.parse_args(argv)
    wanted = args.cases.split(",")
    libs = {name: run.load(name) for name in LIBS}
    proc, endpoint = start_moto()
    use_s3(endpoint)
    rows: list[tuple[str, float, float]] = []
    mem_rows: list[tuple[str, float, float]] = []
    imported: dict[str, list[int]] = {name: [] for name in LIBS}
    phases: dict[str, list[list[float]]] = {}
    try:
        reset_moto(endpoint)
        for case in (c for c in CASES if c.name in wanted):
            print(f"== {case.name}", file=sys.stderr, flush=True)
            times = time_case(case, libs, args.runs, endpoint)
            if case.name == "bulk":
                phases = times
                times = {name: [sum(t) for t in ts] for name, ts in times.items()}
            rows.append((case.title, *(statistics.median(times[n]) for n in LIBS)))
            print(f"   {rows[-1]}", file=sys.stderr, flush=True)
            if not args.no_memory:
                mem = measure_memory(case.name, endpoint, args.memory_runs)
                mem_rows.append((case.title, *(mem[n]["peak_kib"] for n in LIBS)))
                for n in LIBS:
                    imported[n].append(mem[n]["imported_kib"])
                reset_moto(endpoint)
        if "meta" in wanted:
            print("== meta", file=sys.stderr, flush=True)
            meta, prefixes = time_metadata(libs, args.runs)
            for op, times in meta.items():
                label = op if op == "open" else f"{op} (includes open)"
                rows.append((f"{HISTORY} commits: {label}",
                             *(statistics.median(times[n]) for n in LIBS)))
                print(f"   {rows[-1]}", file=sys.stderr, flush=True)
            if not args.no_memory:
                mem = measure_memory("meta", endpoint, args.memory_runs, prefixes)
                for n in LIBS:
                    imported[n].append(mem[n]["imported_kib"])
                mem_rows.append((f"{HISTORY} commits: every metadata operation once",
                                 *(mem[n]["peak_kib"] for n in LIBS)))
    finally:
        proc.terminate()
        proc.wait(10)
    versions = ", ".join(f"{n} {getattr(libs[n], '__version__', '?')}" for n in LIBS)
    print(f"\n{versions}, zarr {zarr.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs; {args.runs} interleaved runs, "
          "medians\n")
    print("\n".join(table(rows, fmt)))
    if phases:
        print("\nbulk: median seconds per phase\n")
        print("| library | " + " | ".join(PHASES) + " |")
        print("|---|" + "---:|" * len(PHASES))
        for name, runs in phases.items():
            cols = [statistics.median(col) for col in zip(*runs, strict=True)]
            print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cols) + " |")
    if mem_rows:
        print("\npeak resident set (VmHWM) of a fresh process running the case once, "
              f"median of {args.memory_runs}\n")
        print("\n".join(table(mem_rows, lambda kib: f"{kib / 1024:.0f} MiB")))
        print("\nafter importing the library, zarr and numpy: "
              + ", ".join(f"{n} {statistics.median(v) / 1024:.0f} MiB"
                          for n, v in imported.items() if v))
    worst = max((flo / ice for _, ice, flo in rows + mem_rows), default=0.0)
    return 1 if args.check and worst > TARGET else 0


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5], sys.argv[5] if len(sys.argv) > 5 else None)
        sys.exit(0)
    sys.exit(main())
