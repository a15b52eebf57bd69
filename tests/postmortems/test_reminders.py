"""Owners are reminded by email when an action falls due: once per action per due date,
through the real SMTP setup (an aiosmtpd server on 127.0.0.1), driven by the periodic job."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from publisher.jobs.postmortems import remind_action_owners
from publisher.models import Role, utcnow
from publisher.services import postmortems, users

from ..channels.smtp_sink import free_port, running_sink
from ..staff import make_user


@pytest.fixture
def sink(app):
    with running_sink() as server:
        app.config["SMTP"] = server.config()
        yield server


@pytest.fixture
def action(team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    return postmortems.add_action(
        team["pm"],
        postmortem,
        title="Alert on checkout errors",
        owner=team[Role.RESPONDER],
        due_on=utcnow().date() + timedelta(days=3),
        priority="high",
        tracker_url="https://tracker.example/T-9",
    )


def later(days: int):
    return time_machine.travel(utcnow() + timedelta(days=days), tick=False)


def test_nothing_is_sent_before_the_due_date(sink, action):
    with later(2):
        remind_action_owners()
    assert sink.messages == []


def test_the_owner_is_reminded_once_when_the_action_falls_due(sink, team, action):
    with later(3):
        remind_action_owners()
        remind_action_owners()
    with later(4):
        remind_action_owners()
    mails = sink.to(team[Role.RESPONDER].email)
    assert len(mails) == 1
    message = mails[0].message
    assert message["Subject"] == "Follow-up action due: Alert on checkout errors"
    text = message.get_body(("plain",)).get_content()
    assert "Alert on checkout errors" in text and "Checkout failing" in text
    assert "https://tracker.example/T-9" in text
    assert "http://status.test/console/actions?owner=me" in text


def test_a_new_due_date_is_reminded_again(sink, team, action):
    with later(3):
        remind_action_owners()
        postmortems.edit_action(team["pm"], action, due_on=utcnow().date() + timedelta(days=2))
    with later(5):
        remind_action_owners()
    assert len(sink.messages) == 2


def test_an_overdue_action_never_reminded_is_reminded_as_overdue(sink, team, action):
    with later(10):
        remind_action_owners()
    text = sink.messages[0].message.get_body(("plain",)).get_content()
    assert "is still open" in text


def test_done_and_wont_do_actions_are_not_reminded(sink, team, action):
    postmortems.set_status(team[Role.RESPONDER], action, "done")
    with later(3):
        remind_action_owners()
    assert sink.messages == []


def test_a_disabled_owner_is_not_mailed(sink, team, action):
    users.update_account(team[Role.ADMIN], team[Role.RESPONDER], enabled=False)
    with later(3):
        remind_action_owners()
    assert sink.messages == []


def test_a_refused_send_is_tried_again_on_the_next_run(app, sink, team, action):
    app.config["SMTP"] = sink.config(port=free_port())  # nobody listens there
    with later(3):
        remind_action_owners()
        assert sink.messages == []
        app.config["SMTP"] = sink.config()
        remind_action_owners()
    assert len(sink.messages) == 1


def test_a_hostile_title_never_adds_a_mail_header(sink, team, incident):
    postmortem = postmortems.start_postmortem(team["pm"], incident)
    owner = make_user(Role.SUPPORT_AGENT, "owner@example.com")
    postmortems.add_action(
        team["pm"],
        postmortem,
        title="Fix it\r\nBcc: victim@example.com",
        owner=owner,
        due_on=utcnow().date(),
    )
    remind_action_owners()
    (mail,) = sink.messages
    assert mail.rcpt_tos == ["owner@example.com"]
    assert mail.message["Bcc"] is None
