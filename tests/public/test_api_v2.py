"""The Statuspage-compatible public JSON API v2."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import flask_babel
import pytest
from babel.support import NullTranslations
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from publisher.models import (
    Audience,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MessageState,
    utcnow,
)
from publisher.services import demo, maintenance

SCHEMAS = Path(__file__).parent.parent / "schemas" / "statuspage"
ENDPOINTS = {
    "/api/v2/summary.json": "summary.json",
    "/api/v2/status.json": "status.json",
    "/api/v2/components.json": "components.json",
    "/api/v2/incidents.json": "incidents.json",
    "/api/v2/incidents/unresolved.json": "incidents.json",
    "/api/v2/scheduled-maintenances.json": "scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json": "scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/active.json": "scheduled-maintenances.json",
}
DRAFT_BODY = "Draft: the root cause is an expired certificate"
INTERNAL_BODY = "Internal: customer Acme is escalating"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TIMESTAMP_KEYS = {
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "started_at",
    "display_at",
    "scheduled_for",
    "scheduled_until",
}


# ---------------------------------------------------------------- helpers


def _load_schemas() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.json"))}


SCHEMA_FILES = _load_schemas()
REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMA_FILES.values()
)


def assert_matches_schema(payload: dict, name: str) -> None:
    validator = Draft202012Validator(
        SCHEMA_FILES[name], registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]
    assert not errors, "\n".join(errors[:10])


def get_json(client, path: str, **headers) -> dict:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/json"
    return response.get_json()


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def walk(value):
    """Every (key, value) pair anywhere in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


SUMMARY = "/api/v2/summary.json"


@pytest.fixture
def page(make):
    """Demo-like data: grouped components, incidents active and resolved, maintenance."""
    now = utcnow()
    core, delivery = make.group("Core", position=0), make.group("Delivery", position=1)
    api = make.component("API", group=core, position=0, description="REST API")
    web = make.component("Web", group=core, position=1)
    email = make.component("Email", group=delivery, position=0)
    cdn = make.component("CDN", position=2, start_date=now - timedelta(days=30))
    active = make.incident(
        "Elevated API errors",
        Impact.MAJOR,
        components=[api, web],
        component_status=ComponentStatus.PARTIAL_OUTAGE,
        updates=[
            (IncidentStatus.INVESTIGATING, "We are investigating API errors."),
            (IncidentStatus.IDENTIFIED, "A bad deploy; rolling back."),
        ],
    )
    resolved = make.incident(
        "Slow email",
        Impact.MINOR,
        components=[email],
        started_at=now - timedelta(days=3),
        updates=[
            (IncidentStatus.INVESTIGATING, "Email is slow."),
            (IncidentStatus.RESOLVED, "Email is back to normal."),
        ],
    )
    upcoming = make.maintenance("Database upgrade", [api], now + timedelta(days=2))
    running = make.maintenance("CDN migration", [cdn], now - timedelta(minutes=30))
    finished = make.maintenance("Old cleanup", [web], now - timedelta(days=5), timedelta(hours=1))
    maintenance.run_due_transitions(utcnow())
    make.draft(active, body=DRAFT_BODY)
    make.draft(active, body=INTERNAL_BODY, audience=Audience.INTERNAL, state=MessageState.PUBLISHED)
    return SimpleNamespace(
        core=core,
        delivery=delivery,
        api=api,
        web=web,
        email=email,
        cdn=cdn,
        active=active,
        resolved=resolved,
        upcoming=upcoming,
        running=running,
        finished=finished,
    )


# ---------------------------------------------------------------- shape


def test_the_schemas_are_valid_draft_2020_12():
    for schema in SCHEMA_FILES.values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_matches_the_statuspage_schema(client, page, path):
    assert_matches_schema(get_json(client, path), ENDPOINTS[path])


def test_every_endpoint_matches_the_schema_with_the_full_demo_data(client):
    demo.load_demo(utcnow())
    for path, schema in ENDPOINTS.items():
        assert_matches_schema(get_json(client, path), schema)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_empty_page_still_matches_the_schema(client, path):
    assert_matches_schema(get_json(client, path), ENDPOINTS[path])


