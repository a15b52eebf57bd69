"""Every route, for every role and for an anonymous visitor, answers as this table says.

A route that is not in the table fails the suite, so a new route cannot ship
without a decision about who may use it.
"""

from __future__ import annotations

import re

import pytest

from publisher.extensions import db
from publisher.models import Channel, ChannelKind, Delivery, DeliveryState, Role, RosterRole
from publisher.services import composer, roster, tokens
from publisher.services.composer.templates import save_template

from ..postmortems.world import postmortem_with_an_action
from ..staff import CM, EVERYONE, IM, RESPONDERS, SA, SL, STAFF, A, R, bearer, make_user, sign_in

EXPECTED: dict[str, set | str] = {
    "static": EVERYONE,
    "console.login": EVERYONE,
    # The language switcher, on every public and console page.
    "language.switch": EVERYONE,
    "console.logout": STAFF,
    "console.dashboard": STAFF,
    "console.account": STAFF,
    "console.change_password": STAFF,
    "console.create_token": STAFF,
    "console.revoke_token": STAFF,
    "console.components": STAFF,
    "console.component_status": RESPONDERS,
    "console.declare": RESPONDERS,
    "console.incident": STAFF,
    "console.update_incident": RESPONDERS,
    "console.resolve": RESPONDERS,
    "console.assign_role": {A, IM},
    "console.unassign_role": {A, IM},
    # The world makes the responder its incident's scribe; any roster holder may write.
    "console.add_timeline_entry": STAFF,
    "console.timeline_markdown": STAFF,
    "console.timeline_json": STAFF,
    "console.schedule_maintenance": RESPONDERS,
    "console.maintenance_status": RESPONDERS,
    "console.accounts": {A},
    "console.edit_account": {A},
    "console.catalogue_page": {A},
    "console.add_group": {A},
    "console.edit_component": {A},
    # The composer: the services decide within an incident (roster roles add rights).
    "console.new_message": RESPONDERS,
    "console.message": STAFF,
    "console.edit_message": RESPONDERS | {SL},
    "console.preview_message": RESPONDERS | {SL},
    "console.submit_message": RESPONDERS,
    "console.approve_message": {A, IM},
    "console.request_changes": {A, IM},
    "console.comment_message": RESPONDERS | {SL},
    "console.publish_message": RESPONDERS,
    "console.schedule_message": RESPONDERS,
    "console.emergency_publish": {IM},
    "console.revise_message": RESPONDERS,
    "console.templates": {A, CM},
    "console.edit_template": {A, CM},
    "console.delete_template": {A, CM},
    "console.outlets": {A},
    "console.new_outlet": {A},
    "console.edit_outlet": {A},
    "console.deliveries": RESPONDERS,
    "console.retry_delivery": RESPONDERS,
    "console.settle_delivery": RESPONDERS,
    # Postmortems: written by the problem manager or an incident manager (global or roster),
    # approved like an update, published also by comms; the world's responder owns the action.
    "console.postmortem": STAFF,
    "console.start_postmortem": {A, IM},
    "console.edit_postmortem": {A, IM},
    "console.submit_postmortem": {A, IM},
    "console.approve_postmortem": {A, IM},
    "console.request_postmortem_changes": {A, IM},
    "console.comment_postmortem": {A, IM},
    "console.publish_postmortem": RESPONDERS,
    # Withdrawing it is for incident managers and admins (the approvers), with a reason.
    "console.unpublish_postmortem": {A, IM},
    "console.postmortem_markdown": STAFF,
    "console.postmortem_print": STAFF,
    "console.add_action": {A, IM},
    "console.actions": STAFF,
    "console.edit_action": {A, IM},
    "console.action_status": {A, IM, R},
    # Customer feedback: everyone reads it; the outward-facing roles take it in and triage it.
    "console.feedback_inbox": STAFF,
    "console.feedback_intake": RESPONDERS | {SL, SA},
    "console.feedback_link": RESPONDERS | {SL, SA},
    "console.feedback_dismiss": RESPONDERS | {SL, SA},
    "console.feedback_forward": RESPONDERS | {SL, SA},
    # Admins, or the incident's support lead: the service decides (the walker's id is unknown).
    "console.feedback_erase": STAFF,
    "console.incident_feedback": STAFF,
    "console.incident_feedback_settings": {A, IM},
    "console.feedback_targets": {A},
    "console.feedback_target_remove": {A},
}
PUBLIC_PREFIX = "public."
API_PREFIX = "api_v1."


def expected_for(endpoint: str):
    if endpoint.startswith(PUBLIC_PREFIX):
        return EVERYONE
    return EXPECTED.get(endpoint) or API_EXPECTED.get(endpoint)


