"""Bluesky mentions through atproto against a PDS-speaking server on 127.0.0.1: each stored
once by its at:// uri, a reply to one of our posts linked to that post's incident, a network
failure recorded (not raised), and the closing-the-loop reply landing in the customer's
thread."""

from __future__ import annotations

import pytest
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
from tests.channels.fake_bluesky import APP_PASSWORD, DID, HANDLE

from .fake_bluesky_notifications import FakeBlueskyWithNotifications


@pytest.fixture
def fake():
    server = FakeBlueskyWithNotifications().start()
    yield server
    server.stop()


@pytest.fixture
def account(fake, outlets):
    """Our organisation's Bluesky outlet, with its app password."""
    return outlets(
        ChannelKind.BLUESKY,
        "Bluesky",
        settings={"handle": HANDLE, "service_url": fake.url},
        secrets={"app_password": APP_PASSWORD},
    )


def _stored():
    db.session.expire_all()
    return db.session.scalars(select(FeedbackReport).order_by(FeedbackReport.id)).all()


def _delivered(incident, channel, external_id):
    """Our update went out on this outlet as that post."""
    db.session.add(
        Delivery(
            message_id=incident.messages[0].id,
            channel_id=channel.id,
            state=DeliveryState.SENT,
            idempotency_key=f"bsky-{external_id[-8:]}",
            external_id=external_id,
        )
    )
    db.session.commit()


def test_mentions_are_stored_once_and_replies_to_our_post_are_linked(fake, account, make):
    incident = make.incident()
    ours = fake.our_post("[Investigating] Checkout failing")
    _delivered(incident, account, ours)
    reply = fake.customer_post("dana.bsky.social", "still <b>broken</b> here", reply_to=ours)
    fake.like("erin.bsky.social", ours.partition("|")[0])  # not a mention: ignored
    loose = fake.customer_post("erin.bsky.social", f"@{HANDLE} is the API down?")
    assert mentions.poll_all() == 2
    assert mentions.poll_all() == 0  # the cursor and the unique uri keep each one once
    linked, other = _stored()
    assert linked.source == FeedbackSource.BLUESKY and linked.external_id == reply
    assert linked.incident_id == incident.id and linked.state == TriageState.LINKED
    assert linked.body == "still <b>broken</b> here" and linked.contact == "dana.bsky.social"
    assert linked.in_reply_to == ours.partition("|")[0]
    assert linked.reply_ref.startswith(reply + "|")
    assert linked.external_url.startswith("https://bsky.app/profile/dana.bsky.social/post/")
    assert other.external_id == loose and other.incident_id is None
    assert other.state == TriageState.NEW
    # A reply to a mention already linked joins the same incident.
    follow_up = fake.customer_post("erin.bsky.social", "me too", reply_to=linked.reply_ref)
    assert mentions.poll_all() == 1
    assert _stored()[-1].external_id == follow_up and _stored()[-1].incident_id == incident.id
    cursor = db.session.get(MentionCursor, account.id)
    assert cursor.cursor == fake.notifications[-1]["indexedAt"] and cursor.last_error is None
    assert fake.calls("com.atproto.server.createSession")  # signed in with the app password


def test_a_busy_outage_brings_more_than_one_page_between_polls(fake, account):
    """More mentions than one page of listNotifications between two polls: none is lost."""
    fake.customer_post("first.bsky.social", "before")
    assert mentions.poll_all() == 1
    for n in range(mentions.PAGE + 15):
        fake.customer_post(f"user{n}.bsky.social", f"down for me {n}")
    assert mentions.poll_all() == mentions.PAGE + 15
    assert len(_stored()) == mentions.PAGE + 16
    assert mentions.poll_all() == 0


def test_a_network_failure_is_recorded_not_raised(fake, account):
    fake.customer_post("dana.bsky.social", f"@{HANDLE} hello")
    fake.fail_next(502, path="/xrpc/app.bsky.notification.listNotifications")
    assert mentions.poll_all() == 0
    cursor = db.session.get(MentionCursor, account.id)
    assert cursor.last_error and "502" in cursor.last_error and cursor.cursor is None
    assert mentions.poll_all() == 1  # the next poll catches up
    db.session.refresh(cursor)
    assert cursor.last_error is None
    fake.stop()  # the PDS is unreachable now
    fake.customer_post("erin.bsky.social", "lost in transit")
    assert mentions.poll_all() == 0
    db.session.refresh(cursor)
    assert "could not reach Bluesky" in cursor.last_error


