"""Slack incoming webhooks, against a real receiver on 127.0.0.1."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet

from publisher.channels import (
    AmbiguousChannelError,
    PermanentChannelError,
    TransientChannelError,
)
from publisher.channels.slack import SlackChannel, mrkdwn
from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch
from publisher.models import Channel, ChannelKind, Delivery, DeliveryState, Role
from publisher.services import channel_config, composer

from ..corpus import lines
from ..staff import make_user
from .fake_http import (
    CLOSE,
    HANG,
    MALFORMED,
    PATIENT,
    SERVER_ERROR,
    FakeHTTPServer,
    Reply,
    rate_limited,
    redirect,
    sample_update,
    timeout_for,
)

# Outside an entity, no &, < or > may reach Slack's mrkdwn parser.
UNESCAPED = re.compile(r"[<>]|&(?!(?:amp|lt|gt);)")


@pytest.fixture
def receiver():
    with FakeHTTPServer() as server:
        yield server


def slack(url: str, allow_loopback: bool = True, timeout=PATIENT) -> SlackChannel:
    return SlackChannel({}, {"webhook_url": url}, allow_loopback=allow_loopback, timeout=timeout)


def mrkdwn_texts(data: dict) -> list[str]:
    texts = [data["text"]]
    for block in data["blocks"]:
        parts = [block.get("text") or {}, *block.get("elements", [])]
        texts += [p["text"] for p in parts if p.get("type") == "mrkdwn"]
    return texts


def test_an_update_posts_blocks_with_a_fallback_text(receiver):
    channel = slack(receiver.url("/services/T0/B0/secret"))
    receipt = channel.send(channel.render(sample_update()), "msg0001-2")
    [request] = receiver.requests
    body = request.json()
    assert request.method == "POST" and request.headers["Content-Type"].startswith(
        "application/json"
    )
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context", "actions"]
    header, section, context, actions = body["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "Elevated errors", "emoji": True}
    assert section["text"]["type"] == "mrkdwn" and "We found the cause." in section["text"]["text"]
    assert "Identified" in context["elements"][0]["text"]
    assert "minor" in context["elements"][0]["text"]
    [button] = actions["elements"]
    assert button["url"] == "http://status.test/incidents/inc0001"
    assert body["text"] == "[Identified] Elevated errors"
    assert receipt.external_id is None


def test_a_correction_says_so(receiver):
    channel = slack(receiver.url("/hook"))
    channel.send(channel.render(sample_update(is_correction=True, revises=None)), "k")
    header, section, *_ = receiver.requests[0].json()["blocks"]
    assert header["text"]["text"].startswith("Correction")
    assert section["text"]["text"].startswith("*Correction:*")


@pytest.mark.parametrize(
    "hostile", [*lines("xss.txt"), "<!channel> <@U123> <https://evil.example|bank>"]
)
def test_hostile_text_is_shown_as_text(receiver, hostile):
    update = sample_update(
        incident_name=hostile,
        status_label=hostile,
        impact=hostile,
        body_text=hostile,
        variants={"slack": hostile},
    )
    channel = slack(receiver.url("/hook"))
    channel.send(channel.render(update), "k")
    data = receiver.requests[0].json()
    for text in mrkdwn_texts(data):
        assert not UNESCAPED.search(text), text
    assert data["blocks"][0]["text"]["type"] == "plain_text"  # never parsed for links


def test_escaping_leaves_already_escaped_text_alone():
    assert mrkdwn("a & b <c>") == "a &amp; b &lt;c&gt;"
    assert mrkdwn(mrkdwn("a & b <c>")) == "a &amp; b &lt;c&gt;"


def test_over_long_text_is_cut_to_slack_limits(receiver):
    update = sample_update(incident_name="n" * 400, variants={"slack": "&" * 2000})
    channel = slack(receiver.url("/hook"))
    data = channel.render(update).data
    header, section, *_ = data["blocks"]
    assert len(header["text"]["text"]) == 150 and header["text"]["text"].endswith("…")
    assert len(section["text"]["text"]) <= 3000
    assert section["text"]["text"].endswith("&amp;…")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (SERVER_ERROR, TransientChannelError),
        (Reply(status=400, body="invalid_payload"), PermanentChannelError),
        (Reply(status=404, body="no_service"), PermanentChannelError),
        (HANG, AmbiguousChannelError),
        (CLOSE, AmbiguousChannelError),
    ],
)
def test_slack_failures_are_classified(receiver, reply, error):
    receiver.reply(reply)
    channel = slack(receiver.url("/services/T0/B0/secret"), timeout=timeout_for(reply))
    with pytest.raises(error) as raised:
        channel.send(channel.render(sample_update()), "k")
    assert "secret" not in raised.value.message  # the webhook URL is a credential


def test_a_rate_limit_sets_retry_after(receiver):
    receiver.reply(rate_limited(30))
    channel = slack(receiver.url("/hook"))
    with pytest.raises(TransientChannelError) as raised:
        channel.send(channel.render(sample_update()), "k")
    assert raised.value.retry_after == 30


def test_a_2xx_with_an_odd_body_counts_as_sent(receiver):
    receiver.reply(MALFORMED)
    channel = slack(receiver.url("/hook"))
    assert channel.send(channel.render(sample_update()), "k").external_id is None


def test_a_redirect_is_not_followed(receiver):
    receiver.reply(redirect(receiver.url("/elsewhere")))
    channel = slack(receiver.url("/hook"))
    with pytest.raises(PermanentChannelError, match="redirect"):
        channel.send(channel.render(sample_update()), "k")
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("url", lines("ssrf_urls.txt"))
def test_an_internal_webhook_url_is_refused(url):
    channel = slack(url, allow_loopback=False)
    with pytest.raises(PermanentChannelError, match="refused"):
        channel.send(channel.render(sample_update()), "k")


def test_a_published_update_is_posted_to_slack(app, make, receiver):
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True
    channel = Channel(kind=ChannelKind.SLACK, name="#status")
    channel_config.store_secrets(channel, {"webhook_url": receiver.url("/services/T0/B0/x")})
    db.session.add(channel)
    db.session.commit()
    message = publish(make.incident(name="Login <failures> & more"), "We found the cause.")
    deliver_batch(message.id, channel.id)
    db.session.expire_all()
    [row] = db.session.query(Delivery).filter_by(channel_id=channel.id).all()
    assert row.state == DeliveryState.SENT and row.external_id is None
    [request] = receiver.requests
    body = request.json()
    assert body["blocks"][0]["text"]["text"] == "Login <failures> & more"
    assert "Login &lt;failures&gt; &amp; more" in body["blocks"][1]["text"]["text"]


def publish(incident, body):
    comms, im = make_user(Role.COMMS_MANAGER), make_user(Role.INCIDENT_MANAGER)
    message = composer.create_draft(comms, incident, incident_status="identified", body=body)
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    return composer.publish(comms, message)
