"""The Bluesky channel against a local server that speaks the PDS's XRPC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from publisher.channels import (
    AmbiguousChannelError,
    OutgoingUpdate,
    PermanentChannelError,
    TransientChannelError,
)
from publisher.channels import bluesky as bluesky_module
from publisher.channels.bluesky import BlueskyChannel, link_facets
from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch
from publisher.models import Channel, ChannelKind, Delivery, DeliveryState, Role
from publisher.services import channel_config, composer

from ..corpus import lines
from ..staff import make_user
from .fake_bluesky import APP_PASSWORD, DID, HANDLE, FakeBluesky

CREATE = "/xrpc/com.atproto.repo.createRecord"
LOGIN = "/xrpc/com.atproto.server.createSession"


@pytest.fixture
def fake():
    server = FakeBluesky().start()
    yield server
    server.stop()


def channel(url, password=APP_PASSWORD, **options):
    options = {"allow_loopback": True, "timeout": 0.5, **options}
    settings = {"handle": "@" + HANDLE, "service_url": url}
    return BlueskyChannel(settings, {"app_password": password}, **options)


def update(text, **kwargs) -> OutgoingUpdate:
    return OutgoingUpdate(
        message_id="m1", incident_id="i1", incident_name="API errors",
        incident_url="http://status.test/incidents/i1", incident_status="identified",
        status_label="Identified", impact="major", audience="public",
        body_markdown=text, body_html=text, body_text=text,
        variants={"bluesky": text, "x": "not this one"}, published_at=datetime.now(UTC),
        page_name="Example Status", page_url="http://status.test", **kwargs,
    )  # fmt: skip


def post(outlet, text, **kwargs):
    return outlet.send(outlet.render(update(text, **kwargs)), "key-1")


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


def test_the_session_is_created_once_per_batch(fake):
    outlet = channel(fake.url)
    post(outlet, "Investigating")
    post(outlet, "Identified")
    assert len(fake.calls("com.atproto.server.createSession")) == 1


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
        post(channel(fake.url, timeout=0.3), "Investigating")
    assert len(fake.posts) == 1  # the PDS took it: a blind retry would post twice


def test_no_answer_to_the_login_is_transient(fake):
    fake.fail_next("hang", path=LOGIN)
    with pytest.raises(TransientChannelError):
        post(channel(fake.url, timeout=0.3), "Investigating")


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


def test_an_unreachable_server_is_transient(fake):
    outlet = channel(fake.url)
    fake.stop()
    with pytest.raises(TransientChannelError):
        post(outlet, "Investigating")


@pytest.mark.parametrize("url", lines("ssrf_urls.txt"))
def test_an_inside_address_as_service_url_is_refused(url):
    with pytest.raises(PermanentChannelError):
        post(channel(url, allow_loopback=False), "Investigating")


def test_the_connection_itself_is_guarded_when_the_url_check_is_fooled(fake, monkeypatch):
    monkeypatch.setattr(bluesky_module.net, "check_url", lambda url, allow_loopback=False: url)
    with pytest.raises(PermanentChannelError):
        post(channel(fake.url, allow_loopback=False), "Investigating")
    assert fake.requests == []


def publish(team, incident, body):
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    message = composer.create_draft(comms, incident, incident_status="identified", body=body)
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    return composer.publish(comms, message)


def test_the_engine_posts_an_incident_as_one_thread(app, make, fake):
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True
    team = {role: make_user(role) for role in (Role.COMMS_MANAGER, Role.INCIDENT_MANAGER)}
    sky = Channel(kind=ChannelKind.BLUESKY, name=HANDLE,
                  settings={"handle": HANDLE, "service_url": fake.url})  # fmt: skip
    channel_config.store_secrets(sky, {"app_password": APP_PASSWORD})
    db.session.add(sky)
    db.session.commit()
    incident = make.incident()
    for body in ("We are looking into errors.", "Found the cause.", "Fixed."):
        deliver_batch(publish(team, incident, body).id, sky.id)
    rows = db.session.scalars(db.select(Delivery).order_by(Delivery.id)).all()
    assert [row.state for row in rows] == [DeliveryState.SENT] * 3
    assert [f"{p['uri']}|{p['cid']}" for p in fake.posts] == [row.external_id for row in rows]
    root = {"uri": fake.posts[0]["uri"], "cid": fake.posts[0]["cid"]}
    assert [reply(p, "root") for p in fake.posts[1:]] == [root, root]
    assert reply(fake.posts[2], "parent")["uri"] == fake.posts[1]["uri"]
    assert all(p["record"]["facets"] for p in fake.posts)  # the incident link
