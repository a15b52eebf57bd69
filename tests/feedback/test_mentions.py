"""Social mentions through Mastodon.py against mastodon-mock (a real Mastodon API on
127.0.0.1): stored once by external id, replies to our posts linked to the incident, and a
reply on the network that closes the loop."""

from __future__ import annotations

import pytest
import requests
from mastodon_mock.testing.server import MockServer
from sqlalchemy import select

from publisher.extensions import db
from publisher.models import (
    ChannelKind,
    Delivery,
    DeliveryState,
    FeedbackReport,
    FeedbackSource,
    IncidentStatus,
    LoopNotice,
    MentionCursor,
    SendState,
    TriageState,
    utcnow,
)
from publisher.services.feedback import loop, mentions
from publisher.services.updates import record_published_update


@pytest.fixture(scope="module")
def mock_server():
    with MockServer() as server:
        yield server


@pytest.fixture
def server(mock_server):
    requests.post(f"{mock_server.base_url}/api/v1/_mock/reset", timeout=5).raise_for_status()
    return mock_server


def api(server, token, method, path, **kwargs):
    response = requests.request(
        method,
        server.base_url + path,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
        **kwargs,
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def account(server, outlets):
    """Our organisation's Mastodon outlet (alice); bob is a customer."""
    return outlets(
        ChannelKind.MASTODON,
        "Mastodon",
        settings={"server_url": server.base_url},
        secrets={"access_token": "alice_token"},
    )


def _stored():
    db.session.expire_all()
    return db.session.scalars(select(FeedbackReport).order_by(FeedbackReport.id)).all()


def test_mentions_are_stored_once_and_replies_to_our_post_are_linked(server, account, make):
    incident = make.incident()
    ours = api(server, "alice_token", "POST", "/api/v1/statuses", data={"status": "Investigating"})
    db.session.add(
        Delivery(
            message_id=incident.messages[0].id,
            channel_id=account.id,
            state=DeliveryState.SENT,
            idempotency_key="k1",
            external_id=ours["id"],
        )
    )
    db.session.commit()
    reply = api(
        server,
        "bob_token",
        "POST",
        "/api/v1/statuses",
        data={"status": "@alice still <b>broken</b> for me", "in_reply_to_id": ours["id"]},
    )
    api(server, "bob_token", "POST", "/api/v1/statuses", data={"status": "@alice login is slow"})
    assert mentions.poll_all() == 2
    assert mentions.poll_all() == 0  # the cursor and the unique id keep each one once
    linked, loose = _stored()
    assert linked.source == FeedbackSource.MASTODON and linked.external_id == reply["id"]
    assert linked.incident_id == incident.id and linked.state == TriageState.LINKED
    # Mastodon sends HTML; what bob typed comes back as plain text (escaped when shown).
    assert linked.body == "@alice still <b>broken</b> for me"
    assert linked.contact == "bob"
    assert loose.incident_id is None and loose.state == TriageState.NEW
    cursor = db.session.get(MentionCursor, account.id)
    assert cursor.cursor and cursor.last_error is None


def test_storing_the_same_mention_twice_keeps_one(account, make):
    mention = mentions.Mention(external_id="123", text="hi", author="bob", reply_ref="123")
    assert mentions.store(account, mention) is True
    assert mentions.store(account, mention) is False
    db.session.commit()
    assert len(_stored()) == 1


def test_a_failing_network_is_recorded_not_raised(server, outlets):
    broken = outlets(
        ChannelKind.MASTODON,
        "Revoked",
        settings={"server_url": server.base_url},
        secrets={"access_token": "revoked"},
    )
    assert mentions.poll_all() == 0
    cursor = db.session.get(MentionCursor, broken.id)
    assert cursor.last_error


def test_a_mention_hears_back_by_a_reply_in_its_thread(server, account, make):
    incident = make.incident()
    question = api(server, "bob_token", "POST", "/api/v1/statuses", data={"status": "@alice down?"})
    mentions.poll_all()
    [report] = _stored()
    report.incident_id, report.state = incident.id, TriageState.LINKED
    db.session.commit()
    record_published_update(incident, IncidentStatus.RESOLVED, "All fixed now.", utcnow())
    db.session.commit()
    assert len(loop.close_loops()) == 1
    assert loop.send_due(utcnow()) == 1
    notice = db.session.scalars(select(LoopNotice)).one()
    assert notice.state == SendState.SENT
    answer = api(server, "bob_token", "GET", f"/api/v1/statuses/{notice.external_id}")
    assert answer["in_reply_to_id"] == question["id"]
    assert "@bob" in answer["content"] and "fixed" in answer["content"].lower()


def test_x_mentions_through_tweepy_are_stored_once_and_linked(outlets, make):
    from .fake_x_mentions import FakeXWithMentions

    fake = FakeXWithMentions().start()
    try:
        channel = outlets(
            ChannelKind.X,
            "X",
            settings={"account": "herald", "api_base_url": fake.url},
            secrets={
                "consumer_key": "ck",
                "consumer_secret": "cs",
                "access_token": "at",
                "access_token_secret": "ats",
            },
        )
        incident = make.incident()
        db.session.add(
            Delivery(
                message_id=incident.messages[0].id,
                channel_id=channel.id,
                state=DeliveryState.SENT,
                idempotency_key="x1",
                external_id="1790000000000000000",
            )
        )
        db.session.commit()
        reply = fake.mention("dana", "@herald still failing", reply_to="1790000000000000000")
        fake.mention("erin", "@herald is the API down?")
        assert mentions.poll_all() == 2
        fake.mention("erin", "@herald hello again")
        assert mentions.poll_all() == 1  # since_id: only the new one
        first, second, third = _stored()
        assert first.source == FeedbackSource.X and first.external_id == reply
        assert first.incident_id == incident.id and first.contact == "dana"
        assert second.incident_id is None and third.body == "@herald hello again"
        since = [r.query.get("since_id") for r in fake.requests if r.path.endswith("/mentions")]
        assert since == [None, fake.mentions[1]["id"]]
    finally:
        fake.stop()


def test_a_busy_outage_on_mastodon_loses_no_mention_between_polls(server, account):
    """More mentions than one page between two polls: each poll reads on from the cursor
    (min_id), so none is skipped."""
    api(server, "bob_token", "POST", "/api/v1/statuses", data={"status": "@alice slow?"})
    assert mentions.poll_all() == 1  # the cursor now stands at the first mention
    burst = mentions.PAGE + 20  # more than a page (the server may cap a page lower still)
    for n in range(burst):
        api(server, "bob_token", "POST", "/api/v1/statuses", data={"status": f"@alice down {n}"})
    polled = [mentions.poll_all() for _ in range(4)]
    assert sum(polled) == burst and polled[-1] == 0
    assert len({report.external_id for report in _stored()}) == burst + 1


def test_a_busy_outage_on_x_loses_no_mention_between_polls(outlets):
    """More mentions than one page between two polls: the poll follows X's pages."""
    from .fake_x_mentions import FakeXWithMentions

    fake = FakeXWithMentions().start()
    try:
        outlets(
            ChannelKind.X,
            "X",
            settings={"account": "herald", "api_base_url": fake.url},
            secrets={
                "consumer_key": "ck",
                "consumer_secret": "cs",
                "access_token": "at",
                "access_token_secret": "ats",
            },
        )
        for n in range(2 * mentions.PAGE + 7):
            fake.mention("erin", f"@herald down {n}")
        assert mentions.poll_all() == 2 * mentions.PAGE + 7
        fake.mention("erin", "@herald and again")
        assert mentions.poll_all() == 1
        assert len(_stored()) == 2 * mentions.PAGE + 8
    finally:
        fake.stop()
