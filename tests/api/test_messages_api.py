"""The composer through /api/v1: drafting, review bound to a hash, publishing, templates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from publisher.extensions import db
from publisher.models import Channel, ChannelKind, Delivery, DeliveryState, Role, utcnow
from publisher.services import composer

IM, CM, SL = Role.INCIDENT_MANAGER, Role.COMMS_MANAGER, Role.SOCIAL_LEAD


@pytest.fixture
def incident(login, api_component) -> str:
    return login(IM).declare(api_component)["id"]


def draft(caller, incident: str, **fields) -> dict:
    body = {"incident_status": "identified", "body": "We found the cause."} | fields
    response = caller("POST", f"/incidents/{incident}/messages", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def approved(login, incident: str) -> dict:
    """A message the comms manager wrote and the incident manager approved."""
    message = draft(login(CM), incident)
    path = f"/messages/{message['id']}"
    submitted = login(CM)("POST", path + "/submit").get_json()
    answer = login(IM)("POST", path + "/approve", json={"expected_hash": submitted["content_hash"]})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


# ---------------------------------------------------------------- the whole flow


def test_a_script_drafts_from_a_template_and_another_person_approves_and_publishes(
    app, login, client, api_component, incident
):
    app.config["DELIVERY_AUTOSTART"] = False  # keep the rows pending: no worker sends them here
    db.session.add(Channel(kind=ChannelKind.X, name="@x"))
    db.session.commit()
    comms, im = login(CM), login(IM)
    template = comms(
        "POST",
        "/templates",
        json={
            "name": "Identified",
            "incident_status": "identified",
            "body": "We found why {affected_components} fails in {incident_name}.",
        },
    ).get_json()
    created = comms(
        "POST",
        f"/incidents/{incident}/messages",
        json={
            "template_id": template["id"],
            "components": [{"id": api_component.public_id, "status": "major_outage"}],
        },
    )
    assert created.status_code == 201
    message = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/messages/{message['id']}")
    assert message["body"] == "We found why API fails in Elevated API errors."
    assert message["state"] == "draft" and message["incident_status"] == "identified"
    assert message["variants"]["x"]["limit"] == 280 and message["variants"]["x"]["ok"]
    path = f"/messages/{message['id']}"
    assert comms("POST", path + "/submit").get_json()["state"] == "in_review"
    read = im("GET", path).get_json()
    approval = im("POST", path + "/approve", json={"expected_hash": read["content_hash"]})
    assert approval.get_json()["approved_by"]["email"] == im.user.email
    published = comms("POST", path + "/publish", json={"next_update_in_minutes": 30})
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["state"] == "published"
    assert published.get_json()["published_at"] is not None
    actions = [entry["action"] for entry in published.get_json()["review"]]
    assert actions == ["created", "submitted", "approved", "published"]
    page = client.get("/api/v2/incidents.json").get_json()["incidents"][0]
    assert page["status"] == "identified"
    assert page["incident_updates"][0]["body"] == message["body"]
    deliveries = db.session.scalars(select(Delivery)).all()
    assert [(d.state, d.channel.name) for d in deliveries] == [(DeliveryState.PENDING, "@x")]


def test_the_incidents_messages_are_listed_newest_first(login, incident):
    comms = login(CM)
    first, second = draft(comms, incident), draft(comms, incident, body="More news.")
    listed = comms("GET", f"/incidents/{incident}/messages").get_json()
    ids = [m["id"] for m in listed]
    assert ids.index(second["id"]) < ids.index(first["id"])


def test_an_edit_after_approval_voids_it_and_publishing_is_refused(login, incident):
    message = approved(login, incident)
    path = f"/messages/{message['id']}"
    edited = login(CM)("PATCH", path, json={"body": "We found the cause: a bad deploy."})
    assert edited.status_code == 200
    assert edited.get_json()["state"] == "draft" and edited.get_json()["approved_by"] is None
    assert edited.get_json()["version"] > message["version"]
    refused = login(CM)("POST", path + "/publish")
    assert refused.status_code == 409 and refused.get_json()["error"]


def test_a_stale_hash_cannot_approve(login, incident):
    comms, im = login(CM), login(IM)
    message = draft(comms, incident)
    path = f"/messages/{message['id']}"
    stale = comms("POST", path + "/submit").get_json()["content_hash"]
    comms("PATCH", path, json={"body": "Changed after the reviewer read it."})
    comms("POST", path + "/submit")
    response = im("POST", path + "/approve", json={"expected_hash": stale})
    assert response.status_code == 409
    assert "changed since you read it" in response.get_json()["error"]


def test_a_stale_expected_version_is_a_conflict(login, incident):
    comms = login(CM)
    message = draft(comms, incident)
    path = f"/messages/{message['id']}"
    comms("PATCH", path, json={"body": "A first edit."})
    response = comms("PATCH", path, json={"body": "Mine.", "expected_version": message["version"]})
    assert response.status_code == 409
    assert comms("GET", path).get_json()["body"] == "A first edit."


def test_the_author_cannot_approve_their_own_update(login, incident):
    im = login(IM)
    message = draft(im, incident)
    path = f"/messages/{message['id']}"
    digest = im("POST", path + "/submit").get_json()["content_hash"]
    response = im("POST", path + "/approve", json={"expected_hash": digest})
    assert response.status_code == 403
    assert "someone else must approve" in response.get_json()["error"]


def test_publishing_twice_is_a_conflict(login, incident):
    path = f"/messages/{approved(login, incident)['id']}/publish"
    assert login(CM)("POST", path).status_code == 200
    second = login(CM)("POST", path)
    assert second.status_code == 409 and second.get_json()["error"]


def test_changes_can_be_requested_with_a_comment(login, incident):
    message = draft(login(CM), incident)
    path = f"/messages/{message['id']}"
    login(CM)("POST", path + "/submit", json={"comment": "Ready?"})
    sent_back = login(IM)("POST", path + "/request-changes", json={"comment": "Say when."})
    assert sent_back.get_json()["state"] == "changes_requested"
    assert sent_back.get_json()["review"][-1]["comment"] == "Say when."
    comment = login(SL)("POST", path + "/comments", json={"comment": "X text looks fine."})
    assert comment.status_code == 201
    assert comment.get_json()["action"] == "commented"
    assert comment.get_json()["actor"]["email"] == login(SL).user.email


# ---------------------------------------------------------------- variants


def test_the_social_lead_edits_social_variants_but_not_the_body(login, incident):
    message, lead = draft(login(CM), incident), login(SL)
    path = f"/messages/{message['id']}"
    edited = lead("PATCH", path, json={"variants": {"x": "Fixing it now."}})
    assert edited.status_code == 200, edited.get_json()
    variant = edited.get_json()["variants"]["x"]
    assert variant == variant | {"text": "Fixing it now.", "edited": True, "count": 14}
    assert lead("PATCH", path, json={"body": "Mine now."}).status_code == 403
    assert lead("PATCH", path, json={"variants": {"email_subject": "Hi"}}).status_code == 403


def test_an_over_long_variant_is_a_422_naming_it(login, incident):
    path = f"/messages/{draft(login(CM), incident)['id']}"
    response = login(CM)("PATCH", path, json={"variants": {"x": "word " * 100}})
    assert response.status_code == 422
    assert response.get_json()["field"] == "variants.x"
    assert "280" in response.get_json()["error"]


# ---------------------------------------------------------------- scheduling and revisions


def test_an_approved_update_can_be_scheduled_and_the_job_publishes_it(login, incident):
    path = f"/messages/{approved(login, incident)['id']}"
    past = login(CM)("POST", path + "/schedule", json={"publish_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.get_json()["field"] == "publish_at"
    at = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    scheduled = login(CM)("POST", path + "/schedule", json={"publish_at": at.isoformat()})
    assert scheduled.get_json()["state"] == "scheduled"
    assert scheduled.get_json()["publish_at"] == at.isoformat()
    assert len(composer.publish_due(at + timedelta(seconds=1))) == 1
    assert login(CM)("GET", path).get_json()["state"] == "published"


def test_a_published_update_is_revised_through_a_new_draft(login, client, incident):
    original = approved(login, incident)["id"]
    assert login(CM)("POST", f"/messages/{original}/revise").status_code == 409  # not published
    login(CM)("POST", f"/messages/{original}/publish")
    revised = login(CM)("POST", f"/messages/{original}/revise")
    assert revised.status_code == 201
    revision = revised.get_json()
    assert revision["revision_of"] == original and revision["edited"] is True
    assert revision["state"] == "draft" and revision["body"] == "We found the cause."
    path = f"/messages/{revision['id']}"
    login(CM)("PATCH", path, json={"body": "We found the cause: a bad deploy."})
    digest = login(CM)("POST", path + "/submit").get_json()["content_hash"]
    login(IM)("POST", path + "/approve", json={"expected_hash": digest})
    assert login(CM)("POST", path + "/publish").status_code == 200
    assert login(CM)("GET", f"/messages/{original}").get_json()["superseded_at"] is not None
    updates = client.get("/api/v2/incidents.json").get_json()["incidents"][0]["incident_updates"]
    assert updates[0]["body"] == "We found the cause: a bad deploy."


def test_an_incident_manager_may_publish_alone_with_a_reason(login, incident):
    im = login(IM)
    path = f"/messages/{draft(im, incident)['id']}/emergency-publish"
    short = im("POST", path, json={"reason": "urgent"})
    assert short.status_code == 422 and short.get_json()["field"] == "reason"
    assert login(Role.ADMIN)("POST", path, json={"reason": "x" * 20}).status_code == 403
    done = im("POST", path, json={"reason": "The site is down and the approver is asleep."})
    assert done.status_code == 200
    assert done.get_json()["state"] == "published"
    assert done.get_json()["emergency_reason"].startswith("The site is down")


# ---------------------------------------------------------------- templates


def test_templates_are_managed_by_comms_managers_and_admins(login):
    comms = login(CM)
    body = {"name": "Resolved", "incident_status": "resolved", "body": "Fixed {incident_name}."}
    created = comms("POST", "/templates", json=body)
    assert created.status_code == 201
    template = created.get_json()
    assert comms("POST", "/templates", json=body).status_code == 409
    path = f"/templates/{template['id']}"
    changed = login(Role.ADMIN)("PATCH", path, json={"body": "All fixed."})
    assert changed.get_json() == changed.get_json() | {"name": "Resolved", "body": "All fixed."}
    assert [t["name"] for t in login(Role.RESPONDER)("GET", "/templates").get_json()] == [
        "Resolved"
    ]
    assert login(SL)("POST", "/templates", json=body | {"name": "Other"}).status_code == 403
    assert login(SL)("DELETE", path).status_code == 403
    assert comms("DELETE", path).status_code == 204
    assert comms("DELETE", path).status_code == 404
    assert comms("PATCH", "/templates/99999999999999999999", json={}).status_code == 404


# ---------------------------------------------------------------- who may do what


def test_roles_that_may_not_draft_approve_or_publish_are_refused(login, incident):
    message = approved(login, incident)
    path = f"/messages/{message['id']}"
    refused = [
        (Role.RESPONDER, "POST", f"/incidents/{incident}/messages", {"incident_status": "x"}),
        (Role.SUPPORT_AGENT, "PATCH", path, {"variants": {"x": "hi"}}),
        (Role.SUPPORT_AGENT, "POST", path + "/comments", {"comment": "hi"}),
        (SL, "POST", path + "/submit", {}),
        (CM, "POST", path + "/approve", {"expected_hash": message["content_hash"]}),
        (CM, "POST", path + "/request-changes", {"comment": "no"}),
        (SL, "POST", path + "/publish", {}),
        (SL, "POST", path + "/schedule", {"publish_at": "2099-01-01T00:00:00Z"}),
        (CM, "POST", path + "/emergency-publish", {"reason": "because it is urgent"}),
        (SL, "POST", path + "/revise", {}),
    ]
    for role, method, url, body in refused:
        response = login(role)(method, url, json=body)
        assert response.status_code == 403, (role, method, url)
        assert response.get_json()["error"]
    assert login(Role.SUPPORT_AGENT)("GET", path).status_code == 200


def test_a_roster_comms_manager_may_draft_whatever_their_global_role(login, incident):
    lead, im = login(SL), login(IM)
    roster = {"role": "comms_manager", "user_email": lead.user.email}
    assert im("POST", f"/incidents/{incident}/roster", json=roster).status_code == 201
    assert draft(lead, incident)["author"]["email"] == lead.user.email


# ---------------------------------------------------------------- bad input


BAD_WRITES = [
    ("POST", "create", {}, "incident_status"),
    ("POST", "create", {"incident_status": "on_fire"}, "incident_status"),
    ("POST", "create", {"incident_status": 3}, "incident_status"),
    ("POST", "create", {"incident_status": "identified", "audience": "everyone"}, "audience"),
    ("POST", "create", {"incident_status": "identified", "body": "x" * 20_001}, "body"),
    ("POST", "create", {"incident_status": "identified", "components": [{}]}, "components[0].id"),
    ("POST", "create", {"template_id": 999999}, "template_id"),
    ("POST", "create", {"template_id": True}, "template_id"),
    ("POST", "create", {"template_id": 2**70}, "template_id"),
    ("POST", "create", {"incident_status": "identified", "colour": "red"}, "colour"),
    ("PATCH", "", {"expected_version": "1"}, "expected_version"),
    ("PATCH", "", {"variants": ["x"]}, "variants"),
    ("PATCH", "", {"variants": {"myspace": "hi"}}, "variants"),
    ("PATCH", "", {"variants": {"x": 5}}, "variants.x"),
    ("PATCH", "", {"variants": {"email_subject": "two\nlines"}}, "variants.email_subject"),
    ("POST", "/approve", {}, "expected_hash"),
    ("POST", "/request-changes", {"comment": ["no"]}, "comment"),
    ("POST", "/comments", {"comment": "x" * 5001}, "comment"),
    ("POST", "/publish", {"next_update_in_minutes": 0}, "next_update_in_minutes"),
    ("POST", "/schedule", {"publish_at": "tomorrow"}, "publish_at"),
    ("POST", "/emergency-publish", {"reason": None}, "reason"),
]


@pytest.mark.parametrize(("method", "suffix", "body", "field"), BAD_WRITES)
def test_bad_composer_writes_are_422_naming_the_field(login, incident, method, suffix, body, field):
    admin = login(Role.ADMIN)
    if suffix == "create":
        path = f"/incidents/{incident}/messages"
    else:
        path = f"/messages/{draft(admin, incident)['id']}{suffix}"
    caller = login(IM) if suffix == "/emergency-publish" else admin
    response = caller(method, path, json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field and response.get_json()["error"]


def test_unknown_messages_and_templates_are_404(login):
    comms = login(CM)
    for method, path in [
        ("GET", "/messages/nosuchthing1"),
        ("PATCH", "/messages/nosuchthing1"),
        ("POST", "/messages/nosuchthing1/submit"),
        ("GET", f"/messages/{'x' * 500}"),
        ("GET", "/incidents/nosuchthing1/messages"),
        ("PATCH", "/templates/424242"),
        ("DELETE", "/templates/0"),
    ]:
        assert comms(method, path, json={}).status_code == 404, (method, path)


def test_a_body_that_is_not_a_json_object_is_a_400(login, incident):
    message = draft(login(CM), incident)["id"]
    for path in (f"/messages/{message}/approve", f"/incidents/{incident}/messages", "/templates"):
        assert login(Role.ADMIN)("POST", path, data=b"[1]").status_code == 400, path


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
WRITE_FIELDS = {
    ("POST", "/incidents/{incident}/messages"): ["incident_status", "body", "audience",
                                                 "components", "template_id"],
    ("PATCH", "/messages/{message}"): ["expected_version", "body", "incident_status",
                                       "components", "variants"],
    ("POST", "/messages/{message}/submit"): ["expected_version", "comment"],
    ("POST", "/messages/{message}/approve"): ["expected_hash", "comment"],
    ("POST", "/messages/{message}/request-changes"): ["comment", "expected_version"],
    ("POST", "/messages/{message}/comments"): ["comment"],
    ("POST", "/messages/{message}/publish"): ["expected_version", "next_update_in_minutes"],
    ("POST", "/messages/{message}/schedule"): ["publish_at", "expected_version"],
    ("POST", "/messages/{message}/emergency-publish"): ["reason", "expected_version"],
    ("POST", "/templates"): ["name", "incident_status", "body"],
    ("PATCH", "/templates/{template}"): ["name", "incident_status", "body"],
}  # fmt: skip


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_no_body_makes_the_composer_api_fail_with_a_500(login, api_component, data):
    im = login(IM)
    incident = im.declare(api_component)["id"]
    message = draft(login(CM), incident)["id"]
    template = login(CM)(
        "POST", "/templates", json={"name": f"T {message}", "incident_status": "resolved",
                                    "body": "Fixed."}
    ).get_json()["id"]  # fmt: skip
    method, path = data.draw(st.sampled_from(sorted(WRITE_FIELDS)))
    fields = WRITE_FIELDS[(method, path)]
    body = data.draw(st.dictionaries(st.sampled_from(fields), JSON_VALUES) | JSON_VALUES)
    url = path.format(incident=incident, message=message, template=template)
    response = im(method, url, json=body)
    assert response.status_code < 500, (method, url, body, response.get_json())


def test_translations_are_drafted_edited_and_bound_to_the_approval(login, incident):
    message = draft(login(CM), incident, translations={"pl": "Znaleźliśmy przyczynę."})
    assert message["translations"] == {"pl": "Znaleźliśmy przyczynę."}
    path = f"/messages/{message['id']}"
    submitted = login(CM)("POST", path + "/submit").get_json()
    login(IM)("POST", path + "/approve", json={"expected_hash": submitted["content_hash"]})
    edited = login(CM)("PATCH", path, json={"translations": {"pl": "Poprawka."}}).get_json()
    assert edited["state"] == "draft" and edited["translations"] == {"pl": "Poprawka."}
    assert edited["content_hash"] != submitted["content_hash"]
    removed = login(CM)("PATCH", path, json={"translations": {"pl": ""}}).get_json()
    assert removed["translations"] == {}


@pytest.mark.parametrize("translations", [{"en": "x"}, {"de": "x"}, {"pl": 3}, ["pl"]])
def test_a_translation_into_no_other_configured_language_is_a_422(login, incident, translations):
    body = {"incident_status": "identified", "body": "x", "translations": translations}
    response = login(CM)("POST", f"/incidents/{incident}/messages", json=body)
    assert response.status_code == 422
    assert response.get_json()["field"].startswith("translations")
