"""Closing the loop: at resolution each consenting reporter gets one message, the approved
resolving update, by email through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from sqlalchemy import select

from publisher.extensions import db
from publisher.models import (
    FeedbackReport,
    IncidentStatus,
    LoopNotice,
    MessageTranslation,
    SendState,
    utcnow,
)
from publisher.services.feedback import loop
from publisher.services.updates import record_published_update

POLISH = {"Accept-Language": "pl-PL,pl;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def _affected(client, incident, headers=None, **data):
    data = {"answer": "yes", **data}
    url = f"/incidents/{incident.public_id}/affected"
    assert client.post(url, data=data, headers=headers).status_code == 200


def _resolve(incident, body="Fixed: payments work again.", translations=None):
    message = record_published_update(incident, IncidentStatus.RESOLVED, body, utcnow())
    for locale, text in (translations or {}).items():
        message.translations.append(MessageTranslation(locale=locale, body=text))
    db.session.commit()


def _mail_to(sink, address: str):
    [received] = sink.to(address)
    message = received.message
    return message, message.get_body(("plain",)).get_content(), _html(message)


def _html(message) -> str:
    return message.get_body(("html",)).get_content()


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
    from publisher.models import Role
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


def test_each_reporter_hears_back_in_the_language_the_page_was_shown_in(
    client, make, sink, catalogues
):
    incident = make.incident(name="Payments failing")
    _affected(client, incident, POLISH, email="ola@example.com", wants_updates="y")
    _affected(client, incident, ENGLISH, email="ann@example.com", wants_updates="y")
    stored = {r.contact_email: r.locale for r in db.session.scalars(select(FeedbackReport))}
    assert stored == {"ola@example.com": "pl", "ann@example.com": "en"}
    polish_text = "Naprawione: płatności znów działają."
    _resolve(incident, translations={"pl": polish_text})
    loop.close_loops()
    assert loop.send_due(utcnow()) == 2

    polish, text, html = _mail_to(sink, "ola@example.com")
    assert polish_text in text and "Fixed: payments work again." not in text
    assert "Obserwuj ten incydent: http://status.test/incidents/" in text
    assert 'lang="pl"' in html and "<strong>Rozwiązano</strong>" in html
    assert "<p>Naprawione: płatności znów działają.</p>" in html
    # The approved subject is English: the Polish reader's is built in Polish.
    assert polish["Subject"] == "[Example Status] Rozwiązano: Payments failing"

    english, text, html = _mail_to(sink, "ann@example.com")
    assert "Fixed: payments work again." in text and polish_text not in text
    assert "Follow this incident: http://status.test/incidents/" in text
    assert 'lang="en"' in html and "<strong>Resolved</strong>" in html
    assert "Rozwiązano" not in str(english["Subject"])


def test_without_a_translation_the_original_is_sent_marked_with_its_language(
    client, make, sink, catalogues
):
    incident = make.incident(name="Payments failing")
    _affected(client, incident, POLISH, email="ola@example.com", wants_updates="y")
    _resolve(incident)  # written in English only
    loop.close_loops()
    assert loop.send_due(utcnow()) == 1
    _message, text, html = _mail_to(sink, "ola@example.com")
    assert "Fixed: payments work again." in text
    assert 'lang="pl"' in html and "<strong>Rozwiązano</strong>" in html
    assert "Obserwuj ten incydent na stronie statusu" in html
    assert '<div lang="en"><p>Fixed: payments work again.</p>' in html


def test_a_report_with_no_language_hears_back_in_the_default_one(client, make, sink, catalogues):
    incident = make.incident(name="Payments failing")
    _affected(client, incident, POLISH, email="ola@example.com", wants_updates="y")
    db.session.scalars(select(FeedbackReport)).one().locale = None  # stored before 0010
    db.session.commit()
    _resolve(incident, translations={"pl": "Naprawione."})
    loop.close_loops()
    assert loop.send_due(utcnow()) == 1
    _message, text, html = _mail_to(sink, "ola@example.com")
    assert "Fixed: payments work again." in text and "Follow this incident" in text
    assert 'lang="en"' in html and "Naprawione" not in text
