"""Credentials for virtual chunk containers (icechunk's ``icechunk.credentials``, in part).

``authorize_virtual_chunk_access`` maps a container's ``url_prefix`` to the
credentials its resolver uses. Values may be a backend's credential object
(``frazil_s3.s3_static_credentials(...)`` ...), one wrapped by
:func:`containers_credentials`, one of the no-auth sentinels
:data:`LocalFileSystemAccess` (``file://``) and :data:`HttpAccess`
(``http(s)://``), or ``None`` (deprecated in icechunk, still accepted).

The backend-specific credential classes and factories live in each backend's
distribution; the kernel only carries them to the resolver.
"""

from __future__ import annotations

import logging
import pickle
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from frazil._repr import Fields, Mode, ReprMixin, render
from frazil.errors import ErrorKind, InvalidInputError
from frazil.plugins import backend_names_getattr

__all__ = [
    "AnyCredential",
    "pickled_refresh_function",
    "Credentials",
    "HttpAccess",
    "LocalFileSystemAccess",
    "containers_credentials",
    "unwrap_credentials",
]


class _Wrapped(ReprMixin):
    """A backend credential tagged with its backend (``Credentials.S3(...)``...)."""

    __slots__ = ("credentials",)
    backend = ""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.credentials == self.credentials  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), id(self.credentials)))

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.credentials,)

    def _repr_header(self) -> str:
        return f"frazil.credentials.Credentials.{self.backend}"

    def _repr_fields(self, mode: Mode) -> Fields:  # backends' credentials redact themselves
        return [("credentials", render(self.credentials, mode))]


class _Sentinel(ReprMixin):
    """A credential meaning "authorized, and no credentials are needed"."""

    __slots__ = ()
    name = ""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), ()

    def _repr_header(self) -> str:
        return f"frazil.credentials.Credentials.{self.name}"

    def _repr_fields(self, mode: Mode) -> Fields:
        return []


class Credentials:
    """Namespace of container credential kinds (icechunk's ``Credentials``)."""

    class S3(_Wrapped):
        backend = "S3"

    class Gcs(_Wrapped):
        backend = "Gcs"

    class Azure(_Wrapped):
        backend = "Azure"

    class LocalFileSystemAccess(_Sentinel):
        """Authorizes a ``file://`` container, which needs no credentials."""

        name = "LocalFileSystemAccess"

    class HttpAccess(_Sentinel):
        """Authorizes an ``http(s)://`` container, which needs no credentials."""

        name = "HttpAccess"


#: any value ``containers_credentials`` produces (icechunk's ``AnyCredential``)
AnyCredential = (Credentials.S3 | Credentials.Gcs | Credentials.Azure
                 | Credentials.LocalFileSystemAccess | Credentials.HttpAccess)

#: authorizes a ``file://`` virtual chunk container (no credentials needed)
LocalFileSystemAccess = Credentials.LocalFileSystemAccess()
#: authorizes an ``http://``/``https://`` virtual chunk container (no credentials needed)
HttpAccess = Credentials.HttpAccess()

_BY_PREFIX = (("S3", Credentials.S3), ("Gcs", Credentials.Gcs), ("Gcp", Credentials.Gcs),
              ("Azure", Credentials.Azure))


def containers_credentials(m: Mapping[str, Any]) -> dict[str, Any]:
    """Tag each container's credentials with its backend (icechunk's function).

    Backend credential objects are recognised by their class name
    (``S3Credentials``, ``GcsCredentials``, ``AzureCredentials`` and their
    static/refreshable kinds); sentinels and ``None`` pass through.
    """
    out: dict[str, Any] = {}
    for prefix, cred in m.items():
        if cred is None or isinstance(cred, _Sentinel | _Wrapped):
            out[prefix] = cred
            continue
        name = type(cred).__qualname__  # e.g. "S3Credentials", "GcsCredentials.Static"
        wrapper = next((w for p, w in _BY_PREFIX if name.startswith(p)), None)
        if wrapper is None:
            raise ValueError(f"Unknown credential type {type(cred)}")
        out[prefix] = wrapper(cred)
    return out


