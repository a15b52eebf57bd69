"""The composer's rules, each with a test that fails without it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from publisher.extensions import db
from publisher.models import (
    Audience,
    Channel,
    ChannelKind,
    ComponentStatus,
    Delivery,
    DeliveryState,
    IncidentStatus,
    MessageState,
    MessageTemplate,
    Role,
    RosterRole,
    utcnow,
)
from publisher.services import composer, delivery, roster, timeline
from publisher.services.errors import Conflict, InvalidInput
from publisher.services.permissions import Forbidden
from publisher.services.public import find_incident

from ..corpus import lines
from ..desk import publish_revision, publish_update
from ..staff import make_user


@pytest.fixture
def team(app):
    return {role: make_user(role) for role in Role}


@pytest.fixture
def incident(make):
    return make.incident(components=[make.component("API")])


def approved(team, incident, body="We found the cause.", **kwargs):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body=body, **kwargs
    )
    composer.submit(team[Role.COMMS_MANAGER], message)
    composer.approve(
        team[Role.INCIDENT_MANAGER], message, expected_hash=composer.content_hash(message)
    )
    return message


@pytest.mark.parametrize("hostile", lines("template.txt"))
def test_template_text_is_filled_from_a_fixed_list_and_never_evaluated(team, incident, hostile):
    template = MessageTemplate(
        name="t", incident_status="identified", body=f"{{incident_name}}: {hostile}"
    )
    db.session.add(template)
    db.session.commit()
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", template=template
    )
    assert message.body == f"{incident.name}: {hostile.strip()}"


def test_nobody_approves_their_own_update(team, incident):
    ian = team[Role.INCIDENT_MANAGER]
    message = composer.create_draft(ian, incident, incident_status="identified", body="Text")
    composer.submit(ian, message)
    with pytest.raises(Forbidden):
        composer.approve(ian, message, expected_hash=composer.content_hash(message))


def test_whoever_last_changed_the_text_cannot_approve_it_either(team, incident):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body="Text"
    )
    composer.edit_message(team[Role.ADMIN], message, body="Better text")
    composer.submit(team[Role.COMMS_MANAGER], message)
    with pytest.raises(Forbidden):
        composer.approve(team[Role.ADMIN], message, expected_hash=composer.content_hash(message))


def test_an_approval_covers_only_the_content_the_reviewer_saw(team, incident):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body="Text"
    )
    composer.submit(team[Role.COMMS_MANAGER], message)
    with pytest.raises(Conflict):
        composer.approve(team[Role.INCIDENT_MANAGER], message, expected_hash="0" * 64)


def test_an_edit_after_approval_returns_the_update_to_draft(team, incident):
    message = approved(team, incident)
    composer.edit_message(team[Role.COMMS_MANAGER], message, body="Changed after approval")
    assert message.state == MessageState.DRAFT and message.approved_hash is None
    with pytest.raises(Conflict):
        composer.publish(team[Role.COMMS_MANAGER], message)


def test_a_social_lead_edits_social_variants_but_not_the_body(team, incident):
    message = approved(team, incident)
    social = team[Role.SOCIAL_LEAD]
    composer.edit_message(social, message, variant_texts={"x": "Short post for X"})
    assert {v.outlet: v.text for v in message.variants}["x"] == "Short post for X"
    assert message.state == MessageState.DRAFT  # the edit voided the approval
    with pytest.raises(Forbidden):
        composer.edit_message(social, message, body="New body")


def test_a_variant_over_the_network_limit_is_refused_and_nothing_changes(team, incident):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body="Text"
    )
    before = {v.outlet: v.text for v in message.variants}
    with pytest.raises(InvalidInput) as refused:
        composer.edit_message(team[Role.COMMS_MANAGER], message, variant_texts={"x": "x" * 281})
    assert refused.value.field == "variant_x" and "280" in refused.value.message
    db.session.rollback()
    assert {v.outlet: v.text for v in message.variants} == before


def test_publishing_updates_the_incident_components_page_and_writes_deliveries(team, incident):
    api = incident.components[0]
    x = Channel(kind=ChannelKind.X, name="@example")
    off = Channel(kind=ChannelKind.MASTODON, name="off", enabled=False)
    internal = Channel(kind=ChannelKind.SLACK, name="#incidents", audiences=["internal"])
    resolved_only = Channel(kind=ChannelKind.BLUESKY, name="bsky", statuses=["resolved"])
    db.session.add_all([x, off, internal, resolved_only])
    message = approved(team, incident, component_statuses={api: "partial_outage"})
    composer.publish(team[Role.COMMS_MANAGER], message)
    db.session.expire_all()
    assert incident.status == IncidentStatus.IDENTIFIED
    assert api.status == ComponentStatus.PARTIAL_OUTAGE
    assert message.component_changes[0].old_status == ComponentStatus.OPERATIONAL
    deliveries = db.session.query(Delivery).all()
    assert [(d.channel.name, d.state) for d in deliveries] == [("@example", "pending")]
    assert "We found the cause." in [u.body for u in find_incident(incident.public_id).updates]
    assert incident.next_update_due_at > utcnow()


def test_internal_updates_never_reach_the_public_side(team, incident):
    slack = Channel(kind=ChannelKind.SLACK, name="#execs", audiences=["internal"])
    db.session.add(slack)
    message = approved(team, incident, body="Internal only", audience=Audience.INTERNAL)
    composer.publish(team[Role.COMMS_MANAGER], message)
    assert "Internal only" not in [u.body for u in find_incident(incident.public_id).updates]
    assert [d.channel_id for d in db.session.query(Delivery)] == [slack.id]


def test_emergency_publishing_needs_an_incident_manager_and_a_recorded_reason(team, incident):
    ian = team[Role.INCIDENT_MANAGER]
    message = composer.create_draft(ian, incident, incident_status="identified", body="Now")
    with pytest.raises(InvalidInput):
        composer.emergency_publish(ian, message, reason="")
    with pytest.raises(Forbidden):
        composer.emergency_publish(
            team[Role.COMMS_MANAGER], message, reason="Customers are losing data right now"
        )
    composer.emergency_publish(ian, message, reason="Customers are losing data right now")
    assert message.state == MessageState.PUBLISHED
    texts = [
        item.after
        for item in timeline.timeline(incident)
        if item.action == "message.emergency_published"
    ]
    assert texts and texts[0]["comment"] == "Customers are losing data right now"


def test_the_incident_manager_on_the_roster_may_approve_whatever_their_global_role(team, incident):
    responder = team[Role.RESPONDER]
    roster.assign(team[Role.ADMIN], incident, RosterRole.INCIDENT_MANAGER, responder)
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body="Text"
    )
    composer.submit(team[Role.COMMS_MANAGER], message)
    composer.approve(responder, message, expected_hash=composer.content_hash(message))
    assert message.state == MessageState.APPROVED


def test_changes_requested_sends_the_update_back_with_a_comment(team, incident):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body="Text"
    )
    composer.submit(team[Role.COMMS_MANAGER], message)
    with pytest.raises(InvalidInput):
        composer.request_changes(team[Role.INCIDENT_MANAGER], message, comment=" ")
    composer.request_changes(team[Role.INCIDENT_MANAGER], message, comment="Say when")
    assert message.state == MessageState.CHANGES_REQUESTED
    assert message.review_events[-1].comment == "Say when"
    composer.submit(team[Role.COMMS_MANAGER], message)
    assert message.state == MessageState.IN_REVIEW


def test_a_stale_view_cannot_act(team, incident):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body="Text"
    )
    seen = message.version
    composer.edit_message(team[Role.COMMS_MANAGER], message, body="Someone else's edit")
    with pytest.raises(Conflict):
        composer.edit_message(team[Role.COMMS_MANAGER], message, body="Mine", expected_version=seen)


def test_a_scheduled_update_is_published_by_the_job_when_due(team, incident):
    from publisher.jobs.periodic import publish_scheduled_updates

    message = approved(team, incident)
    at = utcnow() + timedelta(minutes=30)
    composer.schedule(team[Role.COMMS_MANAGER], message, at)
    publish_scheduled_updates()
    db.session.expire_all()
    assert message.state == MessageState.SCHEDULED
    with time_machine.travel(at + timedelta(seconds=5), tick=False):
        publish_scheduled_updates()
    db.session.expire_all()
    assert message.state == MessageState.PUBLISHED


def revise(team, incident, sent_first: bool):
    """An update published to X and Mastodon (delivered there, or not yet), then a revision
    of it published; returns (first, revision)."""
    db.session.add_all(
        [
            Channel(kind=ChannelKind.X, name="@x"),
            Channel(kind=ChannelKind.MASTODON, name="@m@example.social"),
        ]
    )
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    first = publish_update(comms, im, incident, "Fixed in ten minutes.")
    if sent_first:
        for n, row in enumerate(deliveries_of(first)):
            row.state, row.external_id = DeliveryState.SENT, f"post-{n}"
        db.session.commit()
    return first, publish_revision(comms, im, first, body="Fixed in an hour.")


def deliveries_of(message) -> list[Delivery]:
    db.session.expire_all()
    return db.session.query(Delivery).filter_by(message_id=message.id).all()


def test_a_revision_replaces_the_update_on_the_page_and_goes_out_as_a_correction(team, incident):
    first, revision = revise(team, incident, sent_first=True)
    updates = find_incident(incident.public_id).updates
    bodies = [(u.body, u.edited) for u in updates]
    assert ("Fixed in an hour.", True) in bodies
    assert all(body != "Fixed in ten minutes." for body, _ in bodies)
    kinds = {d.channel.kind: d.is_correction for d in deliveries_of(revision)}
    assert kinds == {ChannelKind.X: True, ChannelKind.MASTODON: False}  # Mastodon edits
    assert {d.state for d in deliveries_of(first)} == {DeliveryState.SENT}


def test_a_revision_published_before_the_old_text_went_out_replaces_it_everywhere(team, incident):
    """Nobody is sent text already replaced, nor a correction of a post they never got."""
    first, revision = revise(team, incident, sent_first=False)
    assert {(d.state, d.last_error) for d in deliveries_of(first)} == {
        (DeliveryState.CANCELLED, delivery.REPLACED)
    }
    kinds = {d.channel.kind: d.is_correction for d in deliveries_of(revision)}
    assert kinds == {ChannelKind.X: False, ChannelKind.MASTODON: False}


def published(team, incident, status, body, component_status):
    """An update moving the incident to `status` and its one component to `component_status`."""
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    [api] = incident.components
    statuses = {api: component_status}
    return publish_update(comms, im, incident, body, status, component_statuses=statuses)


def test_correcting_an_old_update_of_a_resolved_incident_does_not_reopen_it(team, incident):
    """Only a revision of the latest update moves the incident and its components: fixing a
    typo in the first one corrects its text and nothing else."""
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    first = published(team, incident, "identified", "Teh cause is found.", "major_outage")
    with time_machine.travel(utcnow() + timedelta(minutes=30)):
        published(team, incident, "resolved", "Fixed.", "operational")
    resolved_at = incident.resolved_at
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        publish_revision(comms, im, first, body="The cause is found.")
    db.session.expire_all()
    [api] = incident.components
    assert (incident.status, incident.resolved_at) == (IncidentStatus.RESOLVED, resolved_at)
    assert api.status == ComponentStatus.OPERATIONAL and incident.next_update_due_at is None
    bodies = [u.body for u in find_incident(incident.public_id).updates]
    assert "The cause is found." in bodies and "Teh cause is found." not in bodies


def test_revising_the_latest_update_still_moves_the_incident(team, incident):
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    latest = published(team, incident, "identified", "Found it.", "major_outage")
    publish_revision(comms, im, latest, body="Fixed it.", incident_status="resolved",
                     component_statuses={incident.components[0]: "operational"})  # fmt: skip
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.components[0].status == ComponentStatus.OPERATIONAL


def test_a_reopened_incident_is_unresolved_until_it_is_resolved_again(team, incident):
    published(team, incident, "resolved", "Fixed.", "operational")
    assert incident.resolved_at is not None
    with time_machine.travel(utcnow() + timedelta(hours=1)):
        published(team, incident, "investigating", "It is back.", "major_outage")
        assert incident.resolved_at is None
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        published(team, incident, "resolved", "Fixed again.", "operational")
        assert incident.resolved_at == utcnow()


def test_resolving_clears_the_next_update_promise(team, incident):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="resolved", body="All fixed."
    )
    composer.submit(team[Role.COMMS_MANAGER], message)
    composer.approve(
        team[Role.INCIDENT_MANAGER], message, expected_hash=composer.content_hash(message)
    )
    composer.publish(team[Role.COMMS_MANAGER], message)
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.next_update_due_at is None


def test_support_agents_and_responders_only_read(team, incident):
    for role in (Role.SUPPORT_AGENT, Role.RESPONDER):
        with pytest.raises(Forbidden):
            composer.create_draft(team[role], incident, incident_status="identified", body="x")


def test_a_roster_incident_manager_may_comment_through_the_service_and_the_console(
    app, team, incident
):
    from ..staff import sign_in

    responder = team[Role.RESPONDER]
    message = composer.create_draft(
        team[Role.COMMS_MANAGER], incident, incident_status="identified", body="Text"
    )
    client = sign_in(app.test_client(), responder)
    refused = client.post(
        f"/console/messages/{message.public_id}/comment", data={"comment-comment": "Looks right"}
    )
    assert refused.status_code == 403
    roster.assign(team[Role.ADMIN], incident, RosterRole.INCIDENT_MANAGER, responder)
    accepted = client.post(
        f"/console/messages/{message.public_id}/comment", data={"comment-comment": "Looks right"}
    )
    assert accepted.status_code == 302
    db.session.expire_all()
    assert message.review_events[-1].comment == "Looks right"
