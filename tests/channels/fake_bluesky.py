"""A stand-in for a Bluesky PDS on 127.0.0.1: the XRPC calls the channel makes.

atproto's Client.login calls com.atproto.server.createSession and then
app.bsky.actor.getProfile; send_post calls com.atproto.repo.createRecord; the
channel reads a reply's parent with com.atproto.repo.getRecord. Errors have
the XRPC shape {"error": name, "message": text}, as a real PDS sends them.
"""

from __future__ import annotations

import base64
import hashlib
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


def _jwt(scope: str) -> str:
    now = int(time.time())
    claims = {"scope": scope, "sub": DID, "iat": now, "exp": now + 7200, "aud": "did:web:fake"}
    return f"{_b64({'alg': 'HS256', 'typ': 'at+jwt'})}.{_b64(claims)}.c2lnbmF0dXJl"


def _invalid(message: str) -> Answer:
    return 400, {}, {"error": "InvalidRequest", "message": message}


class FakeBluesky(FakeHTTPServer):
    rate_limit_header = "ratelimit-reset"

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []  # {"uri", "cid", "record"}
        self._tokens: set[str] = set()
        self._routes = {
            ("POST", "/xrpc/com.atproto.server.createSession"): self._create_session,
            ("GET", "/xrpc/app.bsky.actor.getProfile"): self._get_profile,
            ("POST", "/xrpc/com.atproto.repo.createRecord"): self._create_record,
            ("GET", "/xrpc/com.atproto.repo.getRecord"): self._get_record,
        }

    def calls(self, nsid: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == f"/xrpc/{nsid}"]

    def error(self, status: int) -> Any:
        return {"error": ERROR_NAMES.get(status, "InternalServerError"), "message": f"{status}"}

    def route(self, seen: Seen) -> Answer:
        handler = self._routes.get((seen.method, seen.path))
        if handler is None:
            return 501, {}, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}
        if handler != self._create_session and not self._signed_in(seen):
            return 401, {}, {"error": "AuthenticationRequired", "message": "Invalid token"}
        return handler(seen)

    def _signed_in(self, seen: Seen) -> bool:
        scheme, _, token = seen.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in self._tokens

    def _create_session(self, seen: Seen) -> Answer:
        body = seen.body or {}
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != APP_PASSWORD:
            return 401, {}, {"error": "AuthenticationRequired",
                             "message": "Invalid identifier or password"}  # fmt: skip
        access = _jwt("com.atproto.appPass")
        self._tokens.add(access)
        session = {"accessJwt": access, "refreshJwt": _jwt("com.atproto.refresh")}
        return 200, {}, {**session, "handle": HANDLE, "did": DID, "active": True}

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
