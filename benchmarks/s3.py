"""frazil (frazil-s3) vs icechunk 2.3, side by side, on one moto S3 server.

    python benchmarks/s3.py               # 5 interleaved runs per library
    python benchmarks/s3.py --runs 7 --check

The moto server runs in its own process (``python -m moto.server``) on
127.0.0.1, so neither library shares an interpreter (and its GIL) with the
server. One case: write 64 MiB of float32 in 256 chunks (1024 x 1024... see
SHAPE/CHUNKS) + commit, then a full read back from a freshly opened
repository; each run uses a new prefix. Reported: median seconds and the ratio
frazil / icechunk (target <= 1.25), and the median of each phase (create, write,
commit, open, read).
"""

from __future__ import annotations

import argparse
import importlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

import numpy as np
import zarr

SHAPE = (4096, 4096)  # float32: 64 MiB
CHUNKS = (256, 256)  # 256 chunks of 256 KiB
TARGET = 1.25


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


def storage(lib, endpoint: str, bucket: str, prefix: str):
    kw = dict(bucket=bucket, prefix=prefix, endpoint_url=endpoint, allow_http=True,
              force_path_style=True, access_key_id="x", secret_access_key="x",
              region="us-east-1")
    if lib.__name__ == "frazil":
        from frazil_s3 import s3_storage

        return s3_storage(**kw)
    return lib.s3_storage(**kw)


PHASES = ("create", "write", "commit", "open", "read")


def run_once(lib, endpoint: str, bucket: str, data: np.ndarray) -> list[float]:
    """Seconds of each phase (see PHASES) of one end-to-end run."""
    prefix = f"bench/{lib.__name__}/{uuid.uuid4().hex}"
    marks = [time.perf_counter()]
    repo = lib.Repository.create(storage(lib, endpoint, bucket, prefix))
    marks.append(time.perf_counter())
    session = repo.writable_session("main")
    arr = zarr.create_array(session.store, name="big", shape=SHAPE, chunks=CHUNKS,
                            dtype="f4", compressors=None)
    arr[:] = data
    marks.append(time.perf_counter())
    session.commit("bulk")
    marks.append(time.perf_counter())
    fresh = lib.Repository.open(storage(lib, endpoint, bucket, prefix))
    got_arr = zarr.open_array(fresh.readonly_session(branch="main").store, path="big", mode="r")
    marks.append(time.perf_counter())
    got = got_arr[:]
    marks.append(time.perf_counter())
    assert np.array_equal(got, data)
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    import boto3

    libs = [importlib.import_module("icechunk"), importlib.import_module("frazil")]
    if hasattr(libs[0], "set_logs_filter"):
        libs[0].set_logs_filter("error")
    proc, endpoint = start_moto()
    try:
        bucket = "bench-bucket"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="x", aws_secret_access_key="x").create_bucket(Bucket=bucket)
        data = np.random.default_rng(0).random(SHAPE, dtype=np.float32)
        for lib in libs:  # warm-up: imports, clients, connection pools
            run_once(lib, endpoint, bucket, data)
        times: dict[str, list[float]] = {lib.__name__: [] for lib in libs}
        phases: dict[str, list[list[float]]] = {lib.__name__: [] for lib in libs}
        for _ in range(args.runs):
            for lib in libs:
                split = run_once(lib, endpoint, bucket, data)
                phases[lib.__name__].append(split)
                times[lib.__name__].append(sum(split))
                urllib.request.urlopen(urllib.request.Request(
                    f"{endpoint}/moto-api/reset", method="POST")).read()
                boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id="x", aws_secret_access_key="x").create_bucket(
                                 Bucket=bucket)
    finally:
        proc.terminate()
        proc.wait(10)
    ice, flo = statistics.median(times["icechunk"]), statistics.median(times["frazil"])
    ratio = flo / ice
    print(f"runs: {args.runs}; icechunk {[round(t, 3) for t in times['icechunk']]}; "
          f"frazil {[round(t, 3) for t in times['frazil']]}")
    print("| case | target | icechunk median | frazil median | frazil / icechunk | ok |")
    print("|---|---|---|---|---|---|")
    print(f"| 64 MiB float32 in 256 chunks: write + commit + full read back (S3, moto) "
          f"| <= {TARGET} | {ice:.2f} s | {flo:.2f} s | {ratio:.2f} | "
          f"{'yes' if ratio <= TARGET else 'no'} |")
    print("\nmedian seconds per phase:")
    print("| library | " + " | ".join(PHASES) + " |")
    print("|---|" + "---|" * len(PHASES))
    for name, runs in phases.items():
        cols = [statistics.median(col) for col in zip(*runs, strict=True)]
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cols) + " |")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    sys.exit(main())
