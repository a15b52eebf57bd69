"""The automation API (/api/v1) answers bad input with 400, 404, 413 or 422, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.models import Role

# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data", [b"", b"not json", b"[1, 2]", b'"a string"', b"null", b"\xff", b"[" * 100_000]
)
def test_a_body_that_is_not_a_json_object_is_a_400_with_a_message(login, data):
    response = login(Role.COMMS_MANAGER)("POST", "/incidents", data=data)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "Send a JSON object as the request body.",
        "status": 400,
    }


def test_a_body_over_a_megabyte_is_refused_with_a_413(login, api_component):
    admin = login(Role.ADMIN)
    resolve = f"/incidents/{admin.declare(api_component)['id']}/resolve"
    body = b'{"name": "' + b"x" * 1_100_000 + b'"}'
    for path in ("/incidents", resolve):
        response = admin("POST", path, data=body)
        assert response.status_code == 413 and response.get_json()["error"], path


BAD_DECLARATIONS = [
    ({"name": 5}, "name"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 301}, "name"),
    ({"name": "x" * 50_000}, "name"),
    ({"name": "nul \x00 byte"}, "name"),
    ({"name": "lone \ud800 surrogate"}, "name"),
    ({"impact": ["major"]}, "impact"),
    ({"impact": "maintenance"}, "impact"),
    ({"impact": {"a": 1}}, "impact"),
    ({"components": "API"}, "components"),
    ({"components": None}, "components"),
    ({"components": [1]}, "components[0]"),
    ({"components": [["id", "status"]]}, "components[0]"),
    ({"components": [{"id": 5, "status": "major_outage"}]}, "components[0].id"),
    ({"components": [{"id": "nosuchthing1", "status": "major_outage"}]}, "components[0].id"),
    ({"components": [{"id": "x" * 5000, "status": "major_outage"}]}, "components[0].id"),
    ({"components": [{"status": "major_outage"}]}, "components[0].id"),
    ({"incident_manager_email": "nobody@example.test"}, "incident_manager_email"),
    ({"incident_manager_email": 42}, "incident_manager_email"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("change", "field"), BAD_DECLARATIONS)
def test_a_wrong_or_missing_field_is_a_422_naming_it(login, api_component, change, field):
    body = {
        "name": "Outage",
        "impact": "major",
        "components": [{"id": api_component.public_id, "status": "major_outage"}],
    } | change
    response = login(Role.COMMS_MANAGER)("POST", "/incidents", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field and response.get_json()["error"]


def test_a_bad_status_in_a_component_list_is_a_422_naming_the_item(login, api_component):
    component = {"id": api_component.public_id, "status": "on_fire"}
    response = login(Role.COMMS_MANAGER)(
        "POST", "/incidents", json={"name": "Outage", "impact": "major", "components": [component]}
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "components[0].status"
    assert "major_outage" in response.get_json()["error"]


BAD_WRITES = [
    ("PATCH", "", {"status": 3}, "status"),
    ("PATCH", "", {"status": "on_fire"}, "status"),
    ("PATCH", "", {"components": [{"id": None}]}, "components[0].id"),
    ("POST", "/resolve", {"restore_components": "yes"}, "restore_components"),
    ("POST", "/roster", {"role": "scribe"}, "user_email"),
    ("POST", "/roster", {"role": "overlord", "user_email": "admin@example.test"}, "role"),
    ("POST", "/roster", {"role": ["scribe"], "user_email": "admin@example.test"}, "role"),
    ("POST", "/roster", {"role": "ad_hoc", "user_email": "admin@example.test"}, "label"),
    (
        "POST",
        "/roster",
        {"role": "scribe", "user_email": "admin@example.test", "label": "x" * 121},
        "label",
    ),
    ("POST", "/timeline", {"body": ""}, "body"),
    ("POST", "/timeline", {"body": "x" * 5001}, "body"),
    ("POST", "/timeline", {"body": {"text": "hi"}}, "body"),
    ("POST", "/timeline", {"body": "hi", "kind": "gossip"}, "kind"),
    ("POST", "/timeline", {"body": "hi", "at": "yesterday"}, "at"),
    ("POST", "/timeline", {"body": "hi", "at": "2030-01-01T10:00:00"}, "at"),
    ("POST", "/timeline", {"body": "hi", "at": 1700000000}, "at"),
    ("POST", "/timeline", {"body": "hi", "at": "0001-01-01T00:00:00+05:00"}, "at"),
]


@pytest.mark.parametrize(("method", "suffix", "body", "field"), BAD_WRITES)
def test_bad_incident_changes_are_422_naming_the_field(
    login, api_component, method, suffix, body, field
):
    admin = login(Role.ADMIN)
    incident = admin.declare(api_component)["id"]
    response = admin(method, f"/incidents/{incident}{suffix}", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field


def test_a_refused_change_leaves_the_incident_as_it_was(login, api_component):
    im = login(Role.INCIDENT_MANAGER)
    incident = im.declare(api_component)
    path = f"/incidents/{incident['id']}"
    response = im("PATCH", path, json={"name": "Renamed", "impact": "apocalyptic"})
    assert response.status_code == 422
    assert im("GET", path).get_json()["name"] == incident["name"]


def test_bad_query_parameters_are_422(login):
    comms = login(Role.COMMS_MANAGER)
    assert comms("GET", "/incidents?state=closed").get_json()["field"] == "state"
    # "\u0661" is an Arabic-Indic one: str.isdigit() accepts it, int() too, we do not.
    for limit in ("0", "501", "ten", "-1", "\u0661"):
        assert comms("GET", f"/incidents?limit={limit}").status_code == 422, limit


def test_unknown_ids_are_404(login, api_component):
    admin = login(Role.ADMIN)
    incident = admin.declare(api_component)["id"]
    requests = [
        ("GET", "/incidents/nosuchthing1", None),
        ("GET", "/incidents/%00", None),
        ("GET", f"/incidents/{'x' * 500}/timeline", None),
        ("PATCH", "/incidents/nosuchthing1", {"status": "identified"}),
        ("POST", "/incidents/nosuchthing1/resolve", None),
        ("POST", "/incidents/nosuchthing1/timeline", {"body": "hi"}),
        ("DELETE", f"/incidents/{incident}/roster/999999", None),
        ("DELETE", f"/incidents/{incident}/roster/abc", None),
        ("PATCH", "/components/nosuchthing1", {"status": "major_outage"}),
        ("PATCH", f"/maintenance/{incident}", {"status": "in_progress"}),
        ("GET", "/nothing-here", None),
    ]
    for method, path, body in requests:
        response = admin(method, path, json=body)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]


def test_an_incident_cannot_be_changed_as_if_it_were_maintenance_or_the_reverse(login, make):
    admin = login(Role.ADMIN)
    item = make.maintenance()
    response = admin("PATCH", f"/incidents/{item.public_id}", json={"status": "identified"})
    assert response.status_code == 422
    assert admin("GET", f"/incidents/{item.public_id}").get_json()["kind"] == "maintenance"


# ---------------------------------------------------------------- never a 500

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
WRITE_FIELDS = {
    ("POST", "/incidents"): ["name", "impact", "components", "incident_manager_email"],
    ("PATCH", "/incidents/{id}"): ["name", "status", "impact", "components"],
    ("POST", "/incidents/{id}/resolve"): ["restore_components"],
    ("POST", "/incidents/{id}/roster"): ["role", "user_email", "label"],
    ("POST", "/incidents/{id}/timeline"): ["body", "kind", "at"],
    ("PATCH", "/components/{component}"): ["status"],
    ("POST", "/maintenance"): ["name", "components", "scheduled_for", "scheduled_until",
                               "auto_transition"],
}  # fmt: skip


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_no_body_makes_the_api_fail_with_a_500(login, api_component, data):
    admin = login(Role.ADMIN)
    incident = admin.declare(api_component)["id"]
    method, template = data.draw(st.sampled_from(sorted(WRITE_FIELDS)))
    fields = WRITE_FIELDS[(method, template)]
    body = data.draw(st.dictionaries(st.sampled_from(fields), JSON_VALUES) | JSON_VALUES)
    path = template.format(id=incident, component=api_component.public_id)
    response = admin(method, path, json=body)
    assert response.status_code < 500, (method, path, body, response.get_json())
