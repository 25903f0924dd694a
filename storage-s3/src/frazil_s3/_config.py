"""Options, credentials and settings of frazil-s3 (icechunk's names and defaults).

Credentials objects never show secrets: their ``str``, ``repr`` and
``_repr_html_`` show the access key id's first four characters at most, as icechunk's.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from frazil.display import Fields, Mode, ReprMixin, render, s3_options_fields, text_forms
from frazil.errors import ErrorKind, InvalidInputError

__all__ = [
    "DEFAULT_STREAM_TIMEOUT_S",
    "ChecksumAlgorithm",
    "DEFAULT_MULTIPART_THRESHOLD",
    "MIN_PART_SIZE",
    "AnyS3Credential",
    "S3Credentials",
    "S3Options",
    "S3Settings",
    "S3StaticCredentials",
    "s3_anonymous_credentials",
    "s3_credentials",
    "s3_from_env_credentials",
    "s3_refreshable_credentials",
    "s3_static_credentials",
    "s3_store",
]

#: icechunk's default ``minimum_size_for_multipart_upload`` (100 MB).
DEFAULT_MULTIPART_THRESHOLD = 100 * 1024 * 1024
#: S3's minimum size of every part but the last.
MIN_PART_SIZE = 5 * 1024 * 1024


class ChecksumAlgorithm(Enum):
    """Checksum sent with every write (icechunk's ``ChecksumAlgorithm``).

    The value is the name icechunk persists in a container's store settings.
    ``Crc32c`` and ``Crc64Nvme`` need botocore's CRT extra (``pip install
    "botocore[crt]"``).
    """

    Crc32 = "crc32"
    Crc32c = "crc32c"
    Crc64Nvme = "crc64_nvme"
    Sha1 = "sha1"
    Sha256 = "sha256"

    def __repr__(self) -> str:  # "Name.member" in both forms, as icechunk's enums
        return f"{type(self).__name__}.{self.name}"

    __str__ = __repr__

    @property
    def boto_name(self) -> str:
        """The ``ChecksumAlgorithm`` parameter value of boto3's S3 calls."""
        return self.value.replace("_", "").upper()

    @classmethod
    def parse(cls, value: Any) -> ChecksumAlgorithm | None:
        """An algorithm from frazil's or icechunk's enum, or its name; ``None`` stays ``None``."""
        if value is None or isinstance(value, cls):
            return value
        name = getattr(value, "name", None) or str(value).rsplit(".", 1)[-1]
        key = name.lower().replace("_", "")  # "crc64nvme" too: what earlier frazil wrote
        for member in cls:
            if key in (member.name.lower(), member.value.replace("_", "")):
                return member
        raise InvalidInputError(f"unknown checksum algorithm {value!r}; one of "
                                f"{[m.name for m in cls]}", ErrorKind.STORAGE_CONFIG)


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def request_headers(headers: Mapping[str, str] | None, read: Mapping[str, str] | None,
                    write: Mapping[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """``(read, write)`` extra headers: ``headers`` for both, overridden per role.

    Names must be HTTP tokens and values must not contain line breaks; anything
    else is refused here rather than by the first request.
    """
    base = dict(headers or {})
    merged = ({**base, **dict(read or {})}, {**base, **dict(write or {})})
    for role in merged:
        for name, value in role.items():
            if not isinstance(name, str) or not _TOKEN.match(name):
                raise InvalidInputError(f"invalid HTTP header name {name!r}",
                                        ErrorKind.STORAGE_CONFIG)
            if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
                raise InvalidInputError(f"invalid value for HTTP header {name!r}",
                                        ErrorKind.STORAGE_CONFIG)
    return merged


@text_forms("frazil.credentials.S3StaticCredentials",
            secrets=("secret_access_key", "session_token"), masked=("access_key_id",))
@dataclass(frozen=True, slots=True, repr=False)
class S3StaticCredentials:
    """One set of S3 credentials, as returned by a ``get_credentials`` callback.

    ``expires_after`` (timezone-aware) makes frazil call the callback again
    before that time.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expires_after: datetime | None = None



@dataclass(frozen=True, repr=False)
class S3Credentials(ReprMixin):
    """How to authenticate.

    ``kind`` is ``static``, ``anonymous``, ``from_env`` or ``refreshable``.
    """

    kind: str
    static: S3StaticCredentials | None = None
    get_credentials: Callable[[], Any] | None = None
    scatter_initial_credentials: bool = False

    def _repr_header(self) -> str:
        return f"frazil.credentials.S3Credentials.{self.kind.title().replace('_', '')}"

    def _repr_fields(self, mode: Mode) -> Fields:
        if self.kind == "static":
            return [("credentials", render(self.static, mode))]
        if self.kind == "refreshable":
            fn = self.get_credentials
            return [("get_credentials", getattr(fn, "__qualname__", type(fn).__qualname__)),
                    ("scatter_initial_credentials", str(self.scatter_initial_credentials))]
        return []


class _Static(S3Credentials):
    """``S3Credentials.Static(credentials)``: fixed credentials."""

    def __init__(self, _0: S3StaticCredentials) -> None:
        super().__init__("static", _0)

    @property
    def _0(self) -> S3StaticCredentials | None:  # PyO3's name for the variant's one field
        return self.static


class _Anonymous(S3Credentials):
    """``S3Credentials.Anonymous()``: unsigned requests."""

    def __init__(self) -> None:
        super().__init__("anonymous")


class _FromEnv(S3Credentials):
    """``S3Credentials.FromEnv()``: boto3's default credential chain."""

    def __init__(self) -> None:
        super().__init__("from_env")


class _Refreshable(S3Credentials):
    """``S3Credentials.Refreshable(pickled_function, current)``: credentials from a pickled
    ``get_credentials`` function, fetched again before they expire; ``current`` is an already
    fetched set (or None)."""

    def __init__(self, pickled_function: bytes, current: S3StaticCredentials | None) -> None:
        if not isinstance(pickled_function, bytes):
            raise InvalidInputError("S3Credentials.Refreshable needs the pickled get_credentials "
                                    "function (pickle.dumps(get_credentials))",
                                    ErrorKind.STORAGE_CONFIG)
        try:
            function = pickle.loads(pickled_function)
        except Exception as exc:
            raise InvalidInputError(f"cannot unpickle the get_credentials function: {exc}",
                                    ErrorKind.STORAGE_CONFIG) from exc
        super().__init__("refreshable", get_credentials=function)
        object.__setattr__(self, "_pickled", pickled_function)
        object.__setattr__(self, "_current", current)

    @classmethod
    def _of(cls, get_credentials: Callable[[], Any], scatter: bool) -> _Refreshable:
        """From the function itself (pickled only when asked for, as frazil ships it)."""
        out = object.__new__(cls)
        S3Credentials.__init__(out, "refreshable", get_credentials=get_credentials,
                               scatter_initial_credentials=scatter)
        object.__setattr__(out, "_pickled", None)
        object.__setattr__(out, "_current", None)
        return out

    @property
    def pickled_function(self) -> bytes:
        pickled: bytes | None = self.__dict__.get("_pickled")
        return pickled if pickled is not None else pickle.dumps(self.get_credentials)

    @property
    def current(self) -> S3StaticCredentials | None:
        return self.__dict__.get("_current")


for _variant in (_Static, _Anonymous, _FromEnv, _Refreshable):
    _name = _variant.__name__.lstrip("_")
    _variant.__name__, _variant.__qualname__ = _name, f"S3Credentials.{_name}"
    setattr(S3Credentials, _name, _variant)

#: icechunk's union of S3 credential kinds: one class (with a ``kind``) in frazil-s3
AnyS3Credential = S3Credentials


def s3_static_credentials(*, access_key_id: str, secret_access_key: str,
                          session_token: str | None = None,
                          expires_after: datetime | None = None) -> S3Credentials:
    """Fixed credentials."""
    return _Static(S3StaticCredentials(access_key_id, secret_access_key, session_token,
                                       expires_after))


def s3_anonymous_credentials() -> S3Credentials:
    """Unsigned requests (public buckets)."""
    return _Anonymous()


def s3_from_env_credentials() -> S3Credentials:
    """boto3's default chain: ``AWS_*`` variables, config files, instance roles..."""
    return _FromEnv()


def s3_refreshable_credentials(get_credentials: Callable[[], Any],
                               scatter_initial_credentials: bool = False) -> S3Credentials:
    """Credentials fetched by ``get_credentials()`` and fetched again before they expire.

    ``get_credentials`` returns an object with ``access_key_id``,
    ``secret_access_key``, ``session_token`` and ``expires_after`` (frazil's or
    icechunk's ``S3StaticCredentials``); it must be picklable to travel with the
    storage to other processes.
    """
    if not callable(get_credentials):
        raise InvalidInputError("get_credentials must be callable", ErrorKind.STORAGE_CONFIG)
    return _Refreshable._of(get_credentials, scatter_initial_credentials)


def s3_credentials(*, access_key_id: str | None = None, secret_access_key: str | None = None,
                   session_token: str | None = None, expires_after: datetime | None = None,
                   anonymous: bool | None = None, from_env: bool | None = None,
                   get_credentials: Callable[[], Any] | None = None,
                   scatter_initial_credentials: bool = False) -> S3Credentials:
    """Pick the credentials kind from the arguments, as icechunk's ``s3_credentials`` does.

    With no arguments at all: from the environment.
    """
    chosen = sum([bool(anonymous), bool(from_env), get_credentials is not None,
                  access_key_id is not None or secret_access_key is not None])
    if chosen > 1:
        raise InvalidInputError("conflicting S3 credential options: give only one of "
                                "anonymous, from_env, get_credentials, access keys",
                                ErrorKind.STORAGE_CONFIG)
    if anonymous:
        return s3_anonymous_credentials()
    if get_credentials is not None:
        return s3_refreshable_credentials(get_credentials, scatter_initial_credentials)
    if access_key_id is not None or secret_access_key is not None:
        if not access_key_id or not secret_access_key:
            raise InvalidInputError("static S3 credentials need both access_key_id and "
                                    "secret_access_key", ErrorKind.STORAGE_CONFIG)
        return s3_static_credentials(access_key_id=access_key_id,
                                     secret_access_key=secret_access_key,
                                     session_token=session_token, expires_after=expires_after)
    return s3_from_env_credentials()


#: network_stream_timeout_seconds when S3Options leaves it unset (icechunk's default)
DEFAULT_STREAM_TIMEOUT_S = 60


@dataclass(frozen=True, repr=False)
class S3Options(ReprMixin):
    """Where the S3 API is and how to talk to it (icechunk's ``S3Options``)."""

    _repr_name = "frazil.storage.S3Options"
    _repr_executable = True

    region: str | None = None
    endpoint_url: str | None = None
    allow_http: bool = False
    anonymous: bool = False
    force_path_style: bool = False
    network_stream_timeout_seconds: int | None = None  # None: DEFAULT_STREAM_TIMEOUT_S
    requester_pays: bool = False
    checksum_algorithm: ChecksumAlgorithm | None = None
    _: KW_ONLY
    s3_compatible: bool = False  # frazil's: persisted as an "s3_compatible" container store

    def _repr_fields(self, mode: Mode) -> Fields:
        return s3_options_fields(next(iter(self._to_dict().values())))

    def _to_dict(self) -> dict[str, Any]:
        """The container store as icechunk persists it: ``{"s3" | "s3_compatible": {...}}``."""
        checksum = self.checksum_algorithm
        return {"s3_compatible" if self.s3_compatible else "s3": {
            "allow_http": self.allow_http, "anonymous": self.anonymous,
            "checksum_algorithm": None if checksum is None else checksum.value,
            "endpoint_url": self.endpoint_url,
            "force_path_style": self.force_path_style,
            "network_stream_timeout_seconds": self.network_stream_timeout_seconds,
            "region": self.region, "requester_pays": self.requester_pays}}

    @classmethod
    def _from_dict(cls, data: Any) -> S3Options | None:
        """Options from a persisted container store, ``None`` if it is not an S3 one."""
        if not isinstance(data, dict) or len(data) != 1:
            return None
        ((kind, o),) = data.items()
        if kind not in ("s3", "s3_compatible", "tigris") or not isinstance(o, dict):
            return None
        timeout = o.get("network_stream_timeout_seconds")
        return cls(region=o.get("region"), endpoint_url=o.get("endpoint_url"),
                   allow_http=bool(o.get("allow_http", False)),
                   anonymous=bool(o.get("anonymous", False)),
                   force_path_style=bool(o.get("force_path_style", False)),
                   network_stream_timeout_seconds=None if timeout is None else int(timeout),
                   requester_pays=bool(o.get("requester_pays", False)),
                   s3_compatible=kind == "s3_compatible",
                   checksum_algorithm=ChecksumAlgorithm.parse(o.get("checksum_algorithm")))

    def __post_init__(self) -> None:
        object.__setattr__(self, "checksum_algorithm",
                           ChecksumAlgorithm.parse(self.checksum_algorithm))
        if (self.endpoint_url and self.endpoint_url.lower().startswith("http://")
                and not self.allow_http):
            raise InvalidInputError(
                f"endpoint {self.endpoint_url!r} uses plain http; pass allow_http=True to allow it",
                ErrorKind.STORAGE_CONFIG)


def s3_store(region: str | None = None, endpoint_url: str | None = None,
             allow_http: bool = False, anonymous: bool = False, s3_compatible: bool = False,
             force_path_style: bool = False, network_stream_timeout_seconds: int = 60,
             requester_pays: bool = False, checksum_algorithm: Any = None) -> S3Options:
    """Store options for an ``s3://`` virtual chunk container (icechunk's ``s3_store``)."""
    return S3Options(region, endpoint_url, allow_http, anonymous, force_path_style,
                     network_stream_timeout_seconds, requester_pays,
                     ChecksumAlgorithm.parse(checksum_algorithm), s3_compatible=s3_compatible)


@dataclass(frozen=True)
class S3Settings:
    """Behaviour of the client: retries, timeouts, multipart uploads, storage class.

    Attributes
    ----------
    max_tries
        Attempts per request, the first included (icechunk's default 10).
    initial_backoff_s, max_backoff_s
        Exponential backoff between attempts, with jitter: the n-th wait is
        drawn from ``[d/2, d]`` with ``d = min(max_backoff_s, initial_backoff_s * 2**n)``.
    connect_timeout_s, read_timeout_s
        Socket timeouts of one attempt.
    operation_timeout_s
        Bound on one logical operation, all attempts and waits included (``None``: none).
    attempt_timeout_s
        Bound on one attempt, then retried (``None``: none; icechunk's
        ``operation_attempt_timeout_ms``).
    multipart_threshold
        Objects of at least this many bytes are uploaded in parts (default 100 MB).
    multipart_part_size
        Size of each part but the last (at least 5 MiB).
    storage_class
        ``StorageClass`` of written objects (e.g. ``"STANDARD_IA"``), or ``None``.
    """

    max_tries: int = 10
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 180.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    operation_timeout_s: float | None = None
    attempt_timeout_s: float | None = None
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD
    multipart_part_size: int = 16 * 1024 * 1024
    storage_class: str | None = None

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise InvalidInputError("max_tries must be >= 1", ErrorKind.STORAGE_CONFIG)
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0:
            raise InvalidInputError("backoffs must be >= 0", ErrorKind.STORAGE_CONFIG)
        if self.multipart_part_size < MIN_PART_SIZE:
            raise InvalidInputError(f"multipart_part_size must be >= {MIN_PART_SIZE} (5 MiB)",
                                    ErrorKind.STORAGE_CONFIG)
        if self.multipart_threshold < 1:
            raise InvalidInputError("multipart_threshold must be >= 1", ErrorKind.STORAGE_CONFIG)
