"""Child process of the S3 concurrency test: commits to one branch, retrying on conflicts."""

from __future__ import annotations


def commit_many(kwargs: dict, prefix: str, worker: int, commits: int) -> int:
    import frazil
    import zarr
    from frazil_s3 import s3_storage

    repo = frazil.Repository.open(s3_storage(prefix=prefix, **kwargs))
    conflicts = 0
    for i in range(commits):
        while True:
            session = repo.writable_session("main")
            zarr.open_array(session.store, path=f"w{worker}")[i] = worker * 1000 + i
            try:
                session.commit(f"worker {worker} commit {i}")
                break
            except frazil.ConflictError:
                conflicts += 1
    return conflicts
