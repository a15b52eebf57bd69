"""Outbound HTTP shared by the channels: the URL check, a POST without redirects, and how
transport failures and answers map to retry / give up / ask a person."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError

from .base import AmbiguousChannelError, ChannelError, PermanentChannelError, TransientChannelError
from .net import UnsafeURLError, check_url


def check_target(url: str, allow_loopback: bool) -> None:
    """Refuse a URL that is not public http(s) (again at connect time, in the session)."""
    try:
        check_url(url, allow_loopback)
    except UnsafeURLError as error:
        if error.unresolved:  # DNS trouble passes; a private address does not
            raise TransientChannelError(f"{url!r}: {error}") from None
        raise PermanentChannelError(f"refused {url!r}: {error}") from None


def post(session: requests.Session, url: str, body: bytes, headers: dict, timeout) -> Any:
    """POST without following redirects; a non-2xx answer or a failure raises a ChannelError."""
    try:
        response = session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except (requests.RequestException, UnsafeURLError) as error:
        raise transport_error(error) from None
    if not 200 <= response.status_code < 300:
        raise status_error(response)
    return response


def transport_error(error: Exception) -> ChannelError:
    """Before the request went out: retry. After it went out: it may have been taken."""
    if isinstance(error, UnsafeURLError):
        return PermanentChannelError(f"refused at connect time: {error}")
    if isinstance(error, requests.TooManyRedirects) and error.response is not None:
        return status_error(error.response)  # the guarded session follows no redirect at all
    if isinstance(error, requests.ConnectTimeout):
        return TransientChannelError("could not connect in time")
    if isinstance(error, requests.ReadTimeout):
        return AmbiguousChannelError("no answer in time after sending; it may have been taken")
    if isinstance(error, requests.ConnectionError) and _after_sending(error):
        return AmbiguousChannelError("the connection dropped after sending; it may have been taken")
    return TransientChannelError(f"could not connect ({type(error).__name__})")


def status_error(response) -> ChannelError:
    code, said = response.status_code, _excerpt(response.text)
    if 300 <= code < 400:
        return PermanentChannelError(
            f"{code} redirect to {_excerpt(response.headers.get('Location', ''))}"
            "; redirects are not followed, give the final URL"
        )
    if code == 429:
        return TransientChannelError(f"429 rate limited: {said}", retry_after=retry_after(response))
    if code >= 500 or code == 408:
        return TransientChannelError(f"{code} from the receiver: {said}")
    if code == 410:
        return PermanentChannelError(f"410 gone: the receiver asked to stop ({said})")
    return PermanentChannelError(f"{code} refused: {said}")


def retry_after(response) -> float | None:
    """Retry-After in seconds (delta or HTTP date), if the answer gave one."""
    value = (response.headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _after_sending(error: requests.ConnectionError) -> bool:
    return bool(error.args) and isinstance(error.args[0], ProtocolError)


def _excerpt(text: str, limit: int = 200) -> str:
    return "".join(c if c.isprintable() else " " for c in (text or "")[:limit]).strip()


def not_sent(error: requests.ConnectionError) -> bool:
    """True when the connection failed before any byte of the request went out."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
