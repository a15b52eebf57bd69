"""The static export: the same bytes Herald serves, files that parse, and an atomic swap."""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest

from publisher.extensions import db
from publisher.jobs import export as export_job
from publisher.jobs import huey
from publisher.models import ComponentStatus, IncidentStatus, utcnow
from publisher.services import export
from publisher.services.updates import record_published_update

NONCE = re.compile(rb'nonce="[A-Za-z0-9_-]+"')


@pytest.fixture
def page(make):
    group = make.group("Core")
    api = make.component("API", group=group)
    make.component("Website", position=1)
    incident = make.incident(
        name="Elevated errors", components=[api], component_status="degraded_performance"
    )
    make.maintenance(name="Database upgrade", components=[api])
    api.test_incident = incident
    return api


def exported(tmp_path: Path, runner) -> Path:
    target = tmp_path / "site"
    result = runner.invoke(args=["herald", "export-static", str(target)])
    assert result.exit_code == 0, result.output
    assert "Exported" in result.output
    return target


def without_nonce(body: bytes) -> bytes:
    return NONCE.sub(b'nonce=""', body)


def test_every_exported_file_equals_what_herald_serves(app, client, page, tmp_path, runner):
    target = exported(tmp_path, runner)
    pairs = export.public_files(app)
    assert ("/api/v2/summary.json", "api/v2/summary.json") in pairs
    assert any(url.startswith("/incidents/") for url, _path in pairs)
    for url, relative in pairs:
        live = client.get(url)
        assert live.status_code == 200, url
        served = export._without_switcher(live.data)  # a static host cannot switch languages
        assert without_nonce((target / relative).read_bytes()) == without_nonce(served), url
    assert (target / "static" / "css" / "herald.css").is_file()
    assert export.exported_version(target) is not None


def test_exported_json_feeds_calendar_and_badges_parse(page, tmp_path, runner):
    target = exported(tmp_path, runner)
    for name in export.API_V2:
        json.loads((target / "api" / "v2" / name).read_text())
    summary = json.loads((target / "api/v2/summary.json").read_text())
    assert [i["name"] for i in summary["incidents"]] == ["Elevated errors"]
    for name in ("history.rss", "history.atom", f"components/{page.public_id}/history.atom"):
        parsed = feedparser.parse((target / name).read_bytes())
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))
        assert parsed.entries, name
    assert (target / "maintenance.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert b"<svg" in (target / "badge.svg").read_bytes()
    assert b"Elevated errors" in (target / "index.html").read_bytes()


def test_history_pages_link_to_folders_a_static_host_can_serve(app, make, tmp_path, runner):
    make.component("API")
    make.past_incidents(3, newest_at=utcnow() - timedelta(days=200), every=timedelta(days=20))
    target = exported(tmp_path, runner)
    first = (target / "history" / "index.html").read_bytes()
    assert b"/history?page=" not in first
    assert b'href="/history/page/2/"' in first
    assert (target / "history" / "page" / "2" / "index.html").is_file()


def test_a_second_export_replaces_the_first_through_one_link(page, tmp_path, runner):
    first = exported(tmp_path, runner)
    before = os.readlink(first)
    record_published_update(page.test_incident, IncidentStatus.RESOLVED, "Fixed at last.", utcnow())
    db.session.commit()
    second = exported(tmp_path, runner)
    assert first == second and first.is_symlink()
    assert os.readlink(second) != before
    assert b"Fixed at last." in (second / "api/v2/incidents.json").read_bytes()
    versions = [p.name for p in (tmp_path / ".site-versions").iterdir()]
    assert len(versions) <= export.KEEP_VERSIONS


def test_a_folder_with_files_is_never_overwritten(page, tmp_path, runner):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "mine.txt").write_text("keep me")
    result = runner.invoke(args=["herald", "export-static", str(tmp_path / "site")])
    assert result.exit_code != 0
    assert "not a link made by a Herald export" in result.output
    assert (tmp_path / "site" / "mine.txt").read_text() == "keep me"


def test_a_reader_never_sees_a_half_written_export(app, page, tmp_path):
    target = tmp_path / "site"
    export.export_static(app, target)
    expected = {relative for _url, relative in export.public_files(app)}
    problems: list[str] = []
    stop = threading.Event()

    def read_continuously():
        while not stop.is_set():
            root = Path(os.path.realpath(target))  # what a web server resolves per request
            try:
                missing = [r for r in expected if not (root / r).is_file()]
                version = (root / export.VERSION_FILE).read_text()
            except OSError as error:  # a tree removed under a reader counts as a failure
                problems.append(f"{root}: {error}")
                continue
            if missing or not version:
                problems.append(f"{root}: missing {missing[:3]}")

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for _ in range(6):
            export.export_static(app, target)
    finally:
        stop.set()
        reader.join()
    assert problems == []


def test_a_public_change_re_exports_into_export_dir(app, make, tmp_path):
    target = tmp_path / "live"
    app.config["EXPORT_DIR"] = str(target)
    api = make.component("API")  # a public change: the job exports (the queue runs inline)
    assert export.exported_version(target) is not None
    incident = make.incident(name="Checkout failing", components=[api])
    record_published_update(incident, IncidentStatus.IDENTIFIED, "Found the cause.", utcnow())
    api.status = ComponentStatus.PARTIAL_OUTAGE
    db.session.commit()
    summary = json.loads((target / "api/v2/summary.json").read_text())
    assert summary["incidents"][0]["incident_updates"][0]["body"] == "Found the cause."
    assert summary["components"][0]["status"] == "partial_outage"
    assert export.exported_version(target) == export_job.page_state().version


def test_an_export_asked_for_while_one_runs_is_done_by_the_running_one(app, make, tmp_path):
    target = tmp_path / "live"
    app.config["EXPORT_DIR"] = str(target)
    make.component("API")
    exported_before = export.exported_version(target)
    with huey.lock_task(export_job.LOCK_NAME):  # as if another worker were exporting
        make.component("Website")
        assert export.exported_version(target) == exported_before
        assert huey.get(export_job.PENDING_KEY, peek=True) is True
    export_job.export_site.call_local()  # what the running export does when it finishes
    assert export.exported_version(target) == export_job.page_state().version
    assert huey.get(export_job.PENDING_KEY, peek=True) is None
