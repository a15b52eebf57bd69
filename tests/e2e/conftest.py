"""End-to-end: a real Herald (gunicorn on 127.0.0.1) driven by Debian's chromium through Playwright.

The server runs in its own processes on its own SQLite database, migrated and
loaded with the demo data exactly as `make run` does, so these tests see what a
visitor sees. Nothing is downloaded: the browser is the system's chromium
(`apt-get install chromium`) and axe-core comes from npm (tests/e2e/package.json).

Where chromium is missing the tests skip, unless HERALD_REQUIRE_BROWSER=1 (CI),
where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium")
AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("HERALD_E2E_ARTIFACTS", Path(__file__).parent / "artifacts"))
REQUIRED = os.environ.get("HERALD_REQUIRE_BROWSER") == "1"
PASSWORD = "e2e correct horse battery"

# Debian's chromium, as root in a closed network: no sandbox, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _missing(what: str) -> None:
    if REQUIRED:
        pytest.fail(f"{what} (HERALD_REQUIRE_BROWSER=1)")
    pytest.skip(what)


@dataclass
class Herald:
    """A running Herald: its address, its folder and its team."""

    url: str
    env: dict[str, str]
    accounts: dict[str, str] = field(default_factory=dict)  # role -> email

    def flask(self, *args: str) -> str:
        command = [sys.executable, "-m", "flask", "--app", "app", *args]
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_database(folder: Path) -> str:
    """SQLite in the server's folder; on a PostgreSQL run, a fresh database of its own beside
    the suite's (the suite empties its tables between tests)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{folder}/e2e.db"
    from sqlalchemy import create_engine, make_url, text

    own = make_url(url).set(database=f"{make_url(url).database}_e2e")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    return own.render_as_string(hide_password=False)


def _server_env(folder: Path, port: int) -> dict[str, str]:
    # The queue stays embedded: the suite's Redis database is not the server's to share.
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        HERALD_INSTANCE_DIR=str(folder),
        DATABASE_URL=_server_database(folder),
        SECRET_KEY="e2e-secret-key-not-for-production",
        BASE_URL=f"http://127.0.0.1:{port}",
        PAGE_NAME="Example Status",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Herald stopped at start:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/api/v2/status.json", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"Herald did not answer within 60 s:\n{log.read_text()[-3000:]}")


TEAM = {
    "admin": ("e2e-admin@example.com", "Erin Admin"),
    "incident_manager": ("e2e-im@example.com", "Ivo Manager"),
    "comms_manager": ("e2e-comms@example.com", "Cleo Comms"),
    "support_agent": ("e2e-support@example.com", "Suki Support"),
}


@pytest.fixture(scope="session")
def herald() -> Iterator[Herald]:
    """Herald as `make run` starts it: migrated, demo data, gunicorn, on a free loopback port."""
    folder = Path(tempfile.mkdtemp(prefix="herald-e2e-"))
    port = _free_port()
    server = Herald(url=f"http://127.0.0.1:{port}", env=_server_env(folder, port))
    server.flask("db", "upgrade")
    server.flask("herald", "demo", "--if-empty")
    for role, (email, name) in TEAM.items():
        server.flask("herald", "create-user", "--email", email, "--name", name,
                     "--role", role, "--password", PASSWORD)  # fmt: skip
        server.accounts[role] = email
    log = folder / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "app:app",
            ],
            cwd=ROOT,
            env=server.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(server.url, process, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        _missing(f"no chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("playwright is not installed (make install-dev)")
    expect.set_options(timeout=15_000)  # as actions wait (browser_context): a loaded machine
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def browser_context(browser, **options):
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)  # actions; expect() has its own (browser fixture)
    context.route(_not_loopback, lambda route: route.abort())  # nothing leaves the machine
    return context


def _not_loopback(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return url.startswith(("http://", "https://")) and host not in {"127.0.0.1", "[::1]"}


@pytest.fixture
def context(browser):
    context = browser_context(browser, viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def no_js_page(browser):
    context = browser_context(browser, viewport=DESKTOP, java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.fixture
def new_context(browser, herald):
    """Make more contexts (another person, another screen), signed in as `role` if given;
    all are closed after the test."""
    made = []

    def make(role: str | None = None, **options):
        if role:
            options["storage_state"] = signed_in_state(browser, herald, role)
        made.append(browser_context(browser, **{"viewport": DESKTOP, **options}))
        return made[-1]

    yield make
    for context in made:
        context.close()


_SIGNED_IN: dict[str, dict] = {}


def signed_in_state(browser, herald: Herald, role: str) -> dict:
    """Cookies of one form sign-in per role and test session (sign-in is rate-limited per
    client, and every browser here is the same client: 127.0.0.1)."""
    if role not in _SIGNED_IN:
        context = browser_context(browser, viewport=DESKTOP)
        try:
            sign_in(context.new_page(), herald, role)
            _SIGNED_IN[role] = context.storage_state()
        finally:
            context.close()
    return _SIGNED_IN[role]


def sign_in(page, herald: Herald, role: str) -> None:
    page.goto(herald.url + "/console/login")
    page.get_by_label("Email").fill(herald.accounts[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(herald.url + "/console/")


def screenshots(browser, url: str, name: str, sign_in_as: tuple[Herald, str] | None = None) -> None:
    """Save `url` at desktop and phone widths, in light and dark, under ARTIFACTS/name-*.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark"):
            options = {"viewport": viewport, "color_scheme": scheme}
            if sign_in_as:
                options["storage_state"] = signed_in_state(browser, *sign_in_as)
            context = browser_context(browser, **options)
            try:
                page = context.new_page()
                page.goto(url)
                target = ARTIFACTS / f"{name}-{width_name}-{scheme}.png"
                page.screenshot(path=target, full_page=True)
            finally:
                context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        _missing(f"axe-core is not installed at {AXE_JS}: npm ci --prefix tests/e2e")
    return AXE_JS.read_text()
