"""The binary header shared by all metadata files, and payload (de)compression.

Layout: 12 magic bytes | 24-byte implementation name (space padded) |
spec version (1 byte) | file type (1 byte) | compression (1 byte) | payload.
"""

from __future__ import annotations

import enum

import zstandard

from frazil._errors import ErrorKind, FormatError

MAGIC = "ICE🧊CHUNK".encode()
IMPL_NAME_LEN = 24
HEADER_LEN = len(MAGIC) + IMPL_NAME_LEN + 3
SPEC_VERSION = 2
IMPLEMENTATION_NAME = "frazil-0.1.0"
_ZSTD_LEVEL = 3
# A metadata file inflating past this is treated as hostile, not decoded.
_MAX_PAYLOAD = 4 << 30


class FileType(enum.IntEnum):
    SNAPSHOT = 1
    MANIFEST = 2
    TRANSACTION_LOG = 4
    REPO_INFO = 6


class Compression(enum.IntEnum):
    NONE = 0
    ZSTD = 1


def encode_file(file_type: FileType, payload: bytes) -> bytes:
    """Header + zstd-compressed ``payload``."""
    name = IMPLEMENTATION_NAME.encode().ljust(IMPL_NAME_LEN, b" ")
    header = MAGIC + name + bytes((SPEC_VERSION, int(file_type), int(Compression.ZSTD)))
    return header + zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(payload)


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
    if version != SPEC_VERSION:
        raise FormatError(f"{what}: unsupported spec version {version} (frazil reads version "
                          f"{SPEC_VERSION})", ErrorKind.UNSUPPORTED_SPEC_VERSION)
    if ftype != int(expected):
        raise FormatError(f"{what}: file type {ftype}, expected {int(expected)} "
                          f"({expected.name.lower()})", ErrorKind.INVALID_FILE_FORMAT)
    body = data[HEADER_LEN:]
    if compression == Compression.NONE:
        return bytes(body)
    if compression != Compression.ZSTD:
        raise FormatError(f"{what}: unknown compression algorithm {compression}",
                          ErrorKind.INVALID_FILE_FORMAT)
    try:
        return zstandard.ZstdDecompressor().decompress(body, max_output_size=_MAX_PAYLOAD)
    except zstandard.ZstdError as e:
        raise FormatError(f"{what}: corrupt or truncated zstd payload ({e})",
                          ErrorKind.DESERIALIZATION) from None

