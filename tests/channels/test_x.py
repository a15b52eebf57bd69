"""The X channel against a local server that speaks X's API v2 (POST /2/tweets)."""

from __future__ import annotations

import pytest

from publisher.channels import (
    AmbiguousChannelError,
    PermanentChannelError,
    TransientChannelError,
)
from publisher.channels.x import XChannel
from publisher.models import Channel, ChannelKind, DeliveryState

from .fake_http import IMPATIENT
from .fake_x import FakeX
from .social import X_SECRETS, post, serving, through_the_engine
from .social import x_channel as channel


@pytest.fixture
def fake():
    yield from serving(FakeX())


def test_an_update_is_posted_with_its_x_text_signed_with_oauth(fake):
    receipt = post(channel(fake.url), "[Identified] API errors http://status.test/i/1")
    [seen] = fake.requests
    assert seen.body == {"text": "[Identified] API errors http://status.test/i/1"}
    assert seen.headers["authorization"].startswith("OAuth ")
    assert 'oauth_consumer_key="ck"' in seen.headers["authorization"]
    assert receipt.external_id == fake.tweets[0]["id"] and not receipt.duplicate
    assert receipt.url == f"https://x.com/herald/status/{receipt.external_id}"


def test_later_updates_of_an_incident_are_posted_as_replies_to_the_previous_post(fake):
    outlet = channel(fake.url)
    first = post(outlet, "Investigating")
    second = post(outlet, "Identified", reply_to=first.external_id)
    post(outlet, "Resolved", reply_to=second.external_id)
    assert [t["in_reply_to"] for t in fake.tweets] == [None, first.external_id,
                                                       second.external_id]  # fmt: skip
    assert fake.requests[1].body["reply"] == {"in_reply_to_tweet_id": first.external_id}


def test_a_correction_replies_to_the_post_it_corrects(fake):
    outlet = channel(fake.url)
    first = post(outlet, "Investigating")
    second = post(outlet, "Identified", reply_to=first.external_id)
    post(outlet, "Identified (corrected)", reply_to=second.external_id,
         revises=first.external_id, is_correction=True)  # fmt: skip
    assert fake.tweets[-1]["in_reply_to"] == first.external_id


def test_a_text_x_already_has_counts_as_sent(fake):
    outlet = channel(fake.url)
    post(outlet, "Resolved")
    receipt = post(outlet, "Resolved")
    assert receipt.duplicate and receipt.external_id is None
    assert len(fake.tweets) == 1


def test_a_server_error_is_transient(fake):
    fake.fail_next(500)
    with pytest.raises(TransientChannelError):
        post(channel(fake.url), "Investigating")
    assert fake.tweets == []


def test_a_rate_limit_is_transient_and_waits_until_the_reset(fake):
    fake.fail_next("rate_limit")
    with pytest.raises(TransientChannelError) as caught:
        post(channel(fake.url), "Investigating")
    assert 100 < caught.value.retry_after <= 121


def test_no_answer_after_sending_is_ambiguous(fake):
    fake.fail_next("hang")
    with pytest.raises(AmbiguousChannelError):
        post(channel(fake.url, timeout=IMPATIENT), "Investigating")
    assert len(fake.tweets) == 1  # X took it: a blind retry would have posted twice


@pytest.mark.parametrize("fault", ["malformed", "close"])
def test_a_broken_answer_after_sending_is_ambiguous(fake, fault):
    fake.fail_next(fault)
    with pytest.raises(AmbiguousChannelError):
        post(channel(fake.url), "Investigating")


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refusals_and_bad_credentials_are_permanent(fake, status):
    fake.fail_next(status)
    with pytest.raises(PermanentChannelError):
        post(channel(fake.url), "Investigating")


def test_a_redirect_is_not_followed(fake):
    fake.fail_next("redirect")
    with pytest.raises(PermanentChannelError):
        post(channel(fake.url), "Investigating")
    assert [seen.path for seen in fake.requests] == ["/2/tweets"]


def test_missing_credentials_fail_before_any_request():
    with pytest.raises(PermanentChannelError, match="access_token"):
        XChannel({"account": "herald"}, {"consumer_key": "ck", "consumer_secret": "cs"})


def test_the_engine_posts_an_incident_as_one_thread(app, make, fake):
    x = Channel(kind=ChannelKind.X, name="@herald",
                settings={"account": "herald", "api_base_url": fake.url})  # fmt: skip
    rows = through_the_engine(app, make, x, X_SECRETS)
    assert [row.state for row in rows] == [DeliveryState.SENT] * 3
    assert [t["id"] for t in fake.tweets] == [row.external_id for row in rows]
    assert [t["in_reply_to"] for t in fake.tweets] == [None, *[r.external_id for r in rows[:2]]]
    assert "Found the cause." in fake.tweets[1]["text"]
