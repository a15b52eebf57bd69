"""Follow-up actions: owners, due dates, status rules, the lists, and the open count."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from publisher.models import ActionStatus, Role, utcnow
from publisher.services import postmortems, timeline, users
from publisher.services.errors import Conflict, InvalidInput
from publisher.services.permissions import Forbidden

from ..corpus import lines
from ..staff import make_user


@pytest.fixture
def postmortem(team, incident):
    return postmortems.start_postmortem(team["pm"], incident)


def add(team, postmortem, title="Add an alert on checkout errors", owner=None, days=7, **kw):
    return postmortems.add_action(
        team["pm"],
        postmortem,
        title=title,
        owner=owner or team[Role.RESPONDER],
        due_on=utcnow().date() + timedelta(days=days),
        **kw,
    )


def test_an_action_has_a_title_owner_due_date_priority_and_tracker_link(team, postmortem):
    action = add(team, postmortem, priority="high", tracker_url="https://tracker.example/T-1")
    assert action.status == ActionStatus.OPEN
    assert action.owner_id == team[Role.RESPONDER].id
    assert (action.priority, action.tracker_url) == ("high", "https://tracker.example/T-1")
    assert any("Add an alert" in item.text for item in timeline.timeline(postmortem.incident))


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", ""),
        ("title", "x" * 301),
        ("priority", "urgent"),
        ("tracker_url", "javascript:alert(1)"),
        ("tracker_url", "ftp://tracker.example/x"),
        ("tracker_url", "https://user:pw@tracker.example/"),
        ("tracker_url", "https://tracker.example/a b"),
        ("due_on", None),
    ],
)
def test_bad_action_fields_are_refused_with_the_field_named(team, postmortem, field, value):
    arguments = {"title": "Fix it", "priority": "low", "tracker_url": None, "due_on": None}
    arguments["due_on"] = utcnow().date() + timedelta(days=3)
    arguments[field] = value
    with pytest.raises(InvalidInput) as refused:
        postmortems.add_action(team["pm"], postmortem, owner=team[Role.RESPONDER], **arguments)
    assert refused.value.field == field
    assert postmortem.actions == []


def test_a_due_date_in_the_past_is_refused(team, postmortem):
    with pytest.raises(InvalidInput):
        add(team, postmortem, days=-1)


def test_the_owner_must_be_an_enabled_staff_account(team, postmortem):
    gone = make_user(Role.RESPONDER, "gone@example.com")
    users.update_account(team[Role.ADMIN], gone, enabled=False)
    with pytest.raises(InvalidInput) as refused:
        add(team, postmortem, owner=gone)
    assert refused.value.field == "owner"


@pytest.mark.parametrize("hostile", lines("xss.txt") + lines("unicode.txt"))
def test_hostile_titles_are_kept_as_text(team, postmortem, hostile):
    title = " ".join(hostile.split())[:300]
    if not title:
        pytest.skip("only whitespace")
    assert add(team, postmortem, title=hostile[:300]).title == title


def test_only_writers_add_or_change_actions(team, postmortem):
    with pytest.raises(Forbidden):
        postmortems.add_action(
            team[Role.COMMS_MANAGER],
            postmortem,
            title="x",
            owner=team[Role.RESPONDER],
            due_on=utcnow().date(),
        )
    action = add(team, postmortem)
    with pytest.raises(Forbidden):
        postmortems.edit_action(team[Role.RESPONDER], action, title="Mine now")


def test_the_owner_moves_their_action_along_and_others_may_not(team, postmortem):
    action = add(team, postmortem)
    owner = team[Role.RESPONDER]
    postmortems.set_status(owner, action, "in_progress")
    assert action.status == ActionStatus.IN_PROGRESS
    with pytest.raises(Forbidden):
        postmortems.set_status(team[Role.SOCIAL_LEAD], action, "done")
    postmortems.set_status(owner, action, "done")
    assert action.status == ActionStatus.DONE and action.closed_at is not None


def test_wont_do_needs_a_reason(team, postmortem):
    action = add(team, postmortem)
    with pytest.raises(InvalidInput) as refused:
        postmortems.set_status(team["pm"], action, "wont_do", reason="  ")
    assert refused.value.field == "reason"
    postmortems.set_status(team["pm"], action, "wont_do", reason="Replaced by the new gateway")
    assert action.status == ActionStatus.WONT_DO
    assert action.status_reason == "Replaced by the new gateway"
    postmortems.set_status(team["pm"], action, "open")
    assert action.status_reason is None and action.closed_at is None


def test_an_unknown_status_is_refused(team, postmortem):
    action = add(team, postmortem)
    with pytest.raises(InvalidInput):
        postmortems.set_status(team["pm"], action, "finished")


def test_a_stale_version_of_an_action_is_refused(team, postmortem):
    action = add(team, postmortem)
    with pytest.raises(Conflict):
        postmortems.set_status(team["pm"], action, "done", expected_version=action.version - 1)


def test_open_actions_are_listed_overdue_first_then_by_due_date_and_priority(team, postmortem):
    late = add(team, postmortem, title="Late", days=1)
    low = add(team, postmortem, title="Low", days=5, priority="low")
    high = add(team, postmortem, title="High", days=5, priority="high")
    done = add(team, postmortem, title="Done", days=2)
    postmortems.set_status(team["pm"], done, "done")
    mine = add(team, postmortem, title="Pat's", days=9, owner=team["pm"])
    with time_machine.travel(utcnow() + timedelta(days=3)):
        rows = postmortems.open_actions()
        assert [r.action.title for r in rows] == ["Late", "High", "Low", "Pat's"]
        assert [r.overdue for r in rows] == [True, False, False, False]
        assert [r.action.id for r in postmortems.open_actions(owner=team["pm"])] == [mine.id]
    assert {late.id, low.id, high.id} <= {r.action.id for r in postmortems.open_actions()}


def test_the_open_count_counts_open_and_in_progress_only(team, postmortem):
    assert postmortems.open_count(postmortem.incident) == 0
    _first, second, third = (add(team, postmortem, title=t) for t in "abc")
    postmortems.set_status(team["pm"], second, "in_progress")
    postmortems.set_status(team["pm"], third, "wont_do", reason="No longer needed")
    assert postmortems.open_count(postmortem.incident) == 2


def test_an_incident_without_a_postmortem_has_no_count(make):
    assert postmortems.open_count(make.incident()) is None


def test_changing_the_due_date_forgets_the_last_reminder(team, postmortem):
    action = add(team, postmortem, days=0)
    action.reminded_for = action.due_on
    postmortems.edit_action(team["pm"], action, due_on=utcnow().date() + timedelta(days=4))
    assert action.reminded_for != action.due_on