# Filled in by the API's own table (tests/api/access_table.py) when the API exists.
try:
    from ..api.access_table import API_EXPECTED
except ImportError:  # pragma: no cover - before the API lands
    API_EXPECTED = {}


@pytest.fixture
def world(app, make):
    api = make.component("API")
    incident = make.incident(components=[api])
    maintenance = make.maintenance(components=[api])
    admin = make_user(A)
    people = {role: make_user(role) for role in Role if role != A}
    people[A] = admin
    assignment = roster.assign(admin, incident, RosterRole.SCRIBE, people[R])
    # Revoking a token must not revoke the one the walker itself uses.
    spare_token, _plaintext = tokens.create_token(admin, "spare")
    # Written by the comms manager, so every approver walking the routes is someone else.
    message = composer.create_draft(
        people[CM], incident, incident_status="identified", body="We found the cause."
    )
    template = save_template(admin, "Identified", "identified", "We found {incident_name}.")
    channel, dead = _outlet_with_a_dead_delivery(incident)
    action = postmortem_with_an_action(incident, people)
    return {
        "component": api,
        "incident": incident,
        "maintenance": maintenance,
        "people": people,
        "assignment": assignment,
        "spare_token": spare_token,
        "message": message,
        "template": template,
        "channel": channel,
        "dead_delivery": dead,
        "action": action,
    }


def _outlet_with_a_dead_delivery(incident):
    """A Slack outlet (no secrets) and a dead delivery of the incident's published update."""
    channel = Channel(kind=ChannelKind.SLACK, name="#status")
    db.session.add(channel)
    db.session.flush()
    dead = Delivery(
        message_id=incident.messages[0].id,
        channel_id=channel.id,
        state=DeliveryState.DEAD,
        idempotency_key="world-dead-delivery",
        attempts=8,
        last_error="500 Internal Server Error",
    )
    db.session.add(dead)
    db.session.commit()
    return channel, dead


def routes(app):
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            yield rule, method


def test_every_route_has_a_rule_in_the_table(app):
    missing = sorted({r.endpoint for r, _m in routes(app) if expected_for(r.endpoint) is None})
    assert missing == []


def fill(rule, world) -> str:
    ids = {
        "public_id": _public_id_for(rule.endpoint, world),
        "token_id": str(world["spare_token"].id),
        "user_id": str(world["people"][R].id),
        "assignment_id": str(world["assignment"].id),
        "filename": "css/herald.css",
        "message_id": world["message"].public_id,
        "template_id": str(world["template"].id),
        "channel_id": str(world["channel"].id),
        "delivery_id": str(world["dead_delivery"].id),
        "action_id": str(world["action"].id),
        "report_id": "999999",  # no such report: a 404 for whoever passes the gate
        "target_id": "999999",
        "token": "no-such-token",  # an unknown subscription token: a 404, which is allowed
        "id": _public_id_for(rule.endpoint, world),
    }
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: ids[m.group(1)], rule.rule)


def _public_id_for(endpoint: str, world) -> str:
    if "component" in endpoint and "incident" not in endpoint:
        return world["component"].public_id
    if "maintenance" in endpoint:
        return world["maintenance"].public_id
    return world["incident"].public_id


def call(client, method: str, url: str, headers=None):
    return client.open(
        url,
        method=method,
        headers=headers or {},
        json={} if url.startswith("/api/v1") and method != "GET" else None,
    )


def outcome_is_allowed(response, is_api: bool) -> bool:
    if response.status_code in (401, 403):
        return False
    # The gate sends anonymous visitors to sign in with ?next=; sign-out's own redirect has none.
    location = response.headers.get("Location", "")
    return not (response.status_code == 302 and "/console/login?next=" in location)


@pytest.mark.parametrize("role", [None, *Role])
def test_each_role_gets_exactly_what_the_table_allows(app, world, role):
    client = app.test_client()
    user = world["people"][role] if role else None
    headers = bearer(user) if user else {}
    if user:
        sign_in(client, user)
    wrong = []
    for rule, method in routes(app):
        expected = expected_for(rule.endpoint)
        is_api = rule.endpoint.startswith(API_PREFIX)
        response = call(client, method, fill(rule, world), headers if is_api else None)
        allowed = outcome_is_allowed(response, is_api)
        should = expected == EVERYONE or (role in expected)
        if allowed != should:
            wrong.append(f"{method} {rule.rule} as {role}: {response.status_code}")
        if rule.endpoint == "console.logout" and user:
            sign_in(client, user)
    assert wrong == []
