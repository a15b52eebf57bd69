"""Run the production web server and the job worker together (what `make run` starts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Chosen by bench/public_load.py (README, Benchmarks): granian answers the cached public
# URLs several times faster than gunicorn's sync workers on the same cores.
SERVERS = ("granian", "gunicorn")
DEFAULT_SERVER = "granian"
# Threads per granian worker: the cached answers are short; a few let I/O waits overlap.
BLOCKING_THREADS = 4


def web_command(port: int, workers: int, server: str = DEFAULT_SERVER) -> list[str]:
    if server == "granian":
        return granian_command(port, workers)
    return gunicorn_command(port, workers)


def granian_command(port: int, workers: int) -> list[str]:
    """Granian (Rust HTTP, keep-alive) running the WSGI app; each worker runs a few threads."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(BLOCKING_THREADS),
        "--no-ws",
        "--respawn-failed-workers",
        "--access-log",
        "--workers-kill-timeout",
        "10",
        "app:app",
    ]


def gunicorn_command(port: int, workers: int) -> list[str]:
    """gunicorn with sync workers, one request at a time per process."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
        "app:app",
    ]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", "herald", "worker"]


def run(port: int, workers: int, cwd: Path, server: str = DEFAULT_SERVER) -> int:
    """Start both processes; when either stops or we are interrupted, stop the other."""
    children = [
        subprocess.Popen(web_command(port, workers, server), cwd=cwd),
        subprocess.Popen(worker_command(), cwd=cwd),
    ]
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    return _stop_all(children, interrupted=stopping)


def _stop_all(children: list[subprocess.Popen], interrupted: bool) -> int:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    codes = [child.returncode for child in children]
    return 0 if interrupted else next((c for c in codes if c), 1)


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1))


def default_server() -> str:
    """WEB_SERVER picks the HTTP server (granian or gunicorn); granian when unset."""
    server = os.environ.get("WEB_SERVER") or DEFAULT_SERVER
    if server not in SERVERS:
        raise ValueError(f"WEB_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")
    return server
