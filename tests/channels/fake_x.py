"""A stand-in for X's API v2 on 127.0.0.1, and the small fault-injecting server it is built on.

`FakeHTTPServer` records every request and fails on demand, one fault per
matching request: an HTTP status (500, 401...), "rate_limit" (429 with a reset
header), "redirect" (307 elsewhere on this server), "hang" (take the request,
then answer too late), "malformed" (take the request, answer 2xx with broken
JSON) and "close" (hang up without answering).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or raw bytes)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hung handler must not hold up a test's teardown


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.server.fake.answer(self)

    do_GET = do_POST

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass


class FakeHTTPServer:
    hang_seconds = 12.0  # past any client read timeout a test uses; stop() lets go sooner
    rate_limit_header = "x-rate-limit-reset"

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._faults: list[tuple[Any, str | None]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeHTTPServer:
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def stop(self) -> None:
        if not self._stopping.is_set():
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()

    def fail_next(self, fault: Any, times: int = 1, path: str | None = None) -> None:
        with self._lock:
            self._faults.extend([(fault, path)] * times)

    def route(self, seen: Seen) -> Answer:
        raise NotImplementedError

    def error(self, status: int) -> Any:
        return {"title": "Error", "status": status, "detail": f"HTTP {status}"}

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        seen = self._read(handler)
        fault = self._take_fault(seen.path)
        if fault == "close":
            handler.close_connection = True
            return
        if fault in (None, "hang", "malformed"):
            status, headers, body = self.route(seen)
        else:
            status, headers, body = self._fault_answer(fault)
        if fault == "hang":
            self._stopping.wait(self.hang_seconds)
        if fault == "malformed":
            body = b'{"data": {"id": '
        self._write(handler, status, headers, body)

    def _read(self, handler: BaseHTTPRequestHandler) -> Seen:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        parts = urlsplit(handler.path)
        seen = Seen(
            method=handler.command,
            path=parts.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=json.loads(raw) if raw else None,
            query={k: v[0] for k, v in parse_qs(parts.query).items()},
        )
        with self._lock:
            self.requests.append(seen)
        return seen

    def _take_fault(self, path: str) -> Any:
        with self._lock:
            for index, (fault, where) in enumerate(self._faults):
                if where is None or where == path:
                    del self._faults[index]
                    return fault
        return None

    def _fault_answer(self, fault: Any) -> Answer:
        if fault == "redirect":
            return 307, {"Location": f"{self.url}/elsewhere"}, self.error(307)
        if fault == "rate_limit":
            reset = str(int(time.time()) + 120)
            return 429, {self.rate_limit_header: reset}, self.error(429)
        return int(fault), {}, self.error(int(fault))

    def _write(self, handler, status: int, headers: dict[str, str], body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the client gave up waiting (the hang fault)
            handler.close_connection = True


DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


class FakeX(FakeHTTPServer):
    """POST /2/tweets as X answers it: 201 with the new id, 403 for a repeated text."""

    def __init__(self) -> None:
        super().__init__()
        self.tweets: list[dict[str, Any]] = []

    def route(self, seen: Seen) -> Answer:
        if (seen.method, seen.path) != ("POST", "/2/tweets"):
            return 404, {}, self.error(404)
        if not seen.headers.get("authorization", "").startswith("OAuth "):
            return 401, {}, self.error(401)
        text = (seen.body or {}).get("text") or ""
        if not text:
            return 400, {}, self.error(400)
        if any(tweet["text"] == text for tweet in self.tweets):
            return 403, {}, DUPLICATE
        return self._create(text, (seen.body.get("reply") or {}).get("in_reply_to_tweet_id"))

    def _create(self, text: str, reply_to: str | None) -> Answer:
        with self._lock:
            if reply_to is not None and reply_to not in {t["id"] for t in self.tweets}:
                return 403, {}, self.error(403)
            tweet = {"id": str(1790000000000000000 + len(self.tweets)), "text": text}
            self.tweets.append({**tweet, "in_reply_to": reply_to})
        return 201, {}, {"data": {**tweet, "edit_history_tweet_ids": [tweet["id"]]}}
