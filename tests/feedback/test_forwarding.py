"""Digests to responders: the surge rule, the cadence, forwarding from the inbox, through a
real Slack-speaking server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from publisher.extensions import db
from publisher.models import (
    DigestReason,
    FeedbackReport,
    IncidentFeedback,
    Role,
    SendState,
    TriageState,
    utcnow,
)
from publisher.services.feedback import forwarding
from tests.feedback.reports import add_reports, digests
from tests.staff import make_user, sign_in


def test_the_surge_rule(make):
    incident = make.incident()
    now = utcnow()
    add_reports(incident, [1, 2, 3, 4])
    assert not forwarding.surging(incident.id, now)  # 4 is under the minimum of 5
    add_reports(incident, [4.5])
    assert forwarding.surging(incident.id, now)  # 5 now, none before
    add_reports(incident, [6, 7])
    assert not forwarding.surging(incident.id, now)  # 5 < 3 x 2


def test_a_surge_sends_a_digest_at_once_and_then_stays_quiet(make, receiver, slack_target):
    slack_target(receiver.url("/services/T/B/secret"))
    incident = make.incident()
    add_reports(incident, [0.5] * 6, body="<!channel> <https://evil.example|click> & *bold*")
    made = forwarding.run_due(utcnow())
    [digest] = digests()
    assert made == [digest.id]
    assert digest.reason == DigestReason.SURGE and digest.state == SendState.SENT
    [request] = receiver.requests
    text = str(request.json())
    assert "6 customers report being affected" in text
    assert "<!channel>" not in text and "<https://evil" not in text
    states = set(db.session.scalars(select(FeedbackReport.state)))
    assert states == {TriageState.FORWARDED}
    add_reports(incident, [0.2] * 10)
    assert forwarding.run_due(utcnow()) == []  # quiet for 15 minutes after a surge


def test_the_cadence_sends_only_what_is_new(make, receiver, slack_target):
    slack_target(receiver.url("/services/T/B/secret"))
    incident = make.incident()
    db.session.add(IncidentFeedback(incident_id=incident.id, digest_every_minutes=15))
    db.session.commit()
    add_reports(incident, [20, 30])
    now = utcnow()
    assert len(forwarding.run_due(now)) == 1
    assert digests()[0].reason == DigestReason.CADENCE
    assert forwarding.run_due(now + timedelta(minutes=16)) == []  # nothing new
    add_reports(incident, [0])
    assert forwarding.run_due(now + timedelta(minutes=5)) == []  # not due yet
    assert len(forwarding.run_due(now + timedelta(minutes=16))) == 1
    assert [d.new_reports for d in digests()] == [2, 1]
    assert len(receiver.requests) == 2


def test_a_failing_target_is_retried_then_given_up(make, receiver, slack_target):
    from tests.channels.fake_http import Reply

    slack_target(receiver.url("/services/T/B/secret"))
    incident = make.incident()
    receiver.reply(Reply(status=503))
    add_reports(incident, [0.5] * 5)
    forwarding.run_due(utcnow())
    [digest] = digests()
    assert digest.state == SendState.PENDING and digest.attempts == 1
    assert forwarding.retry_due(utcnow() + timedelta(minutes=2)) == [digest.id]
    assert forwarding.send_digest(digest.id)
    assert digests()[0].state == SendState.SENT


def test_forwarding_from_the_inbox(client, make, receiver, slack_target):
    client.post("/report", data={"body": "Invoices show the wrong total"})
    [report] = db.session.scalars(select(FeedbackReport)).all()
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    response = client.post(
        "/console/feedback/forward", data={"reports": [report.id]}, follow_redirects=True
    )
    assert "No outlet receives digests yet" in response.get_data(as_text=True)
    slack_target(receiver.url("/services/T/B/secret"))
    client.post("/console/feedback/forward", data={"reports": [report.id]})
    [digest] = digests()
    assert digest.reason == DigestReason.FORWARDED and digest.state == SendState.SENT
    assert "Invoices show the wrong total" in str(receiver.requests[0].json())
    db.session.refresh(report)
    assert report.state == TriageState.FORWARDED


def test_an_admin_adds_digest_targets(client, make, outlets):
    from publisher.models import ChannelKind

    email = outlets(ChannelKind.EMAIL, "Subscribers")
    staff = outlets(ChannelKind.EMAIL, "Staff list", settings={"recipients": ["ops@example.com"]})
    hook = outlets(ChannelKind.WEBHOOK, "Pager")
    sign_in(client, make_user(Role.ADMIN))
    assert client.get("/console/feedback/targets").status_code == 200
    refused = client.post("/console/feedback/targets", data={"channel": email.id})
    assert refused.status_code == 422
    assert client.post("/console/feedback/targets", data={"channel": staff.id}).status_code == 200
    bad = client.post(
        "/console/feedback/targets",
        data={"channel": hook.id, "webhook_url": "http://169.254.169.254/latest"},
    )
    assert bad.status_code == 422
    assert [t.channel_id for t in forwarding.targets()] == [staff.id]