def unwrap_credentials(cred: Any) -> Any:
    """What a resolver receives: the backend credential, or ``None`` for no-auth."""
    if isinstance(cred, _Sentinel):
        return None
    if isinstance(cred, _Wrapped):
        return cred.credentials
    return cred


def pickled_refresh_function(get_credentials: Callable[[], Any]) -> bytes:
    """``get_credentials`` pickled, as refreshable credentials carry it to other processes.

    Backends call it when building refreshable credentials; a function that is
    not callable or not picklable is refused up front with a clear error.
    """
    if not callable(get_credentials):
        raise InvalidInputError("get_credentials must be callable", ErrorKind.STORAGE_CONFIG)
    try:
        return pickle.dumps(get_credentials)
    except Exception as exc:
        raise InvalidInputError(f"get_credentials must be picklable: {exc}",
                                ErrorKind.STORAGE_CONFIG) from exc


# ------------------------------------------------------------ ``None`` credentials
_log = logging.getLogger("frazil.repository")
_NONE_NOTED: set[str] = set()
_NONE_LOCK = threading.Lock()
_ISSUE = "https://github.com/earth-mover/icechunk/issues/2194"


def _explicit_form(url_prefix: str) -> str:
    """What to authorize ``url_prefix`` with instead of ``None``."""
    scheme = url_prefix.split("://", 1)[0].lower()
    if scheme in ("s3", "tigris"):
        return ("frazil.Credentials.S3(frazil.S3Credentials.FromEnv()) (``None`` reads "
                "credentials from the environment, or goes anonymous: say which you mean)")
    return {
        "gs": "frazil.Credentials.Gcs(frazil.GcsCredentials.Anonymous())",
        "gcs": "frazil.Credentials.Gcs(frazil.GcsCredentials.Anonymous())",
        "az": "frazil.Credentials.Azure(frazil.AzureCredentials.FromEnv())",
        "azure": "frazil.Credentials.Azure(frazil.AzureCredentials.FromEnv())",
        "abfs": "frazil.Credentials.Azure(frazil.AzureCredentials.FromEnv())",
        "file": "frazil.credentials.LocalFileSystemAccess",
        "http": "frazil.credentials.HttpAccess",
        "https": "frazil.credentials.HttpAccess",
    }.get(scheme, "an explicit credential")


def note_none_credentials(authorize: Mapping[str, Any] | None) -> None:
    """Warn that ``None`` authorizations are deprecated (as icechunk 2.3 does).

    A ``DeprecationWarning`` each time, and a WARNING on the ``frazil.repository``
    logger once per container prefix and process.
    """
    for url_prefix, cred in (authorize or {}).items():
        if cred is not None:
            continue
        instead = _explicit_form(str(url_prefix))
        text = (f"authorizing virtual chunk container {url_prefix!r} with None is deprecated "
                f"in icechunk and will be rejected in a future release: pass {instead} "
                f"(see {_ISSUE})")
        warnings.warn(text, DeprecationWarning, stacklevel=3)
        with _NONE_LOCK:
            first = url_prefix not in _NONE_NOTED
            _NONE_NOTED.add(url_prefix)
        if first:
            _log.warning(text)


#: icechunk.credentials names that the backend distributions provide (frazil-s3, -gcs, -azure)
BACKEND_NAMES = frozenset({
    "AnyAzureCredential", "AnyAzureStaticCredential", "AnyGcsCredential",
    "AnyGcsStaticCredential", "AnyS3Credential", "AzureCredentials", "AzureRefreshableCredential",
    "AzureStaticCredentials", "GcsBearerCredential", "GcsCredentials", "GcsStaticCredentials",
    "S3Credentials", "S3StaticCredentials", "azure_anonymous_credentials", "azure_credentials",
    "azure_from_env_credentials", "azure_refreshable_credentials", "azure_static_credentials",
    "gcs_anonymous_credentials", "gcs_credentials", "gcs_from_env_credentials",
    "gcs_refreshable_credentials", "gcs_static_credentials", "s3_anonymous_credentials",
    "s3_credentials", "s3_from_env_credentials", "s3_refreshable_credentials",
    "s3_static_credentials"})


__getattr__ = backend_names_getattr("frazil.credentials", BACKEND_NAMES)
