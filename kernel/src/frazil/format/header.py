"""The binary header shared by all metadata files, and payload (de)compression.

Layout: 12 magic bytes | 24-byte implementation name (space padded) |
spec version (1 byte) | file type (1 byte) | compression (1 byte) | payload.
"""

from __future__ import annotations

import enum
import threading

import zstandard

from frazil.errors import ErrorKind, FormatError

MAGIC = "ICE🧊CHUNK".encode()
IMPL_NAME_LEN = 24
HEADER_LEN = len(MAGIC) + IMPL_NAME_LEN + 3
SPEC_VERSION = 2
#: spec versions whose file header frazil reads (a v1 repository, or v1 files
#: left in an upgraded one); the payload codec is chosen by the caller
READABLE_VERSIONS = (1, 2)
IMPLEMENTATION_NAME = "frazil-0.1.0"
ZSTD_LEVEL = 3  # icechunk's default compression level for metadata files
# A metadata file inflating past this is treated as hostile, not decoded:
# 4 GiB at most, and at most _MAX_RATIO times its compressed size (zstd on
# flatbuffers stays far below) unless small.
_MAX_PAYLOAD = 4 << 30
_MAX_RATIO = 1024
_SMALL_PAYLOAD = 64 << 20
_STEP = 4096  # compressed bytes per step when the frame does not declare its size


class FileType(enum.IntEnum):
    SNAPSHOT = 1
    MANIFEST = 2
    TRANSACTION_LOG = 4
    REPO_INFO = 6


class Compression(enum.IntEnum):
    NONE = 0
    ZSTD = 1


class _Zstd(threading.local):
    """This thread's zstd contexts: reused, a fresh one costs more than a small file's
    (de)compression; not shared, zstandard's objects are not thread-safe."""

    def __init__(self) -> None:
        self.compressors: dict[int, zstandard.ZstdCompressor] = {}
        self.decompressor = zstandard.ZstdDecompressor()

    def compressor(self, level: int) -> zstandard.ZstdCompressor:
        c = self.compressors.get(level)
        if c is None:  # above zstd's maximum means the maximum, as libzstd (icechunk) takes it
            c = self.compressors[level] = zstandard.ZstdCompressor(
                level=min(level, zstandard.MAX_COMPRESSION_LEVEL))
        return c


_zstd = _Zstd()


def encode_file(file_type: FileType, payload: bytes, spec_version: int = SPEC_VERSION,
                level: int = ZSTD_LEVEL) -> bytes:
    """Header + ``payload`` compressed with zstd at ``level`` (the repository config's
    ``compression.level``, 3 by default, as icechunk)."""
    name = IMPLEMENTATION_NAME.encode().ljust(IMPL_NAME_LEN, b" ")
    header = MAGIC + name + bytes((spec_version, int(file_type), int(Compression.ZSTD)))
    return header + _zstd.compressor(level).compress(payload)


def decode_file(data: bytes, expected: FileType, what: str) -> bytes:
    """Check the header of ``data`` and return its decompressed flatbuffers payload.

    ``what`` names the object (e.g. ``snapshot 1CECH...``) in error messages.
    """
    if len(data) < HEADER_LEN:
        raise FormatError(f"{what}: truncated file ({len(data)} bytes, no complete header)",
                          ErrorKind.INVALID_FILE_FORMAT)
    if data[: len(MAGIC)] != MAGIC:
        raise FormatError(f"{what}: not an Icechunk file (bad magic bytes)",
                          ErrorKind.INVALID_FILE_FORMAT)
    version, ftype, compression = data[HEADER_LEN - 3 : HEADER_LEN]
    if version not in READABLE_VERSIONS:
        raise FormatError(f"{what}: unsupported spec version {version} (frazil reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))})",
                          ErrorKind.UNSUPPORTED_SPEC_VERSION)
    if ftype != int(expected):
        raise FormatError(f"{what}: file type {ftype}, expected {int(expected)} "
                          f"({expected.name.lower()})", ErrorKind.INVALID_FILE_FORMAT)
    body = data[HEADER_LEN:]
    if compression == Compression.NONE:
        return bytes(body)
    if compression != Compression.ZSTD:
        raise FormatError(f"{what}: unknown compression algorithm {compression}",
                          ErrorKind.INVALID_FILE_FORMAT)
    return _inflate(body, what)


def _inflate(body: bytes, what: str) -> bytes:
    """One zstd frame, bounded in size, with nothing after it."""
    limit = min(_MAX_PAYLOAD, max(_SMALL_PAYLOAD, _MAX_RATIO * len(body)))
    try:
        declared = zstandard.frame_content_size(body)  # -1 when the header does not say
        if declared > limit:
            raise FormatError(f"{what}: apparent size too large: its zstd payload declares "
                              f"{declared} bytes from {len(body)} (limit {limit})",
                              ErrorKind.INVALID_FILE_FORMAT)
        if declared >= 0:
            # zstd enforces a declared size (more output is a corrupt frame): one step
            dobj = _zstd.decompressor.decompressobj(write_size=declared + 1)
            data = dobj.decompress(body)
        else:  # small steps, so a bomb stops soon after the limit
            dobj = _zstd.decompressor.decompressobj()
            out = bytearray()
            for i in range(0, len(body), _STEP):
                out += dobj.decompress(body[i:i + _STEP])
                if len(out) > limit:
                    raise FormatError(f"{what}: apparent size too large: its zstd payload "
                                      f"inflates past {limit} bytes",
                                      ErrorKind.INVALID_FILE_FORMAT)
                if dobj.eof:
                    if i + _STEP < len(body):
                        raise FormatError(f"{what}: bytes after the end of its zstd payload",
                                          ErrorKind.INVALID_FILE_FORMAT)
                    break
            data = bytes(out)
        if not dobj.eof:
            raise FormatError(f"{what}: truncated zstd payload", ErrorKind.DESERIALIZATION)
        if dobj.unused_data:
            raise FormatError(f"{what}: bytes after the end of its zstd payload",
                              ErrorKind.INVALID_FILE_FORMAT)
        return data
    except zstandard.ZstdError as e:
        raise FormatError(f"{what}: corrupt or truncated zstd payload ({e})",
                          ErrorKind.DESERIALIZATION) from None
    except MemoryError:
        raise FormatError(f"{what}: apparent size too large to decompress",
                          ErrorKind.INVALID_FILE_FORMAT) from None



def file_spec_version(data: bytes) -> int:
    """The spec version byte of a metadata file's header (0 when too short to have one)."""
    return data[HEADER_LEN - 3] if len(data) >= HEADER_LEN else 0


def with_spec_version(data: bytes, spec_version: int) -> bytes:
    """``data`` (complete file bytes) with its header's spec version byte set."""
    if data[HEADER_LEN - 3] == spec_version:
        return data
    return data[: HEADER_LEN - 3] + bytes((spec_version,)) + data[HEADER_LEN - 2:]
