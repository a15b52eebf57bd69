"""Subscriber and stakeholder email, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import insert

from publisher.channels import (
    AmbiguousChannelError,
    PermanentChannelError,
    TransientChannelError,
    channel_class,
)
from publisher.channels.base import OutgoingUpdate
from publisher.channels.email import EmailChannel
from publisher.channels.smtp import SmtpTransport
from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch
from publisher.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    Role,
    Subscriber,
    SubscriberKind,
    utcnow,
)
from publisher.services import composer
from publisher.services.markdown import render_markdown

from ..corpus import assert_harmless_html, header_lines, lines
from ..staff import make_user
from .smtp_sink import free_port, running_sink

SUBSCRIBER_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
}
MANAGE = "http://status.test/subscriptions/" + "T0k3n-_" * 6  # as long as real tokens


@pytest.fixture
def sink():
    with running_sink() as server:
        yield server


def update(**fields) -> OutgoingUpdate:
    base = OutgoingUpdate(
        message_id="msg1",
        incident_id="inc1",
        incident_name="Elevated errors",
        incident_url="http://status.test/incidents/inc1",
        incident_status="identified",
        status_label="Identified",
        impact="minor",
        audience="public",
        body_markdown="We found the *cause*.",
        body_html="<p>We found the <em>cause</em>.</p>",
        body_text="We found the cause.",
        variants={
            "email_subject": "[Example Status] Identified: Elevated errors",
            "email_body": "We found the *cause*.\n\nFollow this incident: "
            "http://status.test/incidents/inc1",
        },
        published_at=datetime.now(UTC),
        page_name="Example Status",
        page_url="http://status.test",
        recipient={
            "kind": "email",
            "address": "ada@example.com",
            "manage_url": MANAGE,
            "unsubscribe_url": MANAGE + "/unsubscribe",
            "signing_secret": None,
        },
    )
    return replace(base, **fields)


def send(channel: EmailChannel, item: OutgoingUpdate, key: str = "msg1-1-1"):
    return channel.send(channel.render(item), key)


def test_the_email_channel_registers_as_a_non_idempotent_fan_out_outlet():
    cls = channel_class("email")
    assert cls is EmailChannel and cls.fan_out and not cls.idempotent


def test_an_update_email_is_multipart_text_and_html_with_one_click_unsubscribe(sink):
    channel = EmailChannel({}, {}, smtp=sink.config())
    receipt = send(channel, update())
    channel.close()
    [received] = sink.messages
    message = received.message
    assert received.rcpt_tos == ["ada@example.com"]
    assert {k.lower() for k in message} == SUBSCRIBER_HEADERS
    # Written out as is (never folded into encoded words), as one-click clients need it.
    assert f"\r\nList-Unsubscribe: <{MANAGE}/unsubscribe>\r\n".encode() in received.data
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"] == "[Example Status] Identified: Elevated errors"
    assert message["Message-ID"] == receipt.external_id == "<msg1-1-1@status.test>"
    assert message["From"] == "Example Status <status@status.test>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "We found the *cause*." in text and MANAGE in text
    assert text.count("http://status.test/incidents/inc1") == 1
    assert "<em>cause</em>" in html and f'href="{MANAGE}"' in html


def test_one_smtp_connection_carries_a_whole_batch(sink):
    channel = EmailChannel({}, {}, smtp=sink.config())
    for n in range(5):
        recipient = {**update().recipient, "address": f"p{n}@example.com"}
        send(channel, update(recipient=recipient), key=f"msg1-1-{n}")
    channel.close()
    assert len(sink.messages) == 5 and sink.connections == 1


def test_a_connection_the_server_closed_between_two_mails_is_reopened(sink):
    channel = EmailChannel({}, {}, smtp=sink.config())
    send(channel, update(), key="k1")
    channel.transport._conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server hung up
    send(channel, update(), key="k2")
    channel.close()
    assert len(sink.messages) == 2 and sink.connections == 2


@pytest.mark.parametrize("hostile", header_lines())
def test_header_injection_in_names_and_subjects_never_adds_a_header(sink, hostile):
    channel = EmailChannel({}, {}, smtp=sink.config())
    hostile_update = update(
        incident_name=hostile,
        page_name=hostile,
        variants={"email_subject": hostile, "email_body": hostile},
    )
    send(channel, hostile_update)
    channel.close()
    [received] = sink.messages
    message = received.message
    assert {k.lower() for k in message} == SUBSCRIBER_HEADERS
    assert received.rcpt_tos == ["ada@example.com"]
    assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
    assert message["Bcc"] is None and message["Cc"] is None


@pytest.mark.parametrize("hostile", header_lines())
def test_an_address_carrying_a_header_is_refused_for_good(sink, hostile):
    channel = EmailChannel({}, {}, smtp=sink.config())
    recipient = {**update().recipient, "address": hostile}
    with pytest.raises(PermanentChannelError):
        send(channel, update(recipient=recipient))
    channel.close()
    assert sink.messages == []


@pytest.mark.parametrize("hostile", lines("xss.txt"))
def test_hostile_markup_in_names_and_bodies_is_harmless_in_the_html_email(sink, hostile):
    channel = EmailChannel({}, {}, smtp=sink.config())
    send(channel, update(incident_name=hostile, body_html=str(render_markdown(hostile))))
    channel.close()
    html = sink.messages[0].message.get_body(("html",)).get_content()
    assert_harmless_html(html)


def test_a_refused_recipient_is_permanent_a_busy_one_transient_and_the_batch_goes_on(sink):
    sink.refuse = {"gone@example.com": "550 5.1.1 no such user", "busy@example.com": "451 later"}
    channel = EmailChannel({}, {}, smtp=sink.config())
    for address, error in [
        ("gone@example.com", PermanentChannelError),
        ("busy@example.com", TransientChannelError),
    ]:
        with pytest.raises(error):
            send(channel, update(recipient={**update().recipient, "address": address}))
    send(channel, update())
    channel.close()
    assert [m.rcpt_tos for m in sink.messages] == [["ada@example.com"]]
    assert sink.connections == 1


def test_a_refused_connection_is_transient_and_not_retried_within_the_batch():
    channel = EmailChannel({}, {}, smtp={**_closed_port_config(), "timeout": 2})
    for _ in range(2):
        with pytest.raises(TransientChannelError, match="cannot connect"):
            send(channel, update())
    channel.close()


def test_a_connection_lost_after_the_message_went_out_is_ambiguous(sink):
    sink.drop_after_data = True
    channel = EmailChannel({}, {}, smtp=sink.config())
    with pytest.raises(AmbiguousChannelError):
        send(channel, update())
    channel.close()


def test_a_timeout_after_the_message_went_out_is_ambiguous(sink):
    sink.data_delay = 12.0
    channel = EmailChannel({}, {}, smtp=sink.config(timeout=5))
    with pytest.raises(AmbiguousChannelError):
        send(channel, update())
    channel.close()


def test_an_internal_list_gets_one_message_with_the_addresses_in_the_envelope_only(sink):
    stakeholders = ["cto@example.com", "support-lead@example.com"]
    channel = EmailChannel({"recipients": stakeholders}, {}, smtp=sink.config())
    send(channel, update(recipient={}, audience="internal"))
    channel.close()
    [received] = sink.messages
    message = received.message
    assert sorted(received.rcpt_tos) == stakeholders
    assert message["To"] == "status@status.test"
    assert message["Bcc"] is None and message["Cc"] is None
    assert "List-Unsubscribe" not in message
    assert not any(a in received.data.decode() for a in stakeholders)


def _closed_port_config() -> dict:
    return {
        "host": "127.0.0.1",
        "port": free_port(),
        "security": "none",
        "sender": "status@status.test",
    }


# ---------------------------------------------------------------- through the engine


@pytest.fixture
def team(app):
    return {role: make_user(role) for role in (Role.COMMS_MANAGER, Role.INCIDENT_MANAGER)}


def publish(team, incident, body="We are looking into it."):
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    message = composer.create_draft(comms, incident, incident_status="identified", body=body)
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    return composer.publish(comms, message)


def test_two_hundred_confirmed_subscribers_get_exactly_one_email_each_on_one_connection(
    app, make, team, sink
):
    app.config["SMTP"] = sink.config()
    email = Channel(kind=ChannelKind.EMAIL, name="subscribers")
    db.session.add(email)
    now = utcnow()
    db.session.execute(
        insert(Subscriber),
        [
            {
                "kind": SubscriberKind.EMAIL,
                "target": f"p{n}@example.com",
                "token": f"tok{n:04d}x" * 2,
                "confirmed_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(200)
        ],
    )
    db.session.commit()
    message = publish(team, make.incident())
    deliver_batch(message.id, email.id)
    states = {d.state for d in db.session.query(Delivery).filter_by(channel_id=email.id)}
    assert states == {DeliveryState.SENT}
    assert len(sink.messages) == 200
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == sorted(
        f"p{n}@example.com" for n in range(200)
    )
    assert sink.connections == 1


def test_the_transport_refuses_a_message_whose_header_block_was_tampered_with(sink):
    message = EmailMessage()
    message["From"], message["To"] = "status@status.test", "ada@example.com"
    # The parser decodes this word to a CR LF that older Pythons then write out raw.
    message["Subject"] = "=?utf-8?q?Outage=0D=0ABcc=3A_victim=40example.invalid?="
    message.set_content("body")
    transport = SmtpTransport(sink.config())
    with pytest.raises(PermanentChannelError):
        transport.send(message, ["ada@example.com"])
    transport.close()
    assert sink.messages == []


@pytest.mark.parametrize(
    "settings", [{"security": "starttls"}, {"username": "herald", "password": "secret"}]
)
def test_a_server_lacking_starttls_or_auth_that_the_settings_need_is_a_permanent_error(
    sink, settings
):
    channel = EmailChannel({}, {}, smtp=sink.config(**settings))
    with pytest.raises(PermanentChannelError, match="lacks a needed feature"):
        send(channel, update())
    channel.close()
    assert sink.messages == []
