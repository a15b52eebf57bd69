"""Bluesky through atproto: posts with link facets, one thread per incident.

atproto speaks HTTP through httpx; its transport here hands every request to
the SSRF-guarded requests session, so the service URL, and any PDS the login
points to, is checked on the address actually reached, and redirects are
never followed. A post's external id is "uri|cid"; a reply reads its parent
record to find the thread root (four references would not fit the column).

A PDS allows few sign-ins (createSession: 30 per 5 minutes and 300 a day per
account, 100 a day at bsky.social's entryway), fewer than a poll every two
minutes would use. So the session outlives the adapter: it is kept in the
process's SessionStore, resumed by the next poll or batch, refreshed with
refreshSession shortly before its access token expires or when the PDS says it
has (ExpiredToken), and created anew only when there is none or the refresh is
refused.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import requests
from atproto import AtUri, Client, Request, Session, SessionEvent, models
from atproto import exceptions as at
from flask_babel import lazy_gettext as _l

from . import net, register
from .base import (
    AmbiguousChannelError,
    ChannelError,
    OutgoingUpdate,
    Payload,
    PermanentChannelError,
    Receipt,
    SessionStore,
    Setting,
    TransientChannelError,
)
from .http import check_target, not_sent

DEFAULT_SERVICE = "https://bsky.social"
_URL = re.compile(r"https?://[^\s<>\"]+")
_TRAILING = ".,;:!?"
# Hop-by-hop and encoding headers: requests sets and decodes these itself.
_NOT_FORWARDED = {"host", "content-length", "accept-encoding", "connection", "transfer-encoding"}
_NOT_RETURNED = {"content-length", "content-encoding", "transfer-encoding", "connection"}
_CAUGHT = (at.AtProtocolError, ValueError)  # ValueError: bad JSON, bad model, UnsafeURLError
# A kept session whose access token expires sooner than this is refreshed before its first
# call (an adapter lives for one poll or batch; a token expiring during it is renewed when
# the PDS says so).
REFRESH_MARGIN = 15 * 60  # seconds
# What a PDS answers for an access token it no longer takes: renew the session, call again.
_STALE_TOKEN = ("ExpiredToken", "InvalidToken")
T = TypeVar("T")


@register
class BlueskyChannel:
    kind = "bluesky"
    idempotent = False
    fan_out = False
    settings_schema = (
        Setting("handle", _l("Handle"), help=_l("For example status.example.com")),
        Setting(
            "service_url",
            _l("Service URL"),
            required=False,
            kind="url",
            default=DEFAULT_SERVICE,
            help=_l("Your PDS; leave as is for accounts on bsky.social."),
        ),
        Setting("app_password", _l("App password"), secret=True),
    )

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], **options: Any):
        if not settings.get("handle") or not secrets.get("app_password"):
            raise PermanentChannelError("Bluesky is not configured: a handle and app password")
        self.handle = settings["handle"].lstrip("@")
        self.service_url = (settings.get("service_url") or DEFAULT_SERVICE).rstrip("/")
        self.allow_loopback = bool(options.get("allow_loopback", False))
        self._password = secrets["app_password"]
        transport = _GuardedTransport(self.allow_loopback, options.get("timeout"))
        self.client = _Client(self.service_url, request=Request(transport=transport))
        self.client.on_session_change(self._keep)
        self._sessions: SessionStore = options.get("sessions") or SessionStore()
        self._account = _account_key(self.service_url, self.handle, self._password)
        self._session: Session | None = None  # the one this adapter's client calls with

    def render(self, update: OutgoingUpdate) -> Payload:
        text = update.variants["bluesky"]
        reply_to = update.revises if update.is_correction and update.revises else update.reply_to
        data = {"text": text, "links": link_facets(text), "reply_to": reply_to}
        return Payload(data=data, preview=text)

    def send(self, payload: Payload, idempotency_key: str) -> Receipt:
        self._sign_in()
        reply = self._reply_ref(payload.data["reply_to"])
        try:
            created = self._authorized(
                self.client.send_post,
                payload.data["text"],
                profile_identify=self._session.did,
                reply_to=reply,
                facets=[_facet(link) for link in payload.data["links"]] or None,
            )
        except _CAUGHT as error:
            raise _failure(error, posted=True) from error
        rkey = created.uri.rsplit("/", 1)[-1]
        return Receipt(
            external_id=f"{created.uri}|{created.cid}",
            url=f"https://bsky.app/profile/{self.handle}/post/{rkey}",
        )

    def close(self) -> None:
        self.client.request.close()

    def read(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One read as the signed-in account (the mentions poll); failures are ChannelErrors."""
        try:
            return self._authorized(method, *args, **kwargs)
        except _CAUGHT as error:
            raise _failure(error, posted=False) from error

    def _authorized(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call with a live session. A stale access token is refused before anything is done,
        so the call is made once more after renewing the session."""
        self._sign_in()
        try:
            return method(*args, **kwargs)
        except at.RequestErrorBase as error:
            if _error_name(error) not in _STALE_TOKEN:
                raise
            refused = self._session
        self._renew(refused)
        return method(*args, **kwargs)

    def _sign_in(self) -> None:
        """Once per adapter: the session kept from an earlier poll or batch, refreshed first
        if it is about to expire; a new one (createSession) only when none is kept."""
        if self._session is not None:
            return
        check_target(self.service_url, self.allow_loopback)
        with self._sessions.lock(self._account):
            kept = self._sessions.get(self._account)
            if not kept:
                self._create()
                return
            self._resume(kept)
            if _expiring(self._session):
                self._refresh()

    def _renew(self, refused: Session) -> None:
        """After the PDS refused our access token: a session another adapter has renewed
        meanwhile, else a refresh."""
        with self._sessions.lock(self._account):
            kept = self._sessions.get(self._account)
            if kept and kept != refused.export():
                self._resume(kept)
            else:
                self._refresh()

    def _resume(self, kept: str) -> None:
        self.client.login(session_string=kept, fetch_bsky_profile=False)  # sends nothing

    def _refresh(self) -> None:
        """refreshSession; createSession only when the PDS refuses the refresh token."""
        try:
            self.client._refresh_and_set_session()  # atproto has no public name for it
        except at.RequestErrorBase as error:
            if error.response is None or error.response.status_code not in (400, 401):
                raise _failure(error, posted=False) from error
            self._sessions.put(self._account, None)
            self._create()
        except _CAUGHT as error:
            raise _failure(error, posted=False) from error

    def _create(self) -> None:
        """Sign in with the app password (the rate-limited call)."""
        try:
            self.client.login(self.handle, self._password, fetch_bsky_profile=False)
        except _CAUGHT as error:
            raise _failure(error, posted=False) from error

    def _keep(self, event: SessionEvent, session: Session) -> None:
        """atproto's session callback: this adapter calls with the session; a new or refreshed
        one is kept for the next adapter."""
        self._session = session
        if event != SessionEvent.IMPORT:
            self._sessions.put(self._account, session.export())

    def _reply_ref(self, parent_id: str | None) -> models.AppBskyFeedPost.ReplyRef | None:
        """Strong refs to the parent and to its thread's root (read from the parent record)."""
        if not parent_id:
            return None
        uri, _, cid = parent_id.partition("|")
        parent = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid.split("|")[0])
        try:
            at_uri = AtUri.from_str(uri)
            record = self._authorized(
                self.client.app.bsky.feed.post.get, at_uri.hostname, at_uri.rkey
            )
        except at.BadRequestError as error:
            if _error_name(error) == "RecordNotFound":  # deleted by hand: start a new thread
                return None
            raise _failure(error, posted=False) from error
        except _CAUGHT as error:
            raise _failure(error, posted=False) from error
        reply = getattr(record.value, "reply", None)
        return models.AppBskyFeedPost.ReplyRef(root=reply.root if reply else parent, parent=parent)


