"""A real incident to review: declared, moved, noted by the scribe, reported by customers,
resolved; a responder holds the problem manager role on its roster."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from publisher.extensions import db
from publisher.models import (
    ComponentStatus,
    FeedbackKind,
    FeedbackReport,
    FeedbackSource,
    Role,
    RosterRole,
    TriageState,
    utcnow,
)
from publisher.services import composer, incidents, postmortems, roster, timeline

from ..staff import make_user


@pytest.fixture
def team(app):
    people = {role: make_user(role) for role in Role}
    people["pm"] = make_user(Role.RESPONDER, "problem.manager@example.com", "Pat Problem")
    return people


@pytest.fixture
def incident(team, make):
    """Declared two hours ago, a major outage of the API for 30 minutes, then resolved."""
    api, web = make.component("API"), make.component("Web", position=1)
    ian = team[Role.INCIDENT_MANAGER]
    start = utcnow() - timedelta(hours=2)
    with time_machine.travel(start, tick=False):
        item = incidents.declare_incident(
            ian, "Checkout failing", "major", {api: ComponentStatus.MAJOR_OUTAGE}
        )
        roster.assign(ian, item, RosterRole.PROBLEM_MANAGER, team["pm"])
        roster.assign(ian, item, RosterRole.SCRIBE, team[Role.RESPONDER])
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        timeline.add_entry(team[Role.RESPONDER], item, "Rolled back deploy 4711", "action")
        _publish(team, item, "identified", "We found the cause.", {web: "degraded_performance"})
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        incidents.resolve_incident(ian, item)
    _report(item, api, FeedbackSource.STATUS_PAGE, 3)
    _report(item, api, FeedbackSource.SUPPORT, 2)
    _report(item, None, FeedbackSource.X, 1)
    return item


def _publish(team, item, status, body, components=None):
    message = composer.create_draft(
        team[Role.COMMS_MANAGER],
        item,
        incident_status=status,
        body=body,
        component_statuses=components,
    )
    composer.submit(team[Role.COMMS_MANAGER], message)
    composer.approve(
        team[Role.INCIDENT_MANAGER], message, expected_hash=composer.content_hash(message)
    )
    composer.publish(team[Role.COMMS_MANAGER], message)


def _report(item, component, source, count):
    for _n in range(count):
        db.session.add(
            FeedbackReport(
                source=source,
                kind=FeedbackKind.AFFECTED,
                state=TriageState.LINKED,
                affected=True,
                incident_id=item.id,
                component_id=component.id if component else None,
                body="It is broken",
            )
        )
    db.session.commit()


def approved(team, incident, public="We are sorry. It was a bad deploy."):
    """A postmortem started and written by the problem manager, approved by the IM."""
    return rewrite_and_approve(team, postmortems.start_postmortem(team["pm"], incident), public)


def rewrite_and_approve(team, postmortem, public):
    """The problem manager (re)writes the public version; the IM approves it."""
    postmortems.edit_postmortem(team["pm"], postmortem, public_body=public)
    postmortems.submit(team["pm"], postmortem)
    postmortems.approve(
        team[Role.INCIDENT_MANAGER], postmortem, expected_hash=postmortems.content_hash(postmortem)
    )
    return postmortem
