"""Mastodon through Mastodon.py, against mastodon-mock (a real Mastodon API on 127.0.0.1)."""

from __future__ import annotations

import socket

import pytest
import requests
from cryptography.fernet import Fernet
from mastodon_mock.testing.server import MockServer

from publisher.channels import (
    AmbiguousChannelError,
    PermanentChannelError,
    TransientChannelError,
)
from publisher.channels.mastodon import MastodonChannel
from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch
from publisher.models import Channel, ChannelKind, Delivery, DeliveryState, Role
from publisher.services import channel_config, composer

from ..staff import make_user
from .fake_http import sample_update

TOKEN = "alice_token"  # seeded by mastodon-mock's default test seed


@pytest.fixture(scope="module")
def mock_server():
    with MockServer() as server:
        yield server


@pytest.fixture
def server(mock_server):
    requests.post(f"{mock_server.base_url}/api/v1/_mock/reset", timeout=5).raise_for_status()
    return mock_server


def mastodon(
    server, token=TOKEN, allow_loopback=True, timeout=(2, 10), **settings
) -> MastodonChannel:
    settings = {"server_url": server.base_url, **settings}
    secrets = {"access_token": token}
    return MastodonChannel(settings, secrets, allow_loopback=allow_loopback, timeout=timeout)


def post(channel: MastodonChannel, key: str = "msg0001-1", **changes):
    return channel.send(channel.render(sample_update(**changes)), key)


def api(server, method: str, path: str, **kwargs):
    headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
    response = requests.request(
        method, server.base_url + path, headers=headers, timeout=5, **kwargs
    )
    response.raise_for_status()
    return response.json()


def own_statuses(server) -> list[dict]:
    me = api(server, "GET", "/api/v1/accounts/verify_credentials")
    return api(server, "GET", f"/api/v1/accounts/{me['id']}/statuses")


def fault(server, count: int = 1, **effect) -> None:
    rule = {
        "match": {"path": "/api/v1/statuses", "methods": ["POST"]},
        "effect": effect,
        "count": count,
    }
    api(server, "POST", "/api/v1/_mock/faults", json=rule)


def test_an_update_is_posted_with_the_chosen_visibility(server):
    receipt = post(mastodon(server, visibility="unlisted"))
    status = api(server, "GET", f"/api/v1/statuses/{receipt.external_id}")
    assert status["visibility"] == "unlisted"
    assert "We found the cause." in status["content"]
    assert receipt.url == status["url"]


def test_the_second_update_of_an_incident_replies_to_the_first(server):
    channel = mastodon(server)
    first = post(channel, "msg0001-1")
    second = post(channel, "msg0002-1", message_id="msg0002", reply_to=first.external_id)
    status = api(server, "GET", f"/api/v1/statuses/{second.external_id}")
    assert status["in_reply_to_id"] == first.external_id


def test_the_idempotency_key_is_the_delivery_key_and_a_resend_does_not_double_post(server):
    channel = mastodon(server)
    first = post(channel, "msg0001-1")
    again = post(channel, "msg0001-1")
    assert again.external_id == first.external_id
    # The server filed the status under exactly our key: a raw post with it gets the same one.
    raw = api(
        server,
        "POST",
        "/api/v1/statuses",
        data={"status": "other text"},
        headers={"Idempotency-Key": "msg0001-1"},
    )
    assert raw["id"] == first.external_id
    assert len(own_statuses(server)) == 1


def test_a_timeout_after_sending_is_ambiguous_and_a_retry_with_the_key_posts_once(server):
    fault(server, type="latency", delay_ms=12000)
    with pytest.raises(AmbiguousChannelError, match="may have been taken"):
        post(mastodon(server, timeout=(2, 5)), "msg0001-1")
    channel = mastodon(server)
    retried = post(channel, "msg0001-1")
    again = post(channel, "msg0001-1")
    assert [s["id"] for s in own_statuses(server)] == [retried.external_id]
    assert again.external_id == retried.external_id


