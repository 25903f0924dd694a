"""frazil vs icechunk 2.3, side by side, on local-disk repositories.

    python benchmarks/run.py            # full sizes, 5 runs per case and library
    python benchmarks/run.py --quick    # reduced sizes (a smoke run, a minute or so)
    python benchmarks/run.py --runs 9 --cases write_64mib,read_full --libs icechunk,frazil
    python benchmarks/run.py --check    # exit 1 when a ratio misses its target

Every case is one function taking the library module ``lib`` (``frazil`` or
``icechunk``) and using only the icechunk API, so both run the same code.
Runs are interleaved (icechunk, frazil, frazil, icechunk, icechunk, ...: who goes
first alternates) so that drift of the machine hits both alike, and the disk is
flushed before each timed run; each run gets a fresh temporary directory; set-up
(e.g. writing the repository a read case reads) is not timed. The report is a
markdown table of median seconds and the ratio frazil / icechunk, printed and
written to benchmarks/results/latest.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import types
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import zarr

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sizes:
    big_shape: tuple[int, int]  # float32 array written in `big_chunks`
    big_chunks: tuple[int, int]
    small_count: int  # number of small chunks
    small_chunk: int  # elements per small chunk (float32)
    commits: int  # sequential commits


FULL = Sizes(big_shape=(4096, 4096), big_chunks=(256, 256), small_count=10_000, small_chunk=100, commits=200)
QUICK = Sizes(big_shape=(2048, 2048), big_chunks=(128, 128), small_count=2_000, small_chunk=100, commits=40)


# ------------------------------------------------------------------ helpers


def load(name: str) -> types.ModuleType:
    mod = importlib.import_module(name)
    if hasattr(mod, "set_logs_filter"):
        try:
            mod.set_logs_filter("error")
        except Exception:
            pass
    return mod


def local_storage(lib, path: str):
    return lib.local_filesystem_storage(path)


#: how a case reaches the repository at ``path``: local disk here; benchmarks/s3.py
#: points it at an S3 prefix to run the same cases on S3
STORAGE: Callable = local_storage


def storage_for(lib, path: str):
    return STORAGE(lib, path)


def new_repo(lib, path: str):
    return lib.Repository.create(storage_for(lib, path))


def open_repo(lib, path: str):
    return lib.Repository.open(storage_for(lib, path))


def big_data(s: Sizes) -> np.ndarray:
    return np.random.default_rng(0).random(s.big_shape, dtype=np.float32)


def write_big(lib, path: str, s: Sizes, data: np.ndarray) -> str:
    repo = new_repo(lib, path)
    session = repo.writable_session("main")
    root = zarr.group(store=session.store)
    arr = root.create_array("big", shape=s.big_shape, chunks=s.big_chunks, dtype="float32", fill_value=0.0)
    arr[:] = data
    return session.commit("big array")


# ------------------------------------------------------------------ cases
# A case is (setup, timed): setup(lib, dir, sizes) -> state (untimed);
# timed(lib, dir, sizes, state) -> None (timed), checks its own result.


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    target: float  # max acceptable ratio frazil / icechunk
    setup: Callable
    timed: Callable


def _setup_big_data(lib, d, s):
    return big_data(s)


def _timed_write_big(lib, d, s, data):
    write_big(lib, f"{d}/repo", s, data)


def _setup_read_full(lib, d, s):
    data = big_data(s)
    write_big(lib, f"{d}/repo", s, data)
    return data


def _timed_read_full(lib, d, s, data):
    repo = open_repo(lib, f"{d}/repo")
    arr = zarr.open_array(repo.readonly_session(branch="main").store, path="big", mode="r")
    got = arr[...]
    assert got.shape == data.shape and got[0, 0] == data[0, 0] and got[-1, -1] == data[-1, -1]


def _setup_small(lib, d, s):
    return np.random.default_rng(1).random(s.small_count * s.small_chunk, dtype=np.float32)


def _timed_small(lib, d, s, data):
    repo = new_repo(lib, f"{d}/repo")
    session = repo.writable_session("main")
    root = zarr.group(store=session.store)
    arr = root.create_array(
        "small", shape=data.shape, chunks=(s.small_chunk,), dtype="float32", fill_value=0.0
    )
    arr[:] = data
    session.commit("small chunks")


def _setup_commits(lib, d, s):
    repo = new_repo(lib, f"{d}/repo")
    session = repo.writable_session("main")
    root = zarr.group(store=session.store)
    root.create_array("counter", shape=(s.commits,), chunks=(1,), dtype="int64", fill_value=-1)
    session.commit("setup")
    return None


def _timed_commits(lib, d, s, _):
    repo = open_repo(lib, f"{d}/repo")
    for i in range(s.commits):
        session = repo.writable_session("main")
        arr = zarr.open_array(session.store, path="counter", mode="r+")
        arr[i] = i
        session.commit(f"commit {i}")


def _setup_cold_open(lib, d, s):
    data = big_data(s)
    write_big(lib, f"{d}/repo", s, data)
    return data


def _timed_cold_open(lib, d, s, data):
    # a new Repository object: no state shared with the writer
    repo = open_repo(lib, f"{d}/repo")
    arr = zarr.open_array(repo.readonly_session(branch="main").store, path="big", mode="r")
    ch, cw = s.big_chunks
    got = arr[:ch, :cw]
    assert got[0, 0] == data[0, 0]


CASES = [
    Case("write_64mib", "{mib} MiB float32 in {nchunks} chunks: write + commit", 1.0,
         _setup_big_data, _timed_write_big),
    Case("read_full", "full read from a freshly opened repository", 1.0,
         _setup_read_full, _timed_read_full),
    Case("small_chunks", "{small_count:,} small chunks: write + commit", 1.0,
         _setup_small, _timed_small),
    Case("commits", "{commits} sequential commits", 1.0, _setup_commits, _timed_commits),
    Case("cold_open", "cold open + one chunk read", 1.0, _setup_cold_open, _timed_cold_open),
]


def case_title(case: Case, s: Sizes) -> str:
    nbytes = s.big_shape[0] * s.big_shape[1] * 4
    nchunks = (s.big_shape[0] // s.big_chunks[0]) * (s.big_shape[1] // s.big_chunks[1])
    return case.title.format(mib=nbytes // 2**20, nchunks=nchunks, small_count=s.small_count,
                             commits=s.commits)


# ------------------------------------------------------------------ driver


def measure(lib, case: Case, s: Sizes, workdir: str) -> float:
    d = tempfile.mkdtemp(dir=workdir)
    try:
        state = case.setup(lib, d, s)
        gc.collect()
        # Start every timed run on a quiet disk: the previous run's deletions and the
        # set-up's writes are flushed first, not left for this run's writes to wait on.
        os.sync()
        t0 = time.perf_counter()
        case.timed(lib, d, s, state)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(d, ignore_errors=True)


def peak_rss_kib() -> int:
    """This process's peak resident set: ``VmHWM``, which (unlike ``ru_maxrss``, kept
    across ``execve``) starts afresh in the new program, not at the forking parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux


