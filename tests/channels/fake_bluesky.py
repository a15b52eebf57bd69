"""A stand-in for a Bluesky PDS on 127.0.0.1: the XRPC calls the channel makes.

atproto's Client.login calls com.atproto.server.createSession (and, unless told
not to, app.bsky.actor.getProfile); send_post calls com.atproto.repo.createRecord;
the channel reads a reply's parent with com.atproto.repo.getRecord and renews
its session with com.atproto.server.refreshSession. Sessions behave as a PDS's
do: each access token expires (at `access_lifetime`, or at once with
`expire_access_tokens()`, answered 400 ExpiredToken), a refresh token works once,
and `revoke_sessions()` ends them all. Errors have the XRPC shape
{"error": name, "message": text}, as a real PDS sends them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
from typing import Any

import regex

from .fake_x import Answer, FakeHTTPServer, Seen

HANDLE = "status.example.com"
DID = "did:plc:fakestatusaccount0000000"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
POST = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
ERROR_NAMES = {400: "InvalidRequest", 401: "AuthenticationRequired", 429: "RateLimitExceeded"}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


_SERIAL = itertools.count()


def _jwt(scope: str, expires: int) -> str:
    claims = {"scope": scope, "sub": DID, "iat": int(time.time()), "exp": expires,
              "aud": "did:web:fake", "jti": str(next(_SERIAL))}  # fmt: skip
    return f"{_b64({'alg': 'HS256', 'typ': 'at+jwt'})}.{_b64(claims)}.c2lnbmF0dXJl"


def _bearer(seen: Seen) -> str | None:
    scheme, _, token = seen.headers.get("authorization", "").partition(" ")
    return token if scheme == "Bearer" and token else None


def _invalid(message: str) -> Answer:
    return 400, {}, {"error": "InvalidRequest", "message": message}


class FakeBluesky(FakeHTTPServer):
    rate_limit_header = "ratelimit-reset"

    access_lifetime = 7200  # seconds, written into each access token's exp claim

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []  # {"uri", "cid", "record"}
        self._tokens: dict[str, float] = {}  # access token: when the PDS stops taking it
        self._refresh_tokens: set[str] = set()
        self._routes = {
            ("POST", "/xrpc/com.atproto.server.createSession"): self._create_session,
            ("POST", "/xrpc/com.atproto.server.refreshSession"): self._refresh_session,
            ("GET", "/xrpc/app.bsky.actor.getProfile"): self._get_profile,
            ("POST", "/xrpc/com.atproto.repo.createRecord"): self._create_record,
            ("GET", "/xrpc/com.atproto.repo.getRecord"): self._get_record,
        }

    def calls(self, nsid: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == f"/xrpc/{nsid}"]

    def error(self, status: int) -> Any:
        return {"error": ERROR_NAMES.get(status, "InternalServerError"), "message": f"{status}"}

    def expire_access_tokens(self) -> None:
        """Every access token given so far is refused from now on as expired (400
        ExpiredToken), though its exp claim says later; refresh tokens still work."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def revoke_sessions(self) -> None:
        """Every session ends (as when the app password's sessions are revoked): neither its
        access nor its refresh token works; signing in with the app password does."""
        with self._lock:
            self._tokens.clear()
            self._refresh_tokens.clear()

    def route(self, seen: Seen) -> Answer:
        handler = self._routes.get((seen.method, seen.path))
        if handler is None:
            return 501, {}, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}
        if handler in (self._create_session, self._refresh_session):
            return handler(seen)
        return self._refused(seen) or handler(seen)

    def _refused(self, seen: Seen) -> Answer | None:
        """Why the PDS will not take this access token, if it will not (as a PDS answers)."""
        token = _bearer(seen)
        if token is None:
            return (
                401,
                {},
                {"error": "AuthenticationRequired", "message": "Authentication Required"},
            )
        with self._lock:
            expires = self._tokens.get(token)
        if expires is None:
            return 400, {}, {"error": "InvalidToken", "message": "Token could not be verified"}
        if expires <= time.time():
            return 400, {}, {"error": "ExpiredToken", "message": "Token has expired"}
        return None

    def _create_session(self, seen: Seen) -> Answer:
        body = seen.body or {}
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != APP_PASSWORD:
            return 401, {}, {"error": "AuthenticationRequired",
                             "message": "Invalid identifier or password"}  # fmt: skip
        return 200, {}, {**self._new_session(), "active": True}

    def _refresh_session(self, seen: Seen) -> Answer:
        token = _bearer(seen)
        with self._lock:
            known = token in self._refresh_tokens
            self._refresh_tokens.discard(token)  # a refresh token works once
        if not known:
            return 400, {}, {"error": "ExpiredToken", "message": "Token has been revoked"}
        return 200, {}, self._new_session()

    def _new_session(self) -> dict[str, Any]:
        expires = int(time.time()) + self.access_lifetime
        access = _jwt("com.atproto.appPass", expires)
        refresh = _jwt("com.atproto.refresh", int(time.time()) + 90 * 86400)
        with self._lock:
            self._tokens[access] = expires
            self._refresh_tokens.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": HANDLE, "did": DID}

    def _get_profile(self, seen: Seen) -> Answer:
        if seen.query.get("actor") not in (HANDLE, DID):
            return _invalid("Profile not found")
        return 200, {}, {"did": DID, "handle": HANDLE, "displayName": "Example Status"}

    def _create_record(self, seen: Seen) -> Answer:
        body = seen.body or {}
        if body.get("repo") not in (HANDLE, DID) or body.get("collection") != POST:
            return _invalid("Invalid repo or collection")
        record = body.get("record") or {}
        problem = self._problem(record)
        if problem:
            return _invalid(f"Invalid {POST} record: {problem}")
        with self._lock:
            rkey = f"3lfake{len(self.posts):07d}"
            digest = hashlib.sha256(json.dumps([rkey, record]).encode()).digest()
            cid = "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]
            post = {"uri": f"at://{DID}/{POST}/{rkey}", "cid": cid, "record": record}
            self.posts.append(post)
        answer = {"uri": post["uri"], "cid": cid, "validationStatus": "valid"}
        return 200, {}, {**answer, "commit": {"cid": cid, "rev": rkey}}

    def _problem(self, record: dict[str, Any]) -> str | None:
        text = record.get("text", "")
        if record.get("$type") != POST or not isinstance(text, str):
            return "Record/$type and Record/text are required"
        if len(regex.findall(r"\X", text)) > MAX_GRAPHEMES:
            return f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
        size = len(text.encode())
        for facet in record.get("facets") or []:
            index = facet.get("index", {})
            if not 0 <= index.get("byteStart", -1) < index.get("byteEnd", -1) <= size:
                return "Record/facets has a byte range outside the text"
        refs = [(record.get("reply") or {}).get(end) for end in ("root", "parent")]
        known = {(p["uri"], p["cid"]) for p in self.posts}
        if any(ref and (ref.get("uri"), ref.get("cid")) not in known for ref in refs):
            return "Record/reply refers to a post that does not exist"
        return None

    def _get_record(self, seen: Seen) -> Answer:
        repo, rkey = seen.query.get("repo"), seen.query.get("rkey")
        uri = f"at://{DID}/{seen.query.get('collection')}/{rkey}"
        for post in self.posts:
            if repo in (HANDLE, DID) and post["uri"] == uri:
                return 200, {}, {"uri": uri, "cid": post["cid"], "value": post["record"]}
        return 400, {}, {"error": "RecordNotFound", "message": f"Could not locate record: {uri}"}