def test_a_revision_edits_the_earlier_status(server):
    channel = mastodon(server)
    original = post(channel, "msg0001-1")
    variants = {"mastodon": "[Identified] Elevated errors: the cause was a bad deploy."}
    edited = post(
        channel,
        "msg0003-1",
        message_id="msg0003",
        revises=original.external_id,
        reply_to=original.external_id,
        variants=variants,
    )
    assert edited.external_id == original.external_id
    status = api(server, "GET", f"/api/v1/statuses/{original.external_id}")
    assert "bad deploy" in status["content"] and status["edited_at"]
    assert len(own_statuses(server)) == 1


def test_over_500_characters_is_refused_for_good(server):
    with pytest.raises(PermanentChannelError, match=r"422.*too long"):
        post(mastodon(server), variants={"mastodon": "x" * 501})


def test_a_rate_limit_is_transient_and_says_when_to_retry(server):
    fault(server, type="ratelimit")
    with pytest.raises(TransientChannelError, match="429") as raised:
        post(mastodon(server))
    assert 250 < raised.value.retry_after < 302  # X-RateLimit-Reset is now + 300


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_transient(server, status):
    fault(server, type="status", status=status)
    with pytest.raises(TransientChannelError):
        post(mastodon(server))


def test_an_unreadable_answer_is_ambiguous(server):
    fault(server, type="malformed")
    with pytest.raises(AmbiguousChannelError, match="unreadable"):
        post(mastodon(server))


def test_a_bad_token_is_permanent(server):
    with pytest.raises(PermanentChannelError, match="401"):
        post(mastodon(server, token="revoked"))


def test_a_server_on_an_internal_address_is_refused(server):
    with pytest.raises(PermanentChannelError, match="refused"):
        post(mastodon(server, allow_loopback=False))
    assert own_statuses(server) == []


def test_a_refused_connection_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = MastodonChannel(
        {"server_url": f"http://127.0.0.1:{port}"}, {"access_token": TOKEN}, allow_loopback=True
    )
    with pytest.raises(TransientChannelError, match="could not connect"):
        post(channel)


def test_published_updates_thread_and_a_revision_edits_through_the_engine(app, make, server):
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True
    channel = Channel(
        kind=ChannelKind.MASTODON,
        name="@status",
        settings={"server_url": server.base_url, "visibility": "public"},
    )
    channel_config.store_secrets(channel, {"access_token": TOKEN})
    db.session.add(channel)
    db.session.commit()
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    incident = make.incident()
    first = publish(
        comms,
        im,
        composer.create_draft(
            comms, incident, incident_status="identified", body="We found the cause."
        ),
    )
    deliver_batch(first.id, channel.id)
    second = publish(
        comms,
        im,
        composer.create_draft(comms, incident, incident_status="monitoring", body="A fix is out."),
    )
    deliver_batch(second.id, channel.id)
    first_id, second_id = (row.external_id for row in deliveries(channel))
    assert api(server, "GET", f"/api/v1/statuses/{second_id}")["in_reply_to_id"] == first_id

    revision = composer.start_revision(comms, first)
    composer.edit_message(comms, revision, body="We found the cause: a bad deploy.")
    deliver_batch(publish(comms, im, revision).id, channel.id)
    rows = deliveries(channel)
    assert [r.state for r in rows] == [DeliveryState.SENT] * 3
    assert rows[2].external_id == first_id
    assert "bad deploy" in api(server, "GET", f"/api/v1/statuses/{first_id}")["content"]
    assert len(own_statuses(server)) == 2


def deliveries(channel) -> list[Delivery]:
    db.session.expire_all()
    return db.session.query(Delivery).filter_by(channel_id=channel.id).order_by(Delivery.id).all()


def publish(comms, im, message):
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    return composer.publish(comms, message)