def memory_child(lib_name: str, case_name: str, quick: bool, workdir: str) -> None:
    """Run one case once in this fresh process; print its peak resident set as JSON."""
    lib = load(lib_name)
    case = next(c for c in CASES if c.name == case_name)
    measure(lib, case, QUICK if quick else FULL, workdir)
    print(json.dumps({"peak_kib": peak_rss_kib()}))


def measure_memory(lib_name: str, case: Case, quick: bool, workdir: str) -> int:
    """Peak resident set (KiB) of a fresh process running ``case`` once (set-up included)."""
    cmd = [sys.executable, __file__, "--child", lib_name, case.name, str(int(quick)), workdir]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"memory run of {lib_name} {case.name} failed:\n{done.stderr}")
    return int(json.loads(done.stdout.strip().splitlines()[-1])["peak_kib"])


def fmt_s(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="reduced sizes")
    ap.add_argument("--runs", type=int, default=5, help="runs per case and library (min 5 for a report)")
    ap.add_argument("--libs", default="icechunk,frazil", help="comma-separated; the first is the baseline")
    ap.add_argument("--cases", default=",".join(c.name for c in CASES))
    ap.add_argument("--workdir", default=None, help="where temporary repositories go (default: system temp)")
    ap.add_argument("--output", default=str(HERE / "results" / "latest.md"))
    ap.add_argument("--check", action="store_true", help="exit 1 if a ratio misses its target")
    ap.add_argument("--memory", type=int, default=3, metavar="N",
                    help="peak memory: median of N fresh processes per case and library "
                         "(0: skip)")
    args = ap.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    cases = [c for c in CASES if c.name in args.cases.split(",")]
    lib_names = [x for x in args.libs.split(",") if x]
    if args.runs < 5:
        print(f"note: {args.runs} runs per case; reports for docs/performance.md use >= 5", file=sys.stderr)

    libs: dict[str, types.ModuleType | None] = {}
    errors: dict[str, str] = {}
    for name in lib_names:
        try:
            libs[name] = load(name)
        except Exception as e:  # frazil may not be importable yet: still measure the rest
            libs[name] = None
            errors[name] = f"import failed: {type(e).__name__}: {e}"
            print(f"warning: cannot import {name}: {e}", file=sys.stderr)

    times: dict[tuple[str, str], list[float]] = {}
    peaks: dict[tuple[str, str], list[int]] = {}
    workdir = args.workdir or tempfile.mkdtemp(prefix="frazil-bench-")
    try:
        for case in cases:
            print(f"== {case.name}: {case_title(case, sizes)}", file=sys.stderr)
            for run in range(args.runs):
                # alternate which library goes first: the second of a pair runs on a disk
                # still busy with the first's writes, a bias of several percent otherwise
                for name in lib_names if run % 2 == 0 else lib_names[::-1]:
                    lib = libs[name]
                    if lib is None or (name, case.name) in errors:
                        continue
                    try:
                        t = measure(lib, case, sizes, workdir)
                    except Exception as e:
                        errors[(name, case.name)] = f"{type(e).__name__}: {e}"
                        traceback.print_exc()
                        continue
                    times.setdefault((name, case.name), []).append(t)
                    print(f"   run {run + 1}/{args.runs} {name:9s} {fmt_s(t)}", file=sys.stderr)
        for case in cases if args.memory > 0 else []:
            print(f"== memory {case.name}", file=sys.stderr)
            for _ in range(args.memory):
                for name in lib_names:
                    if libs[name] is None:
                        continue
                    try:
                        kib = measure_memory(name, case, args.quick, workdir)
                    except Exception as e:
                        errors[(name, f"memory {case.name}")] = f"{type(e).__name__}: {e}"
                        continue
                    peaks.setdefault((name, case.name), []).append(kib)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    base = lib_names[0]
    others = lib_names[1:]
    header = ["case", "target"] + [f"{n} median" for n in lib_names] + [f"{o} / {base}" for o in others] + ["ok"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    failed = False
    for case in cases:
        med = {n: (statistics.median(times[(n, case.name)]) if times.get((n, case.name)) else None)
               for n in lib_names}
        ratios = []
        ok = True
        for o in others:
            if med[o] is None or med[base] is None:
                ratios.append("n/a")
                ok = False
            else:
                r = med[o] / med[base]
                ratios.append(f"{r:.2f}")
                ok = ok and r <= case.target
        failed = failed or (bool(others) and not ok)
        row = [case_title(case, sizes), f"<= {case.target:g}"] + [fmt_s(med[n]) for n in lib_names] + ratios
        row.append(("yes" if ok else "**no**") if others else "-")
        lines.append("| " + " | ".join(row) + " |")

    if peaks:
        lines += ["", f"Peak resident set (VmHWM) of a fresh process running the case once "
                      f"(set-up included), median of {args.memory}:", "",
                  "| case | " + " | ".join(lib_names) + " | " +
                  " | ".join(f"{o} / {base}" for o in others) + " | ok |",
                  "|" + "---|" * (len(lib_names) + len(others) + 2)]
        for case in cases:
            med = {n: statistics.median(peaks[(n, case.name)])
                   for n in lib_names if peaks.get((n, case.name))}
            if base not in med or any(o not in med for o in others):
                continue
            ratios = [med[o] / med[base] for o in others]
            failed = failed or any(r > case.target for r in ratios)
            lines.append(f"| {case_title(case, sizes)} | "
                         + " | ".join(f"{med[n] / 1024:.0f} MiB" for n in lib_names) + " | "
                         + " | ".join(f"{r:.2f}" for r in ratios) + " | "
                         + ("yes" if all(r <= case.target for r in ratios) else "**no**")
                         + " |")

    versions = []
    for name, lib in libs.items():
        versions.append(f"{name} {getattr(lib, '__version__', '?') if lib else '(not importable)'}")
    meta = (
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `python benchmarks/run.py"
        f"{' --quick' if args.quick else ''}`; {args.runs} runs per case and library, median shown.\n\n"
        f"{', '.join(versions)}, zarr {zarr.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}.\n"
    )
    report = "# frazil vs icechunk benchmark\n\n" + meta + "\n" + "\n".join(lines) + "\n"
    if errors:
        report += "\nErrors:\n\n" + "\n".join(
            f"- {k if isinstance(k, str) else ' / '.join(k)}: {v}" for k, v in errors.items()
        ) + "\n"
    print(report)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(f"written to {out}", file=sys.stderr)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        memory_child(sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5])
        sys.exit(0)
    sys.exit(main())
