"""Fan-out benchmark: one published update to N confirmed email subscribers plus every other
outlet (local stand-ins for X, Mastodon, Bluesky, Slack and webhook receivers), sent by ONE
worker process, while the web server keeps answering. Loopback only; bounded in time.

    .venv/bin/python bench/fanout.py                 # 10,000 email subscribers
    .venv/bin/python bench/fanout.py --subscribers 2000 --threads 4

Prints deliveries per second, time to the last delivery, the worker's peak memory and the
web side's latency during the fan-out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from mastodon_mock.testing.server import MockServer  # noqa: E402

from tests.channels.fake_bluesky import FakeBluesky  # noqa: E402
from tests.channels.fake_http import FakeHTTPServer  # noqa: E402
from tests.channels.fake_x import FakeX  # noqa: E402
from tests.channels.smtp_sink import running_sink  # noqa: E402

WEB_PORT = 5097
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def main() -> None:
    args = parse_args()
    with ExitStack() as stack:
        sink = stack.enter_context(running_sink())
        fakes = start_fakes(stack)
        env = environment(args, sink)
        os.environ.update(env)
        migrate(env)
        app = setup_data(args, fakes)
        worker = spawn(env, "herald", "worker", "--workers", str(args.threads))
        web = spawn_web(env)
        stack.callback(stop, worker)
        stack.callback(stop, web)
        wait_for_web()
        report(run(app, worker, args), args)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4, help="worker threads (one process)")
    parser.add_argument("--timeout", type=int, default=600, help="give up after this many s")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    return parser.parse_args()


def environment(args, sink) -> dict[str, str]:
    instance = tempfile.mkdtemp(prefix="herald-bench-")
    return {
        "HERALD_INSTANCE_DIR": instance,
        "DATABASE_URL": args.database_url or f"sqlite:///{instance}/herald.db",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_SECURITY": "none",
        "MAIL_FROM": "status@bench.test",
        "CHANNELS_ALLOW_LOOPBACK": "1",
        "CHANNEL_SECRETS_KEY": Fernet.generate_key().decode(),
        "PORT": str(WEB_PORT),
        "BASE_URL": f"http://127.0.0.1:{WEB_PORT}",
        "LOG_LEVEL": "WARNING",
    }


def start_fakes(stack: ExitStack) -> dict:
    fakes = {
        "x": FakeX().start(),
        "bluesky": FakeBluesky().start(),
        "slack": FakeHTTPServer().start(),
        "webhook": FakeHTTPServer().start(),
    }
    for fake in fakes.values():
        stack.callback(fake.stop)
    fakes["mastodon"] = stack.enter_context(MockServer())
    return fakes


def migrate(env) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def setup_data(args, fakes):
    """Channels, subscribers and a team, written straight into the fresh database."""
    from publisher import create_app
    from publisher.extensions import db
    from publisher.models import Subscriber, SubscriberKind, utcnow

    app = create_app()
    with app.app_context():
        add_channels(db, fakes)
        now = utcnow()
        rows = [
            {
                "kind": SubscriberKind.EMAIL,
                "target": f"reader{n}@bench.test",
                "token": f"bench-email-{n}",
                "confirmed_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(args.subscribers)
        ]
        rows += [
            {
                "kind": SubscriberKind.WEBHOOK,
                "target": fakes["webhook"].url(f"/hook/{n}"),
                "token": f"bench-hook-{n}",
                "signing_secret": SECRET,
                "confirmed_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(10)
        ]
        db.session.execute(db.insert(Subscriber), rows)
        db.session.commit()
    return app


def add_channels(db, fakes) -> None:
    from publisher.models import Channel, ChannelKind
    from publisher.services import channel_config

    specs = [
        (
            ChannelKind.X,
            {"account": "bench", "api_base_url": fakes["x"].url},
            {
                "consumer_key": "k",
                "consumer_secret": "s",
                "access_token": "t",
                "access_token_secret": "ts",
            },
        ),
        (
            ChannelKind.BLUESKY,
            {"handle": "status.example.com", "service_url": fakes["bluesky"].url},
            {"app_password": "abcd-efgh-ijkl-mnop"},  # what the stand-in accepts
        ),
        (
            ChannelKind.MASTODON,
            {"server_url": fakes["mastodon"].base_url, "account": "bench", "visibility": "public"},
            {"access_token": "alice_token"},
        ),
        (ChannelKind.SLACK, {}, {"webhook_url": fakes["slack"].url("/services/T/B/X")}),
        (ChannelKind.WEBHOOK, {}, {}),
        (ChannelKind.EMAIL, {}, {}),
    ]
    for kind, settings, secrets in specs:
        channel = Channel(kind=kind, name=f"bench {kind}", settings=settings)
        if secrets:
            channel_config.store_secrets(channel, secrets)
        db.session.add(channel)
    db.session.commit()


def spawn(env, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env={**os.environ, **env}
    )


def spawn_web(env) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{WEB_PORT}",
        "--workers",
        "2",
        "--log-level",
        "warning",
        "app:app",
    ]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


def wait_for_web() -> None:
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{WEB_PORT}/", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("the web server did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def run(app, worker, args) -> dict:
    """Publish, then watch deliveries, the worker's memory and the web side until done."""
    probe = WebProbe().start()
    memory = MemoryProbe(worker.pid).start()
    started = time.monotonic()
    publish(app)
    counts, finished_at = watch(app, args, started)
    probe.stop()
    memory.stop()
    return {
        "counts": counts,
        "elapsed": finished_at - started,
        "web": probe.latencies,
        "web_errors": probe.errors,
        "peak_rss_mb": memory.peak_mb,
    }


