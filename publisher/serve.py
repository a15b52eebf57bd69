"""Run the production web server and the job worker together (what `make run` starts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def web_command(port: int, workers: int) -> list[str]:
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


def run(port: int, workers: int, cwd: Path) -> int:
    """Start both processes; when either stops or we are interrupted, stop the other."""
    children = [
        subprocess.Popen(web_command(port, workers), cwd=cwd),
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