def test_every_response_names_the_page(client, page, app):
    for path in ENDPOINTS:
        body = get_json(client, path)
        assert body["page"] == {
            "id": "testpage0001",
            "name": "Example Status",
            "url": "http://status.test",
            "time_zone": app.config["PAGE_TIME_ZONE"],
            "updated_at": body["page"]["updated_at"],
        }


def test_timestamps_are_utc_with_milliseconds_everywhere(client, page):
    body = get_json(client, "/api/v2/summary.json")
    stamps = [v for k, v in walk(body) if k in TIMESTAMP_KEYS and v is not None]
    stamps.append(body["page"]["updated_at"])
    assert len(stamps) > 20
    assert all(TIMESTAMP.match(value) for value in stamps), stamps


# ---------------------------------------------------------------- status


def _degraded_component(make):
    make.component(status=ComponentStatus.DEGRADED_PERFORMANCE)


def _critical_incident(make):
    make.incident(impact=Impact.CRITICAL, components=[make.component()])


def _resolved_critical_incident(make):
    make.incident(
        impact=Impact.CRITICAL,
        updates=[(IncidentStatus.INVESTIGATING, "Down."), (IncidentStatus.RESOLVED, "Fixed.")],
    )


def _active_maintenance(make):
    make.maintenance(components=[make.component()], scheduled_for=utcnow() - timedelta(hours=1))
    maintenance.run_due_transitions(utcnow())


def _outage_during_maintenance(make):
    _active_maintenance(make)
    make.component("Web", status=ComponentStatus.PARTIAL_OUTAGE)


@pytest.mark.parametrize(
    ("arrange", "indicator", "description"),
    [
        (lambda make: make.component(), "none", "All Systems Operational"),
        (_degraded_component, "minor", "Minor Service Outage"),
        (_critical_incident, "critical", "Major System Outage"),
        (_resolved_critical_incident, "none", "All Systems Operational"),
        (_active_maintenance, "maintenance", "Service Under Maintenance"),
        (_outage_during_maintenance, "major", "Partial System Outage"),
    ],
)
def test_the_indicator_is_the_worst_of_components_unresolved_incidents_and_maintenance(
    client, make, arrange, indicator, description
):
    arrange(make)
    expected = {"indicator": indicator, "description": description}
    assert get_json(client, "/api/v2/status.json")["status"] == expected
    assert get_json(client, "/api/v2/summary.json")["status"] == expected


def test_status_strings_stay_english_whatever_the_visitor_language(client, page, monkeypatch):
    monkeypatch.setattr("publisher.web.i18n.SUPPORTED_LOCALES", ("en", "pl"))
    monkeypatch.setattr(flask_babel.Domain, "get_translations", _shouting_polish)
    polish = {"Accept-Language": "pl"}
    with flask_babel.force_locale("pl"):  # the stand-in catalogue is in place
        assert flask_babel.gettext("Operational") == "OPERATIONAL"
    for path in ENDPOINTS:
        assert get_json(client, path, **polish) == get_json(client, path)
    status = get_json(client, "/api/v2/status.json", **polish)["status"]
    assert status["description"] == "Partial System Outage"


class _Shouting(NullTranslations):
    def ugettext(self, message):
        return message.upper()


def _shouting_polish(self):
    """A stand-in Polish catalogue: every string upper-cased, so a leak is visible."""
    polish = str(flask_babel.get_locale()) == "pl"
    return _Shouting() if polish else NullTranslations()


# ---------------------------------------------------------------- components


def test_groups_appear_as_components_listing_their_members(client, page):
    components = get_json(client, "/api/v2/components.json")["components"]
    by_id = {c["id"]: c for c in components}
    core = by_id[page.core.public_id]
    assert core["group"] is True and core["group_id"] is None
    assert core["components"] == [page.api.public_id, page.web.public_id]
    assert core["status"] == "partial_outage"
    api = by_id[page.api.public_id]
    assert api["group"] is False and api["group_id"] == page.core.public_id
    assert "components" not in api
    assert names(components) == ["Core", "API", "Web", "Delivery", "Email", "CDN"]


