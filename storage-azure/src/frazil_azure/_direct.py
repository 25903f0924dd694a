"""A plain-HTTP route for single-blob GET, HEAD and PUT (shared key, SAS or anonymous).

azure-storage-blob spends several milliseconds of Python on each request
(its policy pipeline, ``requests``, its deserialisers), which under the GIL
is most of a small machine's time when chunks are small. Chunk and metadata
traffic is single-blob GET, HEAD and PUT, so frazil-azure sends those itself
over a urllib3 pool, signed with the storage account's shared key (the
documented ``SharedKey`` scheme) or carrying the SAS token. Everything else
(listing, batch deletes, uploads in blocks, Entra ID tokens) stays with the
SDK. Failures are raised as azure-core's exception types, so both routes
share one retry loop and one error mapping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

__all__ = ["DirectBlob"]

# the standard headers of the SharedKey string-to-sign, in order
_SIGNED = ("content-encoding", "content-language", "content-length", "content-md5",
           "content-type", "date", "if-modified-since", "if-match", "if-none-match",
           "if-unmodified-since", "range")


def _sdk_error(status: int, headers: Any, body: bytes, method: str) -> Exception:
    from azure.core import exceptions as ax

    code = headers.get("x-ms-error-code", "")
    message = f"{method} answered {status} {code}".rstrip()
    cls: type[ax.HttpResponseError] = ax.HttpResponseError
    if status == 404:
        cls = ax.ResourceNotFoundError
    elif status == 409:
        cls = ax.ResourceExistsError
    elif status == 412:
        cls = ax.ResourceModifiedError
    elif status in (401, 403):
        cls = ax.ClientAuthenticationError
    exc = cls(message=message)
    exc.status_code = status
    exc.error_code = code or None  # type: ignore[attr-defined]
    return exc


class DirectBlob:
    """Signed single-blob requests to one account endpoint.

    Parameters
    ----------
    endpoint
        The account URL (``https://acct.blob.core.windows.net`` or an emulator's
        ``http://127.0.0.1:PORT/devstoreaccount1``).
    account
        The account name (part of the signed resource).
    key
        The base64 account key for ``SharedKey``, or ``None``.
    sas
        A SAS query string, or ``None`` (anonymous when both are ``None``).
    """

    def __init__(self, endpoint: str, account: str, *, key: str | None, sas: str | None,
                 api_version: str, connect_timeout: float, read_timeout: float,
                 max_connections: int, verify: bool = True, user_agent: str | None = None
                 ) -> None:
        import urllib3

        self.endpoint = endpoint.rstrip("/")
        parsed = urllib3.util.parse_url(self.endpoint)
        self._origin = f"{parsed.scheme}://{parsed.netloc}"
        self._base_path = (parsed.path or "").rstrip("/")
        self.account = account
        self._key = base64.b64decode(key) if key else None
        self._sas = sas.lstrip("?") if sas else None
        self.api_version = api_version
        self._user_agent = user_agent or "frazil-azure"
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=max(10, max_connections),
                                         cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
                                         retries=False)

    def __repr__(self) -> str:
        return f"DirectBlob({self.endpoint!r})"

    def _sign(self, method: str, path: str, headers: dict[str, str]) -> str:
        lower = {k.lower(): v for k, v in headers.items()}
        standard = [lower.get(name, "") for name in _SIGNED]
        if standard[2] == "0":  # a zero Content-Length is signed as empty (version >= 2015-02-21)
            standard[2] = ""
        ms = "".join(f"{k}:{lower[k].strip()}\n" for k in sorted(lower) if k.startswith("x-ms-"))
        to_sign = f"{method}\n" + "\n".join(standard) + "\n" + ms + f"/{self.account}{path}"
        assert self._key is not None
        digest = hmac.new(self._key, to_sign.encode("utf-8"), hashlib.sha256).digest()
        return f"SharedKey {self.account}:{base64.b64encode(digest).decode()}"

    def request(self, method: str, container: str, blob: str, *,
                headers: dict[str, str] | None = None, body: bytes | None = None
                ) -> tuple[int, Any, bytes]:
        """Send one request; returns ``(status, headers, body)`` of a 2xx answer.

        Raises azure-core exceptions: ``HttpResponseError`` and subclasses for
        error statuses, ``ServiceRequestError`` / ``ServiceResponseError`` for
        transport failures (refused, reset, timed out, cut short).
        """
        import urllib3
        from azure.core import exceptions as ax

        path = f"{self._base_path}/{quote(container, safe='')}/{quote(blob, safe='/')}"
        hdrs = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": self.api_version,
                "User-Agent": self._user_agent, **(headers or {})}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        url = f"{self._origin}{path}"
        if self._sas:
            url = f"{url}?{self._sas}"
        elif self._key is not None:
            hdrs["Authorization"] = self._sign(method, path, hdrs)
        try:
            resp = self._pool.request(method, url, headers=hdrs, body=body,
                                      timeout=self._timeout, redirect=False,
                                      preload_content=True)
        except urllib3.exceptions.NewConnectionError as exc:
            raise ax.ServiceRequestError(f"cannot connect to {self.endpoint}: "
                                         f"{type(exc).__name__}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise ax.ServiceResponseError(f"{method} to {self.endpoint} failed: "
                                          f"{type(exc).__name__}") from None
        if resp.status >= 300:
            raise _sdk_error(resp.status, resp.headers, resp.data, method)
        return resp.status, resp.headers, resp.data

    # -- the three operations ---------------------------------------------------------------

    def get(self, container: str, blob: str, offset: int | None = None,
            length: int | None = None) -> tuple[bytes, str]:
        """Bytes of a blob (or ``[offset, offset + length)``) and its etag."""
        headers = {}
        if offset is not None or length is not None:
            lo = offset or 0
            headers["x-ms-range"] = f"bytes={lo}-" if length is None else \
                f"bytes={lo}-{lo + length - 1}"
        _, hdrs, data = self.request("GET", container, blob, headers=headers)
        return data, hdrs.get("ETag", "")

    def head(self, container: str, blob: str) -> tuple[int, str, float | None]:
        """The size, etag and last-modified time (epoch seconds) of a blob."""
        from email.utils import parsedate_to_datetime

        _, hdrs, _ = self.request("HEAD", container, blob)
        modified = hdrs.get("Last-Modified")
        when = parsedate_to_datetime(modified).timestamp() if modified else None
        return int(hdrs.get("Content-Length", "0")), str(hdrs.get("ETag", "")), when

    def put(self, container: str, blob: str, data: bytes, *, if_match: str | None = None,
            if_none_match: str | None = None) -> str:
        """Upload a block blob in one request; returns the new etag."""
        headers = {"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}
        if if_match is not None:
            headers["If-Match"] = if_match
        if if_none_match is not None:
            headers["If-None-Match"] = if_none_match
        _, hdrs, _ = self.request("PUT", container, blob, headers=headers, body=data)
        return str(hdrs.get("ETag", ""))
