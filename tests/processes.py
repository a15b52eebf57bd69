"""Real Herald processes and a webhook receiver on loopback, for the crash and scale tests.

`flask herald worker` and the web server run as subprocesses with their own instance
folder; their output goes to a log file there (a pipe could fill and stall them).
The receiver stands in for webhook subscribers and keeps every webhook-id it takes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from publisher.extensions import db
from publisher.models import Channel, ChannelKind, Delivery, Subscriber, SubscriberKind, utcnow

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FLASK = (sys.executable, "-m", "flask", "--app", "app", "herald")


class Receiver(BaseHTTPRequestHandler):
    """Takes every webhook (after `delay` seconds) and keeps its webhook-id."""

    seen: list[str] = []
    delay = 0.0
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.delay:
            time.sleep(self.delay)
        with Receiver.lock:
            Receiver.seen.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 with `handler`; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def webhook_receiver(delay: float = 0.0) -> Iterator[str]:
    Receiver.seen, Receiver.delay = [], delay
    with serving(Receiver) as url:
        yield url


def base_environment(app, folder: Path, **settings: str) -> dict[str, str]:
    """The environment of a Herald process on the test's database, with its own folder."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        HERALD_INSTANCE_DIR=str(folder),
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        BASE_URL="http://status.test",
        CHANNELS_ALLOW_LOOPBACK="1",
        LOG_LEVEL="WARNING",
        **settings,
    )
    return env


def start(env: dict, name: str, *command: str) -> subprocess.Popen:
    """A long-running process; its output goes to <instance folder>/<name>.log."""
    log = open(Path(env["HERALD_INSTANCE_DIR"]) / f"{name}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def flask(env: dict, *args: str) -> subprocess.Popen:
    """A long-running `flask herald ...` process (worker, serve)."""
    return start(env, args[0], *FLASK, *args)


def run(env: dict, *args: str) -> None:
    """A `flask herald ...` command run to its end; fails the test with its whole stderr."""
    done = subprocess.run([*FLASK, *args], cwd=ROOT, env=env, capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr.decode()


def stop(processes: list[subprocess.Popen], timeout: float = 20) -> None:
    """SIGTERM each process, then wait; one that does not stop in time is killed."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for(condition, seconds: float = 15) -> bool:
    """Poll `condition` until it holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def webhook_subscribers(receiver: str, count: int) -> None:
    """A webhook channel and `count` confirmed subscribers, each at its own path."""
    db.session.add(Channel(kind=ChannelKind.WEBHOOK, name="webhook subscribers"))
    db.session.add_all(
        Subscriber(
            kind=SubscriberKind.WEBHOOK,
            target=f"{receiver}/hook/{n}",
            signing_secret=SECRET,
            confirmed_at=utcnow(),
        )
        for n in range(count)
    )
    db.session.commit()


def states() -> dict[str, int]:
    """How many deliveries are in each state, read afresh."""
    db.session.expire_all()
    rows = db.session.query(Delivery.state, db.func.count()).group_by(Delivery.state).all()
    return {str(state): count for state, count in rows}
