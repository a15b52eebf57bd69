"""The postmortem document: who owns it, how it is prefilled, and the review rules."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from publisher.extensions import db
from publisher.models import (
    FeedbackReport,
    PostmortemState,
    Role,
    RosterRole,
)
from publisher.services import postmortems, roster
from publisher.services.errors import Conflict, InvalidInput, NotFound
from publisher.services.permissions import Forbidden

from ..staff import make_user
from .conftest import approved


def test_the_customer_impact_names_sources_and_regions_in_the_writers_language(app, team, incident):
    """Regions and sources are stored in English; the document is written in Polish here."""
    for report in db.session.scalars(select(FeedbackReport).filter_by(incident_id=incident.id)):
        report.region = "Europe"
    db.session.commit()
    with force_locale("pl"):
        text = postmortems.start_postmortem(team["pm"], incident).internal_body
    assert "Według regionu: Europa 6" in text
    assert "Strona statusu 3, Wsparcie 2, X 1" in text and "Europe" not in text


def test_start_prefills_every_section_from_the_incident(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    text = postmortem.internal_body
    # Summary and duration (declared two hours ago, resolved 30 minutes later).
    assert "# Postmortem: Checkout failing" in text
    assert f"Incident: {incident.public_id}" in text
    assert "Impact: Major" in text
    assert "Duration: 30 minutes" in text
    # Impact per component, from the status history (Web was moved by a published update).
    assert "- API: worst Major outage (Major outage 30 minutes)" in text
    assert "- Web: worst Degraded performance (Degraded performance 20 minutes)" in text
    history = text.split("**Status history**")[1].split("###")[0]
    assert [line.split(": ")[-1] for line in history.strip().splitlines()] == [
        "Investigating",
        "Identified",
        "Resolved",
    ]
    # The timeline: audit events and the scribe's own entries.
    assert "Rolled back deploy 4711" in text
    assert "Declared the incident" in text
    # Customer impact from the feedback reports, by component and by source.
    assert "Customers who reported being affected: 6" in text
    assert "By component: API 5, not named 1" in text
    assert "By source: Status page 3, Support 2, X 1" in text
    for heading in ("Root cause", "What went well", "What went wrong", "Actions"):
        assert f"### {heading}" in text
    assert postmortem.state == PostmortemState.DRAFT
    assert postmortem.author_id == team["pm"].id


def test_an_incident_without_reports_or_changes_says_so(team, make):
    quiet = make.incident(name="Quiet one")
    postmortem = postmortems.start_postmortem(team[Role.INCIDENT_MANAGER], quiet)
    assert "No customer reported being affected." in postmortem.internal_body
    assert "No component changed status during this incident." in postmortem.internal_body


@pytest.mark.parametrize(
    "who", [Role.COMMS_MANAGER, Role.SOCIAL_LEAD, Role.SUPPORT_AGENT, Role.RESPONDER]
)
def test_only_the_problem_manager_or_an_incident_manager_starts_it(team, incident, who):
    with pytest.raises(Forbidden):
        postmortems.start_postmortem(team[who], incident)
    assert postmortems.find_postmortem(incident) is None


def test_the_roster_incident_manager_may_write_it_whatever_their_global_role(team, incident):
    lead = make_user(Role.RESPONDER, "lead@example.com")
    roster.assign(team[Role.ADMIN], incident, RosterRole.INCIDENT_MANAGER, lead)
    assert postmortems.start_postmortem(lead, incident).author_id == lead.id


def test_the_problem_manager_role_is_what_grants_it(team, incident):
    stranger = make_user(Role.RESPONDER, "other@example.com")
    with pytest.raises(Forbidden):
        postmortems.start_postmortem(stranger, incident)
    roster.assign(team[Role.ADMIN], incident, RosterRole.PROBLEM_MANAGER, stranger)
    postmortems.start_postmortem(stranger, incident)


def test_an_incident_has_one_postmortem(team, incident):
    postmortems.start_postmortem(team["pm"], incident)
    with pytest.raises(Conflict):
        postmortems.start_postmortem(team[Role.INCIDENT_MANAGER], incident)


def test_maintenance_gets_no_postmortem(team, make):
    with pytest.raises(InvalidInput):
        postmortems.start_postmortem(team[Role.ADMIN], make.maintenance())


def test_a_missing_postmortem_is_not_found(incident):
    with pytest.raises(NotFound):
        postmortems.get_postmortem(incident)


def test_nobody_approves_a_postmortem_they_wrote(team, incident):
    ian = team[Role.INCIDENT_MANAGER]
    postmortem = postmortems.start_postmortem(ian, incident)
    postmortems.submit(ian, postmortem)
    with pytest.raises(Forbidden):
        postmortems.approve(ian, postmortem, expected_hash=postmortems.content_hash(postmortem))
    assert postmortem.state == PostmortemState.IN_REVIEW


def test_nobody_approves_a_postmortem_they_last_changed(team, incident):
    admin = team[Role.ADMIN]
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    postmortems.edit_postmortem(admin, postmortem, internal_body="Rewritten by the admin")
    postmortems.submit(team["pm"], postmortem)
    with pytest.raises(Forbidden):
        postmortems.approve(admin, postmortem, expected_hash=postmortems.content_hash(postmortem))


def test_only_approvers_approve(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    postmortems.submit(team["pm"], postmortem)
    with pytest.raises(Forbidden):
        postmortems.approve(
            team[Role.COMMS_MANAGER],
            postmortem,
            expected_hash=postmortems.content_hash(postmortem),
        )


def test_an_approval_covers_exactly_the_content_the_reviewer_read(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    read = postmortems.content_hash(postmortem)
    postmortems.edit_postmortem(team["pm"], postmortem, public_body="Changed after reading")
    postmortems.submit(team["pm"], postmortem)
    with pytest.raises(Conflict):
        postmortems.approve(team[Role.INCIDENT_MANAGER], postmortem, expected_hash=read)
    assert postmortem.state == PostmortemState.IN_REVIEW
    assert postmortem.approved_hash is None


def test_any_edit_after_approval_returns_it_to_draft(team, incident):
    postmortem = approved(team, incident)
    postmortems.edit_postmortem(team["pm"], postmortem, public_body="A different text")
    assert postmortem.state == PostmortemState.DRAFT
    assert postmortem.approved_hash is None and postmortem.approved_by_id is None
    with pytest.raises(Conflict):
        postmortems.publish(team["pm"], postmortem)


def test_an_edit_that_changes_nothing_keeps_the_approval(team, incident):
    postmortem = approved(team, incident)
    postmortems.edit_postmortem(team["pm"], postmortem, public_body=postmortem.public_body)
    assert postmortem.state == PostmortemState.APPROVED


def test_an_approval_bound_to_old_content_cannot_publish(team, incident):
    postmortem = approved(team, incident)
    # Changed behind the service's back (as a bug or a direct write would): the hash differs.
    postmortem.public_body = "Sneaked in"
    db.session.commit()
    with pytest.raises(Conflict):
        postmortems.publish(team["pm"], postmortem)
    assert postmortem.published_at is None


def test_a_stale_version_is_refused(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    with pytest.raises(Conflict):
        postmortems.edit_postmortem(
            team["pm"], postmortem, internal_body="x", expected_version=postmortem.version - 1
        )


def test_requesting_changes_needs_a_comment_and_voids_the_approval(team, incident):
    postmortem = approved(team, incident)
    ian = team[Role.INCIDENT_MANAGER]
    with pytest.raises(InvalidInput):
        postmortems.request_changes(ian, postmortem, comment="  ")
    postmortems.request_changes(ian, postmortem, comment="Name the root cause.")
    assert postmortem.state == PostmortemState.CHANGES_REQUESTED
    assert postmortem.approved_hash is None


def test_an_empty_postmortem_cannot_be_submitted(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    postmortems.edit_postmortem(team["pm"], postmortem, internal_body="   ")
    with pytest.raises(InvalidInput):
        postmortems.submit(team["pm"], postmortem)


def test_a_body_over_the_limit_is_refused(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    with pytest.raises(InvalidInput) as refused:
        postmortems.edit_postmortem(team["pm"], postmortem, public_body="x" * 100_001)
    assert refused.value.field == "public_body"


def test_every_review_step_is_on_the_trail_and_the_timeline(team, incident):
    from publisher.services import timeline

    postmortem = approved(team, incident)
    actions = [e.action for e in postmortem.review_events]
    assert actions == ["created", "edited", "submitted", "approved"]
    texts = [item.text for item in timeline.timeline(incident)]
    assert any("postmortem" in text.lower() and "approved" in text.lower() for text in texts)