def test_a_wrong_app_password_is_recorded_not_raised(fake, outlets):
    revoked = outlets(
        ChannelKind.BLUESKY,
        "Revoked",
        settings={"handle": HANDLE, "service_url": fake.url},
        secrets={"app_password": "wrong-wrong-wrong-wrong"},
    )
    assert mentions.poll_all() == 0
    assert "401" in db.session.get(MentionCursor, revoked.id).last_error


def test_a_reply_closes_the_loop_in_the_customers_thread(fake, account, make):
    incident = make.incident(name="Checkout failing")
    ours = fake.our_post("[Investigating] Checkout failing")
    _delivered(incident, account, ours)
    asked = fake.customer_post("dana.bsky.social", "down for me too", reply_to=ours)
    mentions.poll_all()
    [report] = _stored()
    assert report.incident_id == incident.id and report.wants_updates
    record_published_update(incident, IncidentStatus.RESOLVED, "All fixed now.", utcnow())
    db.session.commit()
    assert len(loop.close_loops()) == 1
    assert loop.send_due(utcnow()) == 1
    notice = db.session.scalars(select(LoopNotice)).one()
    assert notice.state == SendState.SENT and notice.last_error is None
    [answer] = fake.replies_to(asked)
    assert notice.external_id == f"{answer['uri']}|{answer['cid']}"
    assert answer["uri"].startswith(f"at://{DID}/")
    reply = answer["record"]["reply"]
    # In the customer's thread: under their post, rooted at the thread's first post (ours).
    assert reply["parent"]["uri"] == asked
    assert reply["root"]["uri"] == ours.partition("|")[0]
    assert "fixed" in answer["record"]["text"].lower()
    assert loop.close_loops() == [] and loop.send_due(utcnow()) == 0  # once


def test_a_mention_outside_any_thread_is_answered_under_it(fake, account, make):
    incident = make.incident()
    asked = fake.customer_post("erin.bsky.social", f"@{HANDLE} is checkout down?")
    mentions.poll_all()
    [report] = _stored()
    report.incident_id, report.state = incident.id, TriageState.LINKED
    db.session.commit()
    record_published_update(incident, IncidentStatus.RESOLVED, "All fixed now.", utcnow())
    db.session.commit()
    loop.close_loops()
    assert loop.send_due(utcnow()) == 1
    [answer] = fake.replies_to(asked)
    assert answer["record"]["reply"]["root"]["uri"] == asked  # their post starts the thread


def test_polls_and_a_reply_sign_in_once_and_an_expired_token_is_refreshed(fake, account, make):
    """createSession is rate-limited (300 a day): the session is kept between polls and
    posts, and refreshed, not created again, when the PDS says its access token expired."""
    incident = make.incident(name="Checkout failing")
    ours = fake.our_post("[Investigating] Checkout failing")
    _delivered(incident, account, ours)
    asked = fake.customer_post("dana.bsky.social", "down for me too", reply_to=ours)
    assert [mentions.poll_all() for _ in range(3)] == [1, 0, 0]
    record_published_update(incident, IncidentStatus.RESOLVED, "All fixed now.", utcnow())
    db.session.commit()
    loop.close_loops()
    assert loop.send_due(utcnow()) == 1  # a post, through the same kept session
    assert len(fake.replies_to(asked)) == 1
    assert _sign_ins(fake) == (1, 0)

    fake.expire_access_tokens()
    fake.customer_post("erin.bsky.social", f"@{HANDLE} is it really fixed?")
    assert mentions.poll_all() == 1
    assert _sign_ins(fake) == (1, 1)
    assert db.session.get(MentionCursor, account.id).last_error is None
    assert mentions.poll_all() == 0 and _sign_ins(fake) == (1, 1)  # the refreshed one is kept


def test_a_revoked_session_is_replaced_by_signing_in_again(fake, account):
    fake.customer_post("dana.bsky.social", f"@{HANDLE} hello")
    assert mentions.poll_all() == 1
    fake.revoke_sessions()  # neither token works; the app password still does
    fake.customer_post("erin.bsky.social", f"@{HANDLE} hello again")
    assert mentions.poll_all() == 1
    assert _sign_ins(fake) == (2, 1)


def _sign_ins(fake) -> tuple[int, int]:
    """(createSession calls, refreshSession calls) the PDS has had."""
    return (
        len(fake.calls("com.atproto.server.createSession")),
        len(fake.calls("com.atproto.server.refreshSession")),
    )