def publish(app) -> None:
    from publisher.models import Role
    from publisher.services import composer, users

    with app.app_context():
        comms = users.create_user("comms@bench.test", "Comms", Role.COMMS_MANAGER, "0123456789ab")
        im = users.create_user("im@bench.test", "Ian", Role.INCIDENT_MANAGER, "0123456789ab")
        incident = declare(comms)
        message = composer.create_draft(
            comms,
            incident,
            incident_status="identified",
            body="We found the cause of the **slow checkout**.",
        )
        composer.submit(comms, message)
        composer.approve(im, message, expected_hash=composer.content_hash(message))
        composer.publish(comms, message)  # commits; the after-commit hook enqueues the batches


def declare(actor):
    from publisher.services import incidents

    return incidents.declare_incident(actor, "Slow checkout", "major", {})


def watch(app, args, started) -> tuple[dict, float]:
    from publisher.extensions import db
    from publisher.models import Channel, Delivery

    deadline = started + args.timeout
    with app.app_context():
        while time.monotonic() < deadline:
            rows = db.session.execute(
                db.select(Channel.kind, Delivery.state, db.func.count())
                .join(Channel, Delivery.channel_id == Channel.id)
                .group_by(Channel.kind, Delivery.state)
            ).all()
            db.session.rollback()
            counts = {(str(k), str(s)): n for k, s, n in rows}
            if counts and all(s in ("sent", "dead", "unknown") for _k, s in counts):
                return counts, time.monotonic()
            time.sleep(0.25)
    return counts, time.monotonic()


class WebProbe:
    """Asks for / and the summary JSON every 50 ms and keeps each answer's latency."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()

    def start(self) -> WebProbe:
        threading.Thread(target=self._loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        paths = ["/", "/api/v2/summary.json"]
        while not self._stop.is_set():
            for path in paths:
                self._probe(f"http://127.0.0.1:{WEB_PORT}{path}")
            time.sleep(0.05)

    def _probe(self, url: str) -> None:
        began = time.monotonic()
        try:
            ok = requests.get(url, timeout=10).status_code == 200
        except requests.RequestException:
            ok = False
        self.latencies.append(time.monotonic() - began)
        self.errors += not ok


class MemoryProbe:
    """Peak resident memory of one process, sampled from /proc every 100 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()

    def start(self) -> MemoryProbe:
        threading.Thread(target=self._loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.peak_mb = max(self.peak_mb, self._read("VmHWM"))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._read("VmRSS"))
            time.sleep(0.1)

    def _read(self, field: str) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def report(result: dict, args) -> None:
    counts, elapsed = result["counts"], result["elapsed"]
    emails = counts.get(("email", "sent"), 0)
    total_sent = sum(n for (_k, s), n in counts.items() if s == "sent")
    web = sorted(result["web"])
    print(f"subscribers: {args.subscribers} email + 10 webhook; worker threads: {args.threads}")
    for (kind, state), n in sorted(counts.items()):
        print(f"  {kind:9} {state:8} {n}")
    print(f"time to last delivery: {elapsed:.1f} s")
    print(
        f"emails per second: {emails / elapsed:.0f}; all deliveries per second: "
        f"{total_sent / elapsed:.0f}"
    )
    print(f"worker peak memory (RSS): {result['peak_rss_mb']:.0f} MB")
    if web:
        print(
            f"web during fan-out: {len(web)} requests, {result['web_errors']} errors, "
            f"p50 {statistics.median(web) * 1000:.0f} ms, "
            f"p99 {web[int(len(web) * 0.99) - 1] * 1000:.0f} ms, max {web[-1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
