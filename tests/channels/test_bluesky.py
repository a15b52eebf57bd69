"""The Bluesky channel against a local server that speaks the PDS's XRPC."""

from __future__ import annotations

import threading

import pytest

from publisher.channels import (
    AmbiguousChannelError,
    PermanentChannelError,
    SessionStore,
    TransientChannelError,
)
from publisher.channels.bluesky import link_facets
from publisher.models import Channel, ChannelKind, DeliveryState

from .fake_bluesky import APP_PASSWORD, DID, HANDLE, FakeBluesky
from .fake_http import IMPATIENT
from .social import bluesky_channel as channel
from .social import post, serving, through_the_engine

CREATE = "/xrpc/com.atproto.repo.createRecord"
LOGIN = "/xrpc/com.atproto.server.createSession"
SIGN_IN, REFRESH = "com.atproto.server.createSession", "com.atproto.server.refreshSession"
REFRESH_PATH = f"/xrpc/{REFRESH}"


@pytest.fixture
def fake():
    yield from serving(FakeBluesky())


def ref(receipt):
    uri, cid = receipt.external_id.split("|")
    return {"uri": uri, "cid": cid}


def reply(created, end):
    """The root or parent strong ref of a created post, without its $type."""
    strong = created["record"]["reply"][end]
    return {"uri": strong["uri"], "cid": strong["cid"]}


def test_an_update_is_posted_with_its_bluesky_text(fake):
    receipt = post(channel(fake.url), "[Identified] API errors")
    [created] = fake.posts
    assert created["record"]["text"] == "[Identified] API errors"
    assert "reply" not in created["record"] and created["uri"].startswith(f"at://{DID}/")
    assert receipt.external_id == f"{created['uri']}|{created['cid']}"
    rkey = created["uri"].rsplit("/", 1)[1]
    assert receipt.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"


def test_three_updates_form_one_thread_with_the_first_post_as_root(fake):
    outlet = channel(fake.url)
    first = post(outlet, "Investigating")
    second = post(outlet, "Identified", reply_to=first.external_id)
    post(outlet, "Resolved", reply_to=second.external_id)
    one, two, three = fake.posts
    assert "reply" not in one["record"]
    assert (reply(two, "root"), reply(two, "parent")) == (ref(first), ref(first))
    assert (reply(three, "root"), reply(three, "parent")) == (ref(first), ref(second))


def test_a_correction_replies_to_the_post_it_corrects(fake):
    outlet = channel(fake.url)
    first = post(outlet, "Investigating")
    second = post(outlet, "Identified", reply_to=first.external_id)
    post(outlet, "Investigating (corrected)", reply_to=second.external_id,
         revises=first.external_id, is_correction=True)  # fmt: skip
    assert reply(fake.posts[-1], "parent") == ref(first)


def test_a_reply_to_a_post_deleted_by_hand_starts_a_new_thread(fake):
    outlet = channel(fake.url)
    first = post(outlet, "Investigating")
    fake.posts.clear()
    post(outlet, "Identified", reply_to=first.external_id)
    assert "reply" not in fake.posts[-1]["record"]


def test_links_are_facets_with_utf8_byte_offsets_after_emoji_and_cjk(fake):
    text = (
        "🚨 障害: API 復旧中 👩‍💻 https://status.example.com/incidents/ab12. 詳細 http://x.test/(a)"
    )
    post(channel(fake.url), text)
    facets = fake.posts[0]["record"]["facets"]
    raw = text.encode()
    spans = [raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets]
    assert spans == ["https://status.example.com/incidents/ab12", "http://x.test/(a)"]
    assert [f["features"][0]["uri"] for f in facets] == spans
    assert facets[0]["features"][0]["$type"] == "app.bsky.richtext.facet#link"
    assert facets[0]["index"]["byteStart"] == len("🚨 障害: API 復旧中 👩‍💻 ".encode())


def test_a_text_without_links_has_no_facets():
    assert link_facets("All systems operational (since 10:00).") == []


def test_a_post_over_300_graphemes_is_refused_for_good(fake):
    with pytest.raises(PermanentChannelError, match="300 graphemes"):
        post(channel(fake.url), "👩‍👩‍👧‍👦" * 301)
    post(channel(fake.url), "👩‍👩‍👧‍👦" * 300)  # many code points, but 300 graphemes
    assert len(fake.posts) == 1


def signed_in(fake) -> tuple[int, int]:
    """How many times Herald signed in with the app password, and refreshed a session."""
    return len(fake.calls(SIGN_IN)), len(fake.calls(REFRESH))


def test_the_session_is_created_once_per_batch(fake):
    outlet = channel(fake.url)
    post(outlet, "Investigating")
    post(outlet, "Identified")
    assert signed_in(fake) == (1, 0)


def test_later_batches_resume_the_kept_session_without_signing_in(fake):
    sessions = SessionStore()
    for text in ("Investigating", "Identified", "Resolved"):
        post(channel(fake.url, sessions=sessions), text)  # a new adapter, as each batch has
    assert len(fake.posts) == 3 and signed_in(fake) == (1, 0)