def _account_key(service_url: str, handle: str, password: str) -> str:
    """Which kept session is this account's; a new app password starts a new session."""
    return hashlib.sha256("\n".join((service_url, handle, password)).encode()).hexdigest()


def _expiring(session: Session) -> bool:
    try:
        expires = session.access_jwt_payload.exp
    except at.AtProtocolError:  # not a JWT we can read: let the PDS judge it
        return False
    return expires is not None and expires - REFRESH_MARGIN < time.time()


def link_facets(text: str) -> list[dict[str, Any]]:
    """Every http(s) URL in the text with its UTF-8 byte range, as Bluesky wants links."""
    links = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if url.endswith(")") and "(" not in url:
            url = url[:-1]
        start = len(text[: match.start()].encode())
        links.append({"byte_start": start, "byte_end": start + len(url.encode()), "uri": url})
    return links


def _facet(link: dict[str, Any]) -> models.AppBskyRichtextFacet.Main:
    return models.AppBskyRichtextFacet.Main(
        features=[models.AppBskyRichtextFacet.Link(uri=link["uri"])],
        index=models.AppBskyRichtextFacet.ByteSlice(
            byte_start=link["byte_start"], byte_end=link["byte_end"]
        ),
    )


class _Client(Client):
    """atproto's Client without its own refresh, which runs inside the next call, where a
    refused refresh would look like a refused post: the channel refreshes (see _sign_in)."""

    def _should_refresh_session(self) -> bool:
        return False