def test_components_carry_the_page_id_and_a_start_date(client, page):
    components = get_json(client, "/api/v2/components.json")["components"]
    by_name = {c["name"]: c for c in components}
    assert {c["page_id"] for c in components} == {"testpage0001"}
    assert by_name["CDN"]["start_date"] == page.cdn.start_date.date().isoformat()
    assert by_name["CDN"]["group_id"] is None
    assert by_name["API"]["start_date"] is None
    assert by_name["API"]["description"] == "REST API"


def test_summary_lists_every_component_including_groups(client, page):
    summary = get_json(client, "/api/v2/summary.json")
    assert summary["components"] == get_json(client, "/api/v2/components.json")["components"]


# ---------------------------------------------------------------- incidents


def test_unresolved_lists_only_active_incidents(client, page):
    assert names(get_json(client, "/api/v2/incidents/unresolved.json")["incidents"]) == [
        "Elevated API errors"
    ]
    assert names(get_json(client, "/api/v2/summary.json")["incidents"]) == ["Elevated API errors"]


def test_incidents_lists_resolved_and_unresolved_incidents_but_no_maintenance(client, page):
    incidents = get_json(client, "/api/v2/incidents.json")["incidents"]
    assert names(incidents) == ["Elevated API errors", "Slow email"]
    resolved = incidents[1]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None


def test_incidents_lists_only_the_fifty_most_recent(client, page, make):
    make.past_incidents(60, newest_at=utcnow() - timedelta(days=30))
    incidents = get_json(client, "/api/v2/incidents.json")["incidents"]
    assert len(incidents) == 50
    assert incidents[0]["name"] == "Elevated API errors"
    started = [i["started_at"] for i in incidents]
    assert started == sorted(started, reverse=True)


def test_an_incident_has_an_absolute_shortlink_on_the_base_url(client, page):
    incident = get_json(client, "/api/v2/incidents/unresolved.json")["incidents"][0]
    assert incident["shortlink"] == f"http://status.test/incidents/{page.active.public_id}"
    assert incident["id"] == page.active.public_id
    assert incident["impact"] == "major"
    assert incident["page_id"] == "testpage0001"


def test_updates_are_newest_first_with_the_component_changes_they_announced(client, page):
    incident = get_json(client, "/api/v2/incidents/unresolved.json")["incidents"][0]
    identified, investigating = incident["incident_updates"]
    assert identified["status"] == "identified"
    assert identified["affected_components"] is None
    assert investigating["affected_components"] == [
        {
            "code": page.api.public_id,
            "name": "API",
            "old_status": "operational",
            "new_status": "partial_outage",
        },
        {
            "code": page.web.public_id,
            "name": "Web",
            "old_status": "operational",
            "new_status": "partial_outage",
        },
    ]
    assert {u["incident_id"] for u in incident["incident_updates"]} == {page.active.public_id}
    assert investigating["deliver_notifications"] is True
    assert investigating["custom_tweet"] is None and investigating["tweet_id"] is None


def test_incident_components_are_full_components_with_their_group(client, page):
    incident = get_json(client, "/api/v2/incidents/unresolved.json")["incidents"][0]
    assert names(incident["components"]) == ["API", "Web"]
    assert {c["group_id"] for c in incident["components"]} == {page.core.public_id}
    assert {c["status"] for c in incident["components"]} == {"partial_outage"}


def test_drafts_and_internal_messages_never_appear(client, page):
    for path in ENDPOINTS:
        text = client.get(path).get_data(as_text=True)
        assert DRAFT_BODY not in text and INTERNAL_BODY not in text, path
    incident = get_json(client, "/api/v2/incidents/unresolved.json")["incidents"][0]
    assert len(incident["incident_updates"]) == 2


# ---------------------------------------------------------------- maintenance


def test_upcoming_and_active_maintenance_are_listed_apart(client, page):
    upcoming = get_json(client, "/api/v2/scheduled-maintenances/upcoming.json")
    active = get_json(client, "/api/v2/scheduled-maintenances/active.json")
    assert names(upcoming["scheduled_maintenances"]) == ["Database upgrade"]
    assert names(active["scheduled_maintenances"]) == ["CDN migration"]
    assert active["scheduled_maintenances"][0]["status"] == "in_progress"
    assert upcoming["scheduled_maintenances"][0]["status"] == "scheduled"


