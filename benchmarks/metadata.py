"""Metadata operations vs history length: frazil vs icechunk 2.3, side by side.

    python benchmarks/metadata.py                    # 200 and 2000 commits, 5 runs
    python benchmarks/metadata.py --commits 200 --runs 7

For each history length both libraries build one local repository with that
many commits (not timed); then each operation is timed on a fresh handle
(``Repository.open``), interleaved (who goes first alternates), median of the runs:
``ancestry`` (walk the whole history), ``list_branches``, ``create_branch``,
``create_tag``, ``session_at_snapshot`` (a read-only session at a snapshot in
the middle of the history), ``commit`` (one small commit on ``main``) and
``open`` (the handle itself). The first table shows median milliseconds and the
ratio frazil / icechunk (target: <= 1.0); the second, how each operation grows
with history length (time at the longest history / time at the shortest, per
library). Both are printed and written to benchmarks/results/metadata.md;
``--check`` exits 1 when a ratio is above 1.0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import zarr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import load, storage_for  # noqa: E402  (shared with run.py)


def build(lib, path: str, commits: int) -> list[str]:
    """A repository with ``commits`` small commits on main; returns their ids."""
    repo = lib.Repository.create(storage_for(lib, path))
    s = repo.writable_session("main")
    zarr.group(store=s.store).create_array("c", shape=(commits,), chunks=(1,), dtype="i8")
    ids = [s.commit("setup")]
    for i in range(1, commits):
        s = repo.writable_session("main")
        zarr.open_array(s.store, path="c", mode="r+")[i] = i
        ids.append(s.commit(f"commit {i}"))
    return ids


_NAMES = iter(range(10**9))  # fresh branch/tag names across runs and libraries


def operations(ids: list[str]) -> dict[str, Callable]:
    mid = ids[len(ids) // 2]
    counter = _NAMES

    def ancestry(repo):
        return sum(1 for _ in repo.ancestry(branch="main"))

    def create_branch(repo):
        repo.create_branch(f"b{next(counter)}", mid)

    def create_tag(repo):
        repo.create_tag(f"t{next(counter)}", mid)

    def commit(repo):
        s = repo.writable_session("main")
        zarr.open_array(s.store, path="c", mode="r+")[0] = next(counter)
        s.commit("one more")

    return {
        "open": lambda repo: None,
        "ancestry": ancestry,
        "list_branches": lambda repo: repo.list_branches(),
        "create_branch": create_branch,
        "create_tag": create_tag,
        "session_at_snapshot": lambda repo: repo.readonly_session(snapshot_id=mid),
        "commit": commit,
    }

TARGET = 1.0  # frazil / icechunk


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commits", default="200,2000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--check", action="store_true", help=f"exit 1 if a ratio is > {TARGET}")
    args = ap.parse_args(argv)
    libs = {name: load(name) for name in ("icechunk", "frazil")}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.commits.split(",")):
            repos = {}
            for name, lib in libs.items():
                path = f"{tmp}/{name}-{n}"
                repos[name] = (path, build(lib, path, n))
            for op in operations(repos["frazil"][1]):
                times: dict[str, list[float]] = {name: [] for name in libs}
                for r in range(args.runs):
                    # alternate which library goes first (the second of a pair finds
                    # the disk busy with the first's writes)
                    pairs = list(libs.items())
                    for name, lib in pairs if r % 2 == 0 else pairs[::-1]:
                        path, ids = repos[name]
                        fn = operations(ids)[op]
                        os.sync()  # the other library's writes are not left to this run
                        t0 = time.perf_counter()
                        repo = lib.Repository.open(storage_for(lib, path))
                        fn(repo)
                        times[name].append(time.perf_counter() - t0)
                med = {name: statistics.median(t) * 1000 for name, t in times.items()}
                rows.append((n, op, med["icechunk"], med["frazil"],
                             med["frazil"] / med["icechunk"]))
                print(f"{n:>6} {op:<20} icechunk {med['icechunk']:8.2f} ms  frazil "
                      f"{med['frazil']:8.2f} ms  ratio {rows[-1][4]:.2f}", flush=True)
    lines = ["| commits | operation (includes open) | icechunk ms | frazil ms | frazil/icechunk "
             f"| <= {TARGET:g} |", "|---:|---|---:|---:|---:|---|"]
    lines += [f"| {n} | {op} | {i:.2f} | {f:.2f} | {r:.2f} | {'yes' if r <= TARGET else '**no**'} |"
              for n, op, i, f, r in rows]
    lengths = sorted({n for n, *_ in rows})
    if len(lengths) > 1:
        lo, hi = lengths[0], lengths[-1]
        by = {(n, op): (i, f) for n, op, i, f, _r in rows}
        lines += ["", f"Growth from {lo} to {hi} commits (time at {hi} / time at {lo}):", "",
                  "| operation | icechunk | frazil |", "|---|---:|---:|"]
        for op in dict.fromkeys(op for _n, op, *_ in rows):
            (i0, f0), (i1, f1) = by[(lo, op)], by[(hi, op)]
            lines.append(f"| {op} | {i1 / i0:.1f}x | {f1 / f0:.1f}x |")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "metadata.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if args.check and any(r > TARGET for *_x, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
