"""Closing the loop: at resolution each consenting reporter gets one message, the approved
resolving update, by email through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from publisher.extensions import db
from publisher.models import IncidentStatus, LoopNotice, SendState, utcnow
from publisher.services.feedback import loop
from publisher.services.updates import record_published_update
from tests.channels.smtp_sink import running_sink


@pytest.fixture
def sink(app):
    with running_sink() as server:
        app.config["SMTP"] = server.config()
        app.config["CHANNELS_ALLOW_LOOPBACK"] = True
        yield server


def _affected(client, incident, **data):
    data = {"answer": "yes", **data}
    assert client.post(f"/incidents/{incident.public_id}/affected", data=data).status_code == 200


def _resolve(incident, body="Fixed: payments work again."):
    record_published_update(incident, IncidentStatus.RESOLVED, body, utcnow())
    db.session.commit()


def test_consenting_reporters_hear_back_once_at_resolution(client, make, sink):
    incident = make.incident(name="Payments failing")
    consent = {"email": "ada@example.com", "wants_updates": "y"}
    _affected(client, incident, **consent)
    _affected(client, incident, **consent)  # the same person twice: one message
    _affected(client, incident, email="bob@example.com", wants_updates="y")
    _affected(client, incident, email="eve@example.com")  # no consent: no address kept
    assert loop.close_loops() == []  # still active
    _resolve(incident)
    assert len(loop.close_loops()) == 2
    assert loop.send_due(utcnow()) == 2
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == [
        "ada@example.com",
        "bob@example.com",
    ]
    body = sink.messages[0].message.get_body(("plain",)).get_content()
    assert "Fixed: payments work again." in body
    assert sink.connections == 1  # one SMTP connection for the whole run
    assert loop.close_loops() == [] and loop.send_due(utcnow()) == 0
    states = set(db.session.scalars(select(LoopNotice.state)))
    assert states == {SendState.SENT}


def test_nothing_goes_out_without_a_published_resolving_update(client, make, sink):
    incident = make.incident()
    _affected(client, incident, email="ada@example.com", wants_updates="y")
    incident.status = IncidentStatus.RESOLVED  # resolved from the console, no update written
    incident.resolved_at = utcnow()
    db.session.commit()
    assert loop.close_loops() == []
    _resolve(incident)
    assert len(loop.close_loops()) == 1


def test_an_erased_reporter_is_not_written_to(client, make, sink):
    from publisher.models import FeedbackReport, Role
    from publisher.services.feedback import triage
    from tests.staff import make_user

    incident = make.incident()
    _affected(client, incident, email="ada@example.com", wants_updates="y")
    report = db.session.scalars(select(FeedbackReport)).one()
    triage.erase(make_user(Role.ADMIN), report.id)
    _resolve(incident)
    assert loop.close_loops() == []
    assert sink.messages == []


def test_a_refused_address_is_recorded_not_retried(client, make, sink):
    incident = make.incident()
    _affected(client, incident, email="gone@example.com", wants_updates="y")
    sink.refuse["gone@example.com"] = "550 5.1.1 no such user"
    _resolve(incident)
    loop.close_loops()
    assert loop.send_due(utcnow()) == 0
    notice = db.session.scalars(select(LoopNotice)).one()
    db.session.refresh(notice)
    assert notice.state == SendState.FAILED and "550" in notice.last_error
