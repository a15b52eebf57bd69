"""The database goes away while the public page is under load, then comes back.

A real HTTP server serves a second app whose database connection the test cuts
(a TCP proxy on PostgreSQL, the file made unopenable on SQLite). A few threads
keep fetching the page and the JSON summary meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest
import requests

from publisher.extensions import db
from publisher.models import Role
from publisher.services import incidents, tokens

from ..staff import PASSWORD, make_user
from .outage import database_outage, outage_app, serving

LOADERS = 3
MAX_REQUESTS = 300  # per loader: the load is bounded even if the test stalls
STALE = "Herald-Stale"
NOTICE = "We cannot refresh this page just now"


@dataclass(frozen=True)
class Seen:
    phase: str
    path: str
    status: int
    stale: bool
    text: str


class Load:
    """Threads fetching `/` and the summary JSON until stopped; every answer is kept."""

    def __init__(self, base: str) -> None:
        self.base, self.phase = base, "before"
        self.seen: list[Seen] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(LOADERS)]

    def _run(self) -> None:
        with requests.Session() as session:
            for n in range(MAX_REQUESTS):
                if self.stop.is_set():
                    return
                path = "/" if n % 2 else "/api/v2/summary.json"
                phase = self.phase
                response = session.get(self.base + path, timeout=20)
                if self.phase != phase:
                    phase = f"{phase}-{self.phase}"  # the cut or restore came mid-request
                self.seen.append(Seen(phase, path, response.status_code,
                                      STALE in response.headers, response.text))  # fmt: skip
                time.sleep(0.02)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def wait_until(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def seeded(app, make):
    api = make.component("Public API")
    incident = make.incident("Slow checkout", components=[api])
    staff = make_user(Role.INCIDENT_MANAGER)
    token = tokens.create_token(staff, "outage")[1]
    db.session.commit()
    return {"component": api, "incident": incident, "staff": staff, "token": token}


def test_while_the_database_is_down_visitors_get_the_last_good_page_and_staff_a_clear_503(
    app, seeded, tmp_path
):
    """Database outage under load: no 500, the cached page and JSON with a notice, then recovery."""
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    with database_outage(database, tmp_path) as outage, serving(outage_app(outage)) as base:
        console = requests.Session()
        signed_in = console.post(
            base + "/console/login",
            allow_redirects=False,
            data={"email": seeded["staff"].email, "password": PASSWORD},
        )
        assert signed_in.status_code == 302
        fresh_json = requests.get(base + "/api/v2/summary.json", timeout=10).json()
        assert requests.get(base + "/", timeout=10).status_code == 200
        with Load(base) as load:
            time.sleep(0.5)
            load.phase = "down"  # before the cut: an answer in flight is never taken as "before"
            outage.cut()
            assert wait_until(lambda: any(s.stale for s in load.seen if s.phase == "down"))
            time.sleep(1.0)
            staff = _staff_actions_during_outage(base, console, seeded)
            stale_json = requests.get(base + "/api/v2/summary.json", timeout=10)
            load.phase = "restoring"
            outage.restore()
            assert wait_until(lambda: _fresh(base)), "the page did not come back"
            load.phase = "after"
            time.sleep(0.5)
        _publish_a_change(seeded)
        after = requests.get(base + "/api/v2/summary.json", timeout=10)
        resumed = console.get(base + "/console/", allow_redirects=False)

    statuses = Counter((s.phase, s.status) for s in load.seen)
    assert all(s.status < 500 for s in load.seen), statuses
    down = [s for s in load.seen if s.phase == "down"]
    assert down and all(s.status == 200 for s in down), statuses
    stale_pages = [s for s in down if s.stale and s.path == "/"]
    assert stale_pages and all(NOTICE in s.text for s in stale_pages)
    assert stale_json.headers[STALE] and stale_json.json() == fresh_json
    assert not any(s.stale for s in load.seen if s.phase in ("before", "after"))
    assert (
        staff["console"].status_code == 503
        and "database cannot be reached" in staff["console"].text
    )
    assert staff["api"].status_code == 503
    assert "database cannot be reached" in staff["api"].json()["error"]
    assert staff["uncached"].status_code == 503
    component = after.json()["components"][0]
    assert STALE not in after.headers and component["status"] == "major_outage"
    assert resumed.status_code == 200  # the session survived the outage


def _staff_actions_during_outage(base, console, seeded) -> dict:
    incident = seeded["incident"].public_id
    headers = {"Authorization": f"Bearer {seeded['token']}"}
    return {
        "console": console.post(
            f"{base}/console/incidents/{incident}/resolve",
            data={"body": "Fixed."},
            allow_redirects=False,
        ),
        "api": requests.get(f"{base}/api/v1/incidents", headers=headers, timeout=10),
        "uncached": requests.get(f"{base}/history.rss", timeout=10),  # never fetched before
    }


def _fresh(base: str) -> bool:
    try:
        response = requests.get(base + "/api/v2/summary.json", timeout=10)
    except requests.RequestException:  # still coming back
        return False
    return response.status_code == 200 and STALE not in response.headers


def _publish_a_change(seeded) -> None:
    db.session.expire_all()
    incidents.set_component_status(seeded["staff"], seeded["component"], "major_outage")


def test_the_error_page_for_an_outage_is_not_a_500(app, seeded, tmp_path):
    """A request that needs the database while it is unreachable gets 503 and a message."""
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    with database_outage(database, tmp_path) as outage:
        down = outage_app(outage)
        outage.cut()
        try:
            client = down.test_client()
            page = client.get(f"/incidents/{seeded['incident'].public_id}")
            login = client.post("/console/login", data={"email": "a@b.c", "password": "x"})
        finally:
            outage.restore()
    assert page.status_code == 503 and "database cannot be reached" in page.get_data(as_text=True)
    assert login.status_code == 503
    assert page.headers["Retry-After"] == "30"
