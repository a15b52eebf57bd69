"""Emails in the reader's language: the one they subscribed or chose the console in, through
a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from babel.dates import format_date

from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch
from publisher.jobs.postmortems import remind_action_owners
from publisher.models import Channel, ChannelKind, Role, Subscriber, utcnow
from publisher.services import composer, postmortems

from ..staff import make_user

POLISH = {"Accept-Language": "pl-PL,pl;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
LINK = re.compile(r"http://status\.test(/subscriptions/[\w-]+/confirm)")


def subscribe_and_confirm(client, sink, address: str, headers: dict) -> None:
    response = client.post("/subscribe", data={"email-email": address}, headers=headers)
    assert response.status_code in (200, 303)
    [mail] = [m.message for m in sink.to(address)]
    path = LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    assert client.post(path, headers=headers).status_code in (200, 303)


def polish_and_english_readers(app, client, sink) -> Channel:
    """An email channel, with ola@ subscribed from a Polish page and ann@ from an English one."""
    channel = Channel(kind=ChannelKind.EMAIL, name="subscribers")
    db.session.add(channel)
    db.session.commit()
    subscribe_and_confirm(client, sink, "ola@example.com", POLISH)
    subscribe_and_confirm(app.test_client(), sink, "ann@example.com", ENGLISH)
    return channel


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def rich(message) -> str:
    return message.get_body(("html",)).get_content()


def test_the_confirmation_is_written_in_the_language_of_the_subscribe_page(client, sink):
    client.post("/subscribe", data={"email-email": "ola@example.com"}, headers=POLISH)
    client.post("/subscribe", data={"email-email": "ann@example.com"}, headers=ENGLISH)
    [polish] = [m.message for m in sink.to("ola@example.com")]
    [english] = [m.message for m in sink.to("ann@example.com")]
    assert polish["Subject"] == "Potwierdź subskrypcję: Example Status"
    assert "Dzień dobry," in plain(polish) and "Aby potwierdzić" in plain(polish)
    assert 'lang="pl"' in rich(polish) and "Potwierdzam subskrypcję" in rich(polish)
    assert english["Subject"] == "Confirm your subscription to Example Status"
    assert "Hello," in plain(english) and 'lang="en"' in rich(english)
    stored = {s.target: s.locale for s in db.session.query(Subscriber).all()}
    assert stored == {"ola@example.com": "pl", "ann@example.com": "en"}


def test_each_subscriber_reads_an_update_in_their_own_language(app, client, make, sink):
    channel = polish_and_english_readers(app, client, sink)
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    incident = make.incident(components=[make.component("API")])
    message = composer.create_draft(comms, incident, incident_status="identified", body="Fixed.")
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    composer.publish(comms, message)
    deliver_batch(message.id, channel.id)

    [polish] = [m.message for m in sink.to("ola@example.com") if "List-Unsubscribe" in m.message]
    [english] = [m.message for m in sink.to("ann@example.com") if "List-Unsubscribe" in m.message]
    assert "Wypisz się: http://status.test/subscriptions/" in plain(polish)
    assert "Wybierz, o czym chcesz otrzymywać informacje" in plain(polish)
    assert 'lang="pl"' in rich(polish) and "<strong>Zidentyfikowano</strong>" in rich(polish)
    assert "Unsubscribe: http://status.test/subscriptions/" in plain(english)
    assert 'lang="en"' in rich(english) and "<strong>Identified</strong>" in rich(english)
    # What the team wrote is sent as written, in both.
    assert "Fixed." in plain(polish) and "Fixed." in plain(english)


def test_a_subscriber_reads_the_updates_translation_into_their_language(app, client, make, sink):
    """The approved translation goes to readers of its language; others get the original, and
    a Polish reader of an untranslated update gets the original marked as English."""
    channel = polish_and_english_readers(app, client, sink)
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    incident = make.incident(name="Checkout", components=[make.component("API")])
    for body, translations in (
        ("We **found** the cause.", {"pl": "**Znaleźliśmy** przyczynę."}),
        ("A fix is rolling out.", {}),
    ):
        message = composer.create_draft(
            comms, incident, incident_status="identified", body=body, translations=translations
        )
        composer.submit(comms, message)
        composer.approve(im, message, expected_hash=composer.content_hash(message))
        composer.publish(comms, message)
        deliver_batch(message.id, channel.id)

    polish = [m.message for m in sink.to("ola@example.com") if "List-Unsubscribe" in m.message]
    english = [m.message for m in sink.to("ann@example.com") if "List-Unsubscribe" in m.message]
    assert "Znaleźliśmy** przyczynę." in plain(polish[0]) and "found" not in plain(polish[0])
    assert "<strong>Znaleźliśmy</strong>" in rich(polish[0])
    assert "Zidentyfikowano" in polish[0]["Subject"] and "Checkout" in polish[0]["Subject"]
    assert "We **found** the cause." in plain(english[0]) and "Znal" not in plain(english[0])
    assert "A fix is rolling out." in plain(polish[1])
    assert '<div lang="en">' in rich(polish[1]) and '<div lang="en">' not in rich(english[1])


def test_a_reminder_is_written_in_the_console_language_of_its_owner(app, client, make, sink):
    admin, owner = make_user(Role.ADMIN), make_user(Role.RESPONDER, "olek@example.com", "Olek")
    owner.locale = "pl"
    db.session.commit()
    incident = make.incident(components=[make.component("API")])
    due = utcnow().date() + timedelta(days=2)
    postmortem = postmortems.start_postmortem(admin, incident)
    postmortems.add_action(
        admin, postmortem, title="Alert", owner=owner, due_on=due, priority="high"
    )
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False):
        remind_action_owners()
    [mail] = [m.message for m in sink.to("olek@example.com")]
    assert mail["Subject"] == "Termin działania naprawczego: Alert"
    text = plain(mail)
    assert "Witaj, Olek," in text and "Priorytet: Wysoki" in text
    assert format_date(due, "long", locale="pl") in text  # e.g. "1 grudnia 2026"