def test_adapters_on_several_threads_sign_in_once(fake):
    sessions = SessionStore()
    errors = []

    def batch(n: int) -> None:
        try:
            post(channel(fake.url, sessions=sessions), f"Update {n}")
        except Exception as error:  # any failure: reported below, with the others
            errors.append(error)

    threads = [threading.Thread(target=batch, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and len(fake.posts) == 4
    assert signed_in(fake) == (1, 0)


def test_an_access_token_the_server_calls_expired_is_refreshed_not_signed_in_again(fake):
    sessions = SessionStore()
    post(channel(fake.url, sessions=sessions), "Investigating")
    fake.expire_access_tokens()
    post(channel(fake.url, sessions=sessions), "Identified")  # refused once, refreshed, sent
    assert len(fake.posts) == 2 and signed_in(fake) == (1, 1)
    # The first post; then the second, refused with the stale token and made once more.
    assert len(fake.calls("com.atproto.repo.createRecord")) == 3
    post(channel(fake.url, sessions=sessions), "Resolved")  # the refreshed session is kept
    assert len(fake.posts) == 3 and signed_in(fake) == (1, 1)


def test_an_expiry_within_one_adapter_is_refreshed_too(fake):
    outlet = channel(fake.url)
    post(outlet, "Investigating")
    fake.expire_access_tokens()
    post(outlet, "Identified")
    assert len(fake.posts) == 2 and signed_in(fake) == (1, 1)


def test_an_adapter_refused_after_another_renewed_the_session_takes_the_renewed_one(fake):
    """Two adapters of one process hold the same session when the PDS stops taking it: the
    first refreshes it; the second, refused in turn, takes that refreshed session instead of
    spending the refresh token already used (which would cost a sign-in)."""
    sessions = SessionStore()
    first, second = channel(fake.url, sessions=sessions), channel(fake.url, sessions=sessions)
    post(first, "Investigating")
    post(second, "Identified")  # resumes the session the first one created
    fake.expire_access_tokens()
    post(first, "Monitoring")  # refused once, refreshed, sent
    post(second, "Resolved")  # refused once, takes the refreshed session, sent
    assert len(fake.posts) == 4 and signed_in(fake) == (1, 1)


def test_an_access_token_about_to_expire_is_refreshed_before_it_is_used(fake):
    sessions = SessionStore()
    fake.access_lifetime = 60  # the token says it expires in a minute
    post(channel(fake.url, sessions=sessions), "Investigating")
    fake.access_lifetime = 7200
    post(channel(fake.url, sessions=sessions), "Identified")
    assert signed_in(fake) == (1, 1)
    paths = [seen.path for seen in fake.requests]
    assert paths[-2:] == [REFRESH_PATH, CREATE]  # refreshed first: nothing was refused


def test_a_refused_refresh_signs_in_again_with_the_app_password(fake):
    sessions = SessionStore()
    post(channel(fake.url, sessions=sessions), "Investigating")
    fake.revoke_sessions()  # neither token works any more; the app password does
    post(channel(fake.url, sessions=sessions), "Identified")
    assert len(fake.posts) == 2 and signed_in(fake) == (2, 1)


def test_a_kept_session_does_not_hide_a_wrong_app_password(fake):
    sessions = SessionStore()
    post(channel(fake.url, sessions=sessions), "Investigating")
    with pytest.raises(PermanentChannelError, match="401"):
        post(channel(fake.url, password="wrong", sessions=sessions), "Identified")
    assert len(fake.posts) == 1


def test_a_server_error_is_transient(fake):
    fake.fail_next(500, path=CREATE)
    with pytest.raises(TransientChannelError):
        post(channel(fake.url), "Investigating")
    assert fake.posts == []


def test_a_rate_limit_is_transient_and_waits_until_the_reset(fake):
    fake.fail_next("rate_limit", path=CREATE)
    with pytest.raises(TransientChannelError) as caught:
        post(channel(fake.url), "Investigating")
    assert 100 < caught.value.retry_after <= 121


def test_no_answer_to_a_post_is_ambiguous(fake):
    fake.fail_next("hang", path=CREATE)
    with pytest.raises(AmbiguousChannelError):
        post(channel(fake.url, timeout=IMPATIENT), "Investigating")
    assert len(fake.posts) == 1  # the PDS took it: a blind retry would post twice


def test_no_answer_to_the_login_is_transient(fake):
    fake.fail_next("hang", path=LOGIN)
    with pytest.raises(TransientChannelError):
        post(channel(fake.url, timeout=IMPATIENT), "Investigating")


@pytest.mark.parametrize("fault", ["malformed", "close"])
def test_a_broken_answer_to_a_post_is_ambiguous(fake, fault):
    fake.fail_next(fault, path=CREATE)
    with pytest.raises(AmbiguousChannelError):
        post(channel(fake.url), "Investigating")


def test_a_wrong_app_password_is_permanent(fake):
    with pytest.raises(PermanentChannelError, match="401"):
        post(channel(fake.url, password="wrong"), "Investigating")


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_post_is_permanent(fake, status):
    fake.fail_next(status, path=CREATE)
    with pytest.raises(PermanentChannelError):
        post(channel(fake.url), "Investigating")


def test_a_redirect_is_not_followed(fake):
    fake.fail_next("redirect", path=LOGIN)
    with pytest.raises(PermanentChannelError, match="redirected"):
        post(channel(fake.url), "Investigating")
    assert [seen.path for seen in fake.requests] == [LOGIN]


def test_the_engine_posts_an_incident_as_one_thread(app, make, fake):
    sky = Channel(kind=ChannelKind.BLUESKY, name=HANDLE,
                  settings={"handle": HANDLE, "service_url": fake.url})  # fmt: skip
    rows = through_the_engine(app, make, sky, {"app_password": APP_PASSWORD})
    assert [row.state for row in rows] == [DeliveryState.SENT] * 3
    assert [f"{p['uri']}|{p['cid']}" for p in fake.posts] == [row.external_id for row in rows]
    root = {"uri": fake.posts[0]["uri"], "cid": fake.posts[0]["cid"]}
    assert [reply(p, "root") for p in fake.posts[1:]] == [root, root]
    assert reply(fake.posts[2], "parent")["uri"] == fake.posts[1]["uri"]
    assert all(p["record"]["facets"] for p in fake.posts)  # the incident link
    assert signed_in(fake) == (1, 0)  # three batches, three adapters: one session
