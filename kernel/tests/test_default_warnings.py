"""The warnings icechunk 2.3 emits by default have frazil counterparts, through ``logging``."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest


def test_none_virtual_credentials_warn_like_icechunk(tmp_path, caplog):
    import frazil

    prefix = f"file://{tmp_path}/data/"
    cfg = frazil.RepositoryConfig.default()
    cfg.set_virtual_chunk_container(
        frazil.VirtualChunkContainer(prefix, frazil.local_filesystem_store(str(tmp_path))))
    caplog.set_level(logging.WARNING, logger="frazil.repository")
    storage = frazil.local_filesystem_storage(str(tmp_path / "r"))
    with pytest.warns(DeprecationWarning, match="LocalFileSystemAccess"):
        frazil.Repository.create(storage, config=cfg, authorize_virtual_chunk_access={prefix: None})
    with pytest.warns(DeprecationWarning):
        frazil.Repository.open(storage, authorize_virtual_chunk_access={prefix: None})
    records = [r for r in caplog.records if r.name == "frazil.repository"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING  # once per prefix
    assert prefix in records[0].getMessage() and "deprecated" in records[0].getMessage()
    import warnings

    with warnings.catch_warnings():  # explicit sentinels are quiet
        warnings.simplefilter("error")
        frazil.Repository.open(storage, authorize_virtual_chunk_access={
            prefix: frazil.credentials.LocalFileSystemAccess})
    icechunk = pytest.importorskip("icechunk")  # the oracle warns in the same case
    with pytest.warns(DeprecationWarning, match="LocalFileSystemAccess"):
        icechunk.Repository.open(icechunk.local_filesystem_storage(str(tmp_path / "r")),
                                 authorize_virtual_chunk_access={prefix: None})


def test_local_filesystem_note_is_logged_once_per_process(tmp_path):
    code = ("import logging, sys; logging.basicConfig(format='%(name)s %(levelname)s "
            "%(message)s'); import frazil; from frazil.storage import storage_from_url; "
            "frazil.local_filesystem_storage(sys.argv[1]); "
            "frazil.local_filesystem_storage(sys.argv[2]); storage_from_url(sys.argv[1]); "
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a"), str(tmp_path / "b")],
                          capture_output=True, text=True, check=True, timeout=60)
    notes = [ln for ln in done.stderr.splitlines() if "LocalFileSystem storage" in ln]
    assert len(notes) == 1 and notes[0].startswith("frazil.storage WARNING")
    assert "network filesystems" in notes[0]
    quiet = subprocess.run([sys.executable, "-c", "import sys, frazil; "
                            "frazil.set_logs_filter('error'); "
                            "frazil.local_filesystem_storage(sys.argv[1])", str(tmp_path / "a")],
                           capture_output=True, text=True, check=True, timeout=60)
    assert quiet.stderr == ""
