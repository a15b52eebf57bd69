"""Webhook subscribers, against a real receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import socket

import pytest
from cryptography.fernet import Fernet
from standardwebhooks import Webhook

from publisher.channels import (
    AmbiguousChannelError,
    PermanentChannelError,
    TransientChannelError,
    webhook,
)
from publisher.channels.webhook import WebhookChannel
from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch
from publisher.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    Impact,
    Role,
    Subscriber,
    SubscriberKind,
    utcnow,
)

from ..corpus import lines
from ..desk import publish_update
from ..staff import make_user
from .fake_http import (
    CLOSE,
    HANG,
    PATIENT,
    SERVER_ERROR,
    FakeHTTPServer,
    Reply,
    rate_limited,
    redirect,
    sample_update,
    timeout_for,
)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CHANGE = {
    "id": "cmp0001",
    "name": "API",
    "old_status": "operational",
    "new_status": "partial_outage",
}


@pytest.fixture
def receiver():
    with FakeHTTPServer() as server:
        yield server


def recipient(url: str, secret: str = SECRET) -> dict:
    return {
        "kind": "webhook",
        "address": url,
        "manage_url": "http://status.test/subscriptions/tok",
        "unsubscribe_url": "http://status.test/subscriptions/tok/unsubscribe",
        "signing_secret": secret,
    }


def send(
    url: str, key: str = "msg0001-3-7", allow_loopback: bool = True, timeout=PATIENT, **changes
):
    channel = WebhookChannel({}, {}, allow_loopback=allow_loopback, timeout=timeout)
    update = sample_update(recipient=recipient(url), **changes)
    return channel.send(channel.render(update), key)


def test_a_receiver_verifies_the_signature_with_the_reference_library(receiver):
    receipt = send(receiver.url("/hook"))
    [request] = receiver.requests
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == receipt.external_id == "msg0001-3-7"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert payload["incident"]["id"] == "inc0001"


def test_a_tampered_body_fails_the_reference_verification(receiver):
    send(receiver.url("/hook"))
    [request] = receiver.requests
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(request.body.replace(b"minor", b"major"), request.headers)


def test_the_payload_has_the_statuspage_shape(receiver):
    send(receiver.url("/hook"), components=[CHANGE])
    payload = receiver.requests[0].json()
    assert payload["meta"]["unsubscribe"].endswith("/unsubscribe")
    assert payload["meta"]["documentation"]
    assert set(payload["page"]) >= {"id", "status_indicator", "status_description"}
    assert payload["page"]["status_indicator"] == "minor"
    incident = payload["incident"]
    assert incident["name"] == "Elevated errors" and incident["status"] == "identified"
    assert incident["shortlink"] == "http://status.test/incidents/inc0001"
    [entry] = incident["incident_updates"]
    assert entry["body"] == "We found the **cause**." and entry["incident_id"] == "inc0001"
    assert entry["affected_components"] == [
        {
            "code": "cmp0001",
            "name": "API",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    assert entry["created_at"] == "2025-03-01T12:00:00.000Z"


def test_each_component_change_also_goes_out_as_a_component_update(receiver):
    send(receiver.url("/hook"), components=[CHANGE])
    first, second = receiver.requests
    event = Webhook(SECRET).verify(second.body, second.headers)
    assert second.headers["webhook-id"] == first.headers["webhook-id"] + ".cmp0001"
    assert event["component_update"]["new_status"] == "partial_outage"
    assert event["component"] == {
        "id": "cmp0001",
        "name": "API",
        "status": "partial_outage",
        "updated_at": "2025-03-01T12:00:00.000Z",
    }
    assert "incident" not in event


def test_the_page_object_is_the_page_the_engine_describes(receiver):
    """The channel sends the page as the engine hands it over (status.json's id and status),
    whatever the update itself says: a resolution while another incident is open."""
    send(receiver.url("/hook"), incident_status="resolved", page_indicator="critical",
         page_description="Major System Outage")  # fmt: skip
    page = receiver.requests[0].json()["page"]
    assert page["id"] == "page0001" and page["url"] == "http://status.test"
    assert (page["status_indicator"], page["status_description"]) == (
        "critical",
        "Major System Outage",
    )


def test_a_retry_carries_the_same_webhook_id_so_the_receiver_can_dedupe(receiver):
    send(receiver.url("/hook"), key="k-1")
    send(receiver.url("/hook"), key="k-1")
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["k-1", "k-1"]
    for request in receiver.requests:
        Webhook(SECRET).verify(request.body, request.headers)


def test_a_redirect_is_not_followed(receiver):
    receiver.reply(redirect(receiver.url("/elsewhere")))
    with pytest.raises(PermanentChannelError, match="redirect"):
        send(receiver.url("/hook"))
    assert [r.path for r in receiver.requests] == ["/hook"]


@pytest.mark.parametrize("url", lines("ssrf_urls.txt"))
def test_every_internal_url_is_refused_when_loopback_is_not_allowed(url):
    with pytest.raises(PermanentChannelError, match="refused"):
        send(url, allow_loopback=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001"])
def test_a_stored_loopback_url_is_refused_at_connect_time(receiver, monkeypatch, host):
    monkeypatch.setattr(webhook, "check_target", lambda url, allow_loopback: None)
    with pytest.raises(PermanentChannelError, match="connect time"):
        send(f"http://{host}:{receiver.port}/hook", allow_loopback=False)
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (SERVER_ERROR, TransientChannelError, None),
        (rate_limited(120), TransientChannelError, 120),
        (Reply(status=410, body="gone"), PermanentChannelError, None),
        (Reply(status=400, body="bad"), PermanentChannelError, None),
        (HANG, AmbiguousChannelError, None),
        (CLOSE, AmbiguousChannelError, None),
    ],
)
def test_receiver_failures_are_classified(receiver, reply, error, retry_after):
    receiver.reply(reply)
    with pytest.raises(error) as raised:
        send(receiver.url("/hook"), timeout=timeout_for(reply))
    assert getattr(raised.value, "retry_after", None) == retry_after


def test_a_closed_port_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientChannelError, match="could not connect"):
        send(f"http://127.0.0.1:{port}/hook")


def test_a_malformed_signing_secret_is_permanent(receiver):
    with pytest.raises(PermanentChannelError, match="signing secret"):
        channel = WebhookChannel({}, {}, allow_loopback=True)
        update = sample_update(recipient=recipient(receiver.url(), secret="whsec_not base64!"))
        channel.send(channel.render(update), "k")
    assert receiver.requests == []


def test_a_published_update_reaches_a_confirmed_webhook_subscriber(app, make, receiver):
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    hooks = Channel(kind=ChannelKind.WEBHOOK, name="webhook subscribers")
    subscriber = Subscriber(
        kind=SubscriberKind.WEBHOOK,
        target=receiver.url("/hook"),
        signing_secret=secret,
        confirmed_at=utcnow(),
    )
    db.session.add_all([hooks, subscriber])
    db.session.commit()
    make.incident(name="Checkout down", impact=Impact.CRITICAL)  # still open meanwhile
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    message = publish_update(comms, im, make.incident(), "We found the cause.", "resolved")
    deliver_batch(message.id, hooks.id)
    db.session.expire_all()
    [row] = db.session.query(Delivery).filter_by(channel_id=hooks.id).all()
    assert row.state == DeliveryState.SENT and row.external_id == row.idempotency_key
    [request] = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == row.idempotency_key
    assert payload["incident"]["incident_updates"][0]["body"] == "We found the cause."
    assert f"/subscriptions/{subscriber.token}/unsubscribe" in payload["meta"]["unsubscribe"]
    status = app.test_client().get("/api/v2/status.json").get_json()
    assert payload["page"]["id"] == status["page"]["id"]
    assert payload["page"]["status_indicator"] == status["status"]["indicator"] == "critical"
    assert payload["page"]["status_description"] == status["status"]["description"]
