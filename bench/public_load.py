"""Public load benchmark: Herald beside nginx serving the static export of the same page.

    .venv/bin/python bench/public_load.py                        # granian (the default)
    .venv/bin/python bench/public_load.py --servers granian,gunicorn --duration 10

Needs `wrk` and `nginx` on PATH (Debian: apt-get install wrk nginx-light). Loopback
only; every run is bounded (--duration seconds per URL and server). For `/`,
`/api/v2/summary.json` and `/history.atom` at --connections connections it prints
requests per second, p50 and p99 latency and errors for nginx (the physical limit
of this machine) and for Herald as `make run` starts it, and Herald's throughput as
a share of nginx's. Meanwhile a publisher thread publishes an update every second
through /api/v1 and, as soon as each publish has returned, reads the three URLs and
counts any answer that does not show the new update yet (stale reads; expect 0).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
URLS = ("/", "/api/v2/summary.json", "/history.atom")
GOAL_SHARE, GOAL_P99_MS = 0.25, 50.0
NGINX_CONF = """
worker_processes auto;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  sendfile on; tcp_nopush on;
  types {{ text/html html; application/json json; application/atom+xml atom;
          application/rss+xml rss; image/svg+xml svg; text/calendar ics; text/css css;
          text/javascript js; }}
  server {{
    listen 127.0.0.1:{port};
    root {site};
    location / {{ try_files $uri $uri/index.html =404; }}
  }}
}}
"""


@dataclass
class Result:
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0


@dataclass
class Freshness:
    publishes: int = 0
    reads: int = 0
    stale: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def main() -> None:
    args = parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install wrk nginx-light)")
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="herald-load-"))
        work.chmod(0o755)  # nginx's workers (another user) read the export in it
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        env = environment(work, args)
        prepare(env)
        token = flask_out(env, "herald", "create-token", "--email", "bench-im@example.com")
        flask_out(env, "herald", "export-static", str(work / "site"))
        print(load_note())
        with ExitStack() as nginx:
            nginx_port = start_nginx(nginx, work)
            table = {url: {"nginx": measure(nginx_port, url, args)} for url in URLS}
        fresh = {}
        for server in args.servers:
            with ExitStack() as herald:  # one server at a time, stopped before the next
                port = start_herald(herald, env, server)
                fresh[server] = Freshness()
                publisher = Publisher(port, token.strip(), fresh[server])
                publisher.start()
                for url in URLS:
                    table[url][server] = measure(port, url, args)
                publisher.stop()
        report(table, fresh, args)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="granian", help="comma-separated: granian,gunicorn")
    parser.add_argument("--duration", type=int, default=10, help="seconds per URL and server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=None, help="web workers (default: cores)")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()
    args.servers = [s for s in args.servers.split(",") if s]
    return args


def environment(work: Path, args) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "REDIS_URL"))}
    env.update(
        HERALD_INSTANCE_DIR=str(work),
        DATABASE_URL=args.database_url or f"sqlite:///{work}/herald.db",
        LOG_LEVEL="WARNING",
        PORT=str(free_port()),
    )
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    return env


def prepare(env) -> None:
    """What `make run` does before serving, plus an incident manager for the publisher."""
    flask_out(env, "db", "upgrade")
    flask_out(env, "herald", "demo", "--if-empty")
    flask_out(
        env, "herald", "create-user", "--email", "bench-im@example.com", "--name", "Bench",
        "--role", "incident_manager", "--password", "bench-password-1234",
    )  # fmt: skip


def flask_out(env, *args) -> str:
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def start_nginx(stack: ExitStack, work: Path) -> int:
    port = free_port()
    (work / "tmp").mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work, port=port, site=os.path.realpath(work / "site")))
    process = subprocess.Popen(["nginx", "-c", str(conf)], stderr=subprocess.DEVNULL)
    stack.callback(stop, process)
    wait_for_port(port)
    return port


def start_herald(stack: ExitStack, env, server: str) -> int:
    """`flask herald serve`, exactly what `make run` ends with, on a free port."""
    port = free_port()
    log = open(Path(env["HERALD_INSTANCE_DIR"]) / f"serve-{server}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "herald", "serve"],
        cwd=ROOT,
        env={**env, "PORT": str(port), "WEB_SERVER": server},
        stdout=log,
        stderr=log,
    )
    stack.callback(stop, process)
    wait_for_port(port)
    for url in URLS:  # warm each worker's cache a little before measuring
        for _ in range(20):
            requests.get(f"http://127.0.0.1:{port}{url}", timeout=120)
    return port


def measure(port: int, url: str, args) -> Result:
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--latency", "--timeout", "5s", f"http://127.0.0.1:{port}{url}",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60)
    return parse_wrk(out.stdout)


def parse_wrk(text: str) -> Result:
    result = Result()
    if found := re.search(r"Requests/sec:\s+([\d.]+)", text):
        result.rps = float(found.group(1))
    result.p50_ms = _latency(text, "50%")
    result.p99_ms = _latency(text, "99%")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if errors:
        result.errors += sum(int(n) for n in errors.groups())
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        result.errors += int(non_2xx.group(1))
    return result


def _latency(text: str, percentile: str) -> float:
    found = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if not found:
        return float("nan")
    value, unit = float(found.group(1)), found.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


class Publisher(threading.Thread):
    """Publishes an update every second; after each, the three URLs must show it."""

    def __init__(self, port: int, token: str, fresh: Freshness) -> None:
        super().__init__(daemon=True)
        self.base = f"http://127.0.0.1:{port}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.fresh = fresh
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)

    def run(self) -> None:
        incident = self._declare()
        n = 0
        while not self.stopping.wait(1.0):
            n += 1
            marker = f"Bench update {n} {time.time_ns()}"
            try:
                self._publish(incident, marker)
            except (requests.RequestException, AssertionError) as error:
                self.fresh.failures.append(f"publish {n}: {error}")
                continue
            self.fresh.publishes += 1
            self._check(marker)

    def _declare(self) -> str:
        response = self.http.post(
            f"{self.base}/api/v1/incidents",
            json={"name": "Benchmark incident", "impact": "minor", "components": []},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def _publish(self, incident: str, marker: str) -> None:
        draft = self.http.post(
            f"{self.base}/api/v1/incidents/{incident}/messages",
            json={"incident_status": "investigating", "body": marker},
            timeout=30,
        )
        assert draft.status_code == 201, draft.text
        published = self.http.post(
            f"{self.base}/api/v1/messages/{draft.json()['id']}/emergency-publish",
            json={"reason": "load benchmark: publishing every second"},
            timeout=30,
        )
        assert published.status_code == 200, published.text

    def _check(self, marker: str) -> None:
        for url in URLS:  # anonymous reads, as a visitor's browser makes them
            self.fresh.reads += 1
            try:
                body = requests.get(f"{self.base}{url}", timeout=30).text
            except requests.RequestException as error:
                self.fresh.failures.append(f"read {url}: {error}")
                continue
            if marker not in body:
                self.fresh.stale.append(f"{url} without {marker!r}")


def report(table: dict, fresh: dict, args) -> None:
    servers = args.servers
    print(f"\n{args.connections} connections, {args.duration} s per URL, wrk -t{args.threads}")
    heads = ("req/s", "p50 ms", "p99 ms", "errors", "share")
    print(f"{'URL':24} {'server':9} " + " ".join(f"{h:>8}" for h in heads))
    met = True
    for url in URLS:
        base = table[url]["nginx"]
        for name in ("nginx", *servers):
            r = table[url][name]
            share = r.rps / base.rps if base.rps else 0.0
            print(
                f"{url:24} {name:9} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
                f"{r.errors:7d} {share:7.1%}"
            )
            if name == servers[0]:
                met &= share >= GOAL_SHARE and r.p99_ms < GOAL_P99_MS and r.errors == 0
    for server, f in fresh.items():
        print(
            f"freshness ({server}): {f.publishes} publishes, {f.reads} reads after them, "
            f"{len(f.stale)} stale, {len(f.failures)} failures"
        )
        for line in (f.stale + f.failures)[:10]:
            print(f"  {line}")
        met &= not f.stale and not f.failures
    print(f"goal (>= {GOAL_SHARE:.0%} of nginx, p99 < {GOAL_P99_MS:.0f} ms, no errors, no stale "
          f"reads) for {servers[0]}: {'met' if met else 'NOT met'}")  # fmt: skip
    print(load_note())


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
