"""A small threaded HTTP receiver on 127.0.0.1 for channel tests.

It records every request and answers from a script of replies (then the
default reply), so a test can make the outlet fail the way real ones do:
a 500, a 429 with Retry-After, a redirect, a hang, a malformed body, or a
connection closed without an answer. `sample_update()` builds the update a
channel is handed by the engine, for tests that call a channel directly.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from publisher.channels import OutgoingUpdate

HANG_LIMIT = 10.0  # a hung request never outlives this (or the server's shutdown)

# Client timeouts (connect, read) for channel tests. On a loaded machine an answer can
# take over half a second, so only a test that waits out a hang uses the short read
# timeout, and even that is longer than a slow answer (a Bluesky post signs in first under
# it) and shorter than any hang (12 s on the X and Bluesky fakes, HANG_LIMIT here).
PATIENT = (2, 10)
IMPATIENT = (2, 5)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    # None: answer normally. "hang": never answer. "close": drop the connection unanswered.
    fault: str | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Reply:
        headers = {"Content-Type": "application/json", **headers}
        return cls(status=status, body=json.dumps(data), headers=headers)


SERVER_ERROR = Reply(status=500, body="internal error")
MALFORMED = Reply(body='{"error": "trunc', headers={"Content-Type": "application/json"})
HANG = Reply(fault="hang")
CLOSE = Reply(fault="close")


def timeout_for(reply: Reply) -> tuple[float, float]:
    """The client timeout a test of `reply` needs: short only when the receiver hangs."""
    return IMPATIENT if reply.fault == "hang" else PATIENT


def rate_limited(seconds: int = 120) -> Reply:
    return Reply(status=429, body="rate_limited", headers={"Retry-After": str(seconds)})


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status=status, body="", headers={"Location": location})


class FakeHTTPServer:
    """`with FakeHTTPServer() as server:` then point a client at `server.url("/path")`."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[Recorded] = []
        self.script: deque[Reply] = deque()
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order; then the default."""
        self.script.extend(replies)

    def next_reply(self) -> Reply:
        return self.script.popleft() if self.script else self.default

    def _serve(self) -> None:
        self._httpd.serve_forever(poll_interval=0.05)  # shutdown waits at most one interval

    def start(self) -> FakeHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases hung handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def _handle(self) -> None:
        fake: FakeHTTPServer = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
        reply = fake.next_reply()
        if reply.fault == "hang":
            fake.stopping.wait(HANG_LIMIT)
        if reply.fault in ("hang", "close"):
            self.close_connection = True
            return
        self._answer(reply)

    def _answer(self, reply: Reply) -> None:
        payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
        self.send_response(reply.status)
        for name, value in {"Content-Type": "text/plain", **reply.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def sample_update(**changes: Any) -> OutgoingUpdate:
    """An update as the engine would hand it to a channel; override any field."""
    base = OutgoingUpdate(
        message_id="msg0001",
        incident_id="inc0001",
        incident_name="Elevated errors",
        incident_url="http://status.test/incidents/inc0001",
        incident_status="identified",
        status_label="Identified",
        impact="minor",
        audience="public",
        body_markdown="We found the **cause**.",
        body_html="<p>We found the <strong>cause</strong>.</p>",
        body_text="We found the cause.",
        variants={
            "mastodon": "[Identified] Elevated errors: We found the cause. http://status.test/i",
            "slack": "*[Identified] Elevated errors*\nWe found the cause.\nhttp://status.test/i",
        },
        published_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        page_name="Example Status",
        page_url="http://status.test",
        page_id="page0001",
        page_indicator="minor",
        page_description="Minor Service Outage",
    )
    return replace(base, **changes)