class _GuardedTransport(httpx.BaseTransport):
    """Hands atproto's httpx requests to the SSRF-guarded requests session."""

    def __init__(self, allow_loopback: bool, timeout: Any):
        self._session = net.guarded_session(allow_loopback)
        self._timeout = timeout or net.DEFAULT_TIMEOUT

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        try:
            answer = self._session.request(
                request.method, str(request.url), headers=headers, data=request.read(),
                timeout=self._timeout, allow_redirects=False,
            )  # fmt: skip
        except requests.ConnectionError as error:
            if not_sent(error):
                raise httpx.ConnectError(repr(error), request=request) from error
            raise httpx.ReadError(repr(error), request=request) from error
        except requests.Timeout as error:
            raise httpx.ReadTimeout(repr(error), request=request) from error
        except requests.TooManyRedirects as error:  # the guarded session follows none
            raise PermanentChannelError(f"Bluesky redirected {request.url}: {error}") from error
        except requests.RequestException as error:
            raise httpx.ReadError(repr(error), request=request) from error
        kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in _NOT_RETURNED]
        return httpx.Response(answer.status_code, headers=kept, content=answer.content)

    def close(self) -> None:
        self._session.close()


def _failure(error: Exception, posted: bool) -> ChannelError:
    """posted: the request was a createRecord, so a lost answer may hide a post."""
    if isinstance(error, net.UnsafeURLError):
        return PermanentChannelError(f"refused to connect to Bluesky: {error}")
    response = getattr(error, "response", None)
    if isinstance(error, at.RequestErrorBase) and response is not None:
        return _refusal(response)
    cause = error.__cause__
    if isinstance(error, at.NetworkError) and (
        not posted or isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout))
    ):
        return TransientChannelError(f"could not reach Bluesky: {cause or error!r}")
    if not posted:
        return TransientChannelError(f"Bluesky answered oddly: {error!r}")
    why = f"{error!r} ({cause!r})" if cause else repr(error)
    return AmbiguousChannelError(f"no clear answer from Bluesky, check the account: {why}")


def _refusal(response) -> ChannelError:
    status = response.status_code
    detail = f"Bluesky answered {status}: {_describe(response.content)}"
    if status == 429:
        return TransientChannelError(detail, _retry_after(response.headers))
    if status >= 500 or status == 408:
        return TransientChannelError(detail)
    return PermanentChannelError(detail)


def _retry_after(headers: dict[str, str]) -> float | None:
    reset, wait = headers.get("ratelimit-reset", ""), headers.get("retry-after", "")
    if reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return float(wait) if wait.isdigit() else None


def _error_name(error: at.RequestErrorBase) -> str | None:
    return getattr(error.response.content, "error", None) if error.response else None


def _describe(content: Any) -> str:
    if hasattr(content, "error"):  # an XrpcError: {"error": name, "message": text}
        return f"{content.error}: {content.message or ''}"
    return repr(content)[:300]