def test_all_maintenance_includes_completed_and_summary_only_current(client, page):
    everything = get_json(client, "/api/v2/scheduled-maintenances.json")
    assert sorted(names(everything["scheduled_maintenances"])) == [
        "CDN migration",
        "Database upgrade",
        "Old cleanup",
    ]
    summary = get_json(client, "/api/v2/summary.json")
    assert names(summary["scheduled_maintenances"]) == ["CDN migration", "Database upgrade"]


def test_upcoming_maintenance_is_ordered_by_start(client, page, make):
    make.maintenance("Sooner", scheduled_for=utcnow() + timedelta(hours=5))
    upcoming = get_json(client, "/api/v2/scheduled-maintenances/upcoming.json")
    assert names(upcoming["scheduled_maintenances"]) == ["Sooner", "Database upgrade"]


def test_maintenance_has_its_window_and_updates(client, page):
    upcoming = get_json(client, "/api/v2/scheduled-maintenances/upcoming.json")
    item = upcoming["scheduled_maintenances"][0]
    assert item["scheduled_for"].startswith(page.upcoming.scheduled_for.strftime("%Y-%m-%dT%H"))
    assert item["scheduled_until"] > item["scheduled_for"]
    assert item["impact"] == "maintenance"
    assert [u["status"] for u in item["incident_updates"]] == ["scheduled"]
    assert names(item["components"]) == ["API"]


# ---------------------------------------------------------------- HTTP


@pytest.mark.parametrize("path", ENDPOINTS)
def test_responses_are_open_to_any_origin(client, page, path):
    response = client.get(path, headers={"Origin": "https://elsewhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_matching_etag_gets_304_and_keeps_cors(client, page):
    first = client.get("/api/v2/summary.json")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = client.get("/api/v2/summary.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["Access-Control-Allow-Origin"] == "*"


def test_the_cached_summary_changes_as_soon_as_an_update_is_published(client, page, make):
    first = client.get("/api/v2/summary.json")
    assert client.get("/api/v2/summary.json").data == first.data  # served from the cache
    make.incident("Checkout failing", Impact.CRITICAL)
    second = client.get("/api/v2/summary.json", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert "Checkout failing" in names(second.get_json()["incidents"])
    assert second.get_json()["status"]["indicator"] == "critical"


def test_only_get_and_head_are_allowed(client, page):
    assert client.head("/api/v2/status.json").status_code == 200
    for method in ("post", "put", "delete", "options"):
        response = getattr(client, method)("/api/v2/status.json")
        assert response.status_code == 405, method
        assert response.get_json()["status"] == 405


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v2/nothing-here.json")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


# ---------------------------------------------------------------- query counts


def test_summary_costs_the_same_queries_for_10_or_500_components(
    client, page, make, uncached_queries
):
    make.many_components(6)  # the page fixture has 4
    few = uncached_queries(SUMMARY)
    make.many_components(490, first_position=1000)
    assert uncached_queries(SUMMARY) == few
    components = get_json(client, "/api/v2/summary.json")["components"]
    assert len([c for c in components if not c["group"]]) == 500


def test_summary_costs_the_same_queries_for_10_or_5000_past_incidents(
    client, page, make, uncached_queries
):
    make.past_incidents(8, newest_at=utcnow() - timedelta(days=30))
    few = uncached_queries(SUMMARY)
    recent = uncached_queries("/api/v2/incidents.json")
    make.past_incidents(4990, newest_at=utcnow() - timedelta(days=31))
    assert uncached_queries(SUMMARY) == few
    assert uncached_queries("/api/v2/incidents.json") == recent


def test_a_cached_response_costs_one_query(client, page, count_queries):
    client.get("/api/v2/summary.json")
    with count_queries() as counter:
        assert client.get("/api/v2/summary.json").status_code == 200
    # The one query, the page version, goes through fastpath.py's own connection, outside
    # the engine: tests/public/test_fastpath.py counts it.
    assert counter.count == 0
