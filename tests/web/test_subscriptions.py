"""Public subscriptions end to end: the forms, the mail a real SMTP server (aiosmtpd) receives,
the links in that mail, and the delivery engine sending updates to confirmed subscribers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from publisher.extensions import db, limiter
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
from publisher.services import delivery, subscriptions

from ..channels.smtp_sink import running_sink
from ..corpus import header_lines, lines
from ..desk import publish_update
from ..staff import make_user

LINK = re.compile(r"http://status\.test(/subscriptions/[\w-]+/confirm)")


@pytest.fixture
def sink(app):
    with running_sink() as server:
        app.config["SMTP"] = server.config()
        yield server


@pytest.fixture
def email_channel(app):
    channel = Channel(kind=ChannelKind.EMAIL, name="subscribers")
    db.session.add(channel)
    db.session.commit()
    return channel


@pytest.fixture
def team(app):
    return {role: make_user(role) for role in (Role.COMMS_MANAGER, Role.INCIDENT_MANAGER)}


def publish_and_deliver(team, incident, channel, body="We are looking into it."):
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    message = publish_update(comms, im, incident, body)
    deliver_batch(message.id, channel.id)


def confirmations(sink, address):
    return [m.message for m in sink.to(address) if "List-Unsubscribe" not in m.message]


def updates(sink, address):
    return [m.message for m in sink.to(address) if "List-Unsubscribe" in m.message]


def confirm_path(sink, address) -> str:
    text = confirmations(sink, address)[-1].get_body(("plain",)).get_content()
    return LINK.search(text).group(1)


def subscriber(address) -> Subscriber:
    db.session.expire_all()
    return db.session.query(Subscriber).filter_by(target=address).one()


def subscribe(client, address, components=None):
    return client.post(
        "/subscribe", data={"email-email": address, "email-components": components or []}
    )


def test_a_subscriber_receives_updates_only_after_confirming_by_the_emailed_link(
    client, make, team, sink, email_channel
):
    assert subscribe(client, "ada@example.com").status_code == 200
    path = confirm_path(sink, "ada@example.com")
    publish_and_deliver(team, make.incident(name="Before"), email_channel)
    assert len(sink.to("ada@example.com")) == 1  # nothing but the confirmation
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my subscription" in page.get_data(as_text=True)
    assert subscriber("ada@example.com").confirmed_at is None  # a GET never confirms
    assert client.post(path).status_code == 200
    publish_and_deliver(team, make.incident(name="After"), email_channel)
    [mail] = updates(sink, "ada@example.com")
    assert "After" in mail["Subject"]


def test_an_empty_post_to_the_one_click_unsubscribe_url_stops_further_mail(
    app, client, make, team, sink, email_channel
):
    subscriptions.subscribe_email("bob@example.com")
    subscriptions.confirm(subscriber("bob@example.com").token)
    publish_and_deliver(team, make.incident(name="First"), email_channel)
    [mail] = updates(sink, "bob@example.com")
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https?://\S+)>", mail["List-Unsubscribe"]).group(1)
    app.config["WTF_CSRF_ENABLED"] = True  # one-click works without a form token
    response = client.post(url.removeprefix("http://status.test"), data=b"")
    assert response.status_code == 200 and "unsubscribed" in response.get_data(as_text=True)
    publish_and_deliver(team, make.incident(name="Second"), email_channel)
    assert len(updates(sink, "bob@example.com")) == 1


@pytest.mark.parametrize("waiting", [DeliveryState.PENDING, DeliveryState.RETRYING])
def test_an_update_not_yet_mailed_is_not_mailed_after_the_reader_unsubscribes(
    make, team, sink, email_channel, waiting
):
    """Unsubscribing stops every further message, a retry of an earlier one included."""
    for address in ("amy@example.com", "bob@example.com"):
        subscriptions.subscribe_email(address)
        subscriptions.confirm(subscriber(address).token)
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    message = publish_update(comms, im, make.incident(), "We are looking into it.")
    bob = subscriber("bob@example.com")
    [row] = db.session.scalars(select(Delivery).where(Delivery.subscriber_id == bob.id))
    row.state = waiting
    db.session.commit()
    subscriptions.unsubscribe(bob.token)
    db.session.refresh(row)  # cancelled at once, not only when a batch comes to it
    assert row.state == DeliveryState.CANCELLED and row.last_error == delivery.UNSUBSCRIBED
    deliver_batch(message.id, email_channel.id)
    assert len(updates(sink, "amy@example.com")) == 1 and updates(sink, "bob@example.com") == []


def test_one_click_unsubscribe_takes_the_rfc_8058_body_and_a_get_changes_nothing(client, sink):
    subscriptions.subscribe_email("cy@example.com")
    token = subscriber("cy@example.com").token
    subscriptions.confirm(token)
    assert client.get(f"/subscriptions/{token}/unsubscribe").status_code == 200
    assert subscriber("cy@example.com").unsubscribed_at is None
    response = client.post(
        f"/subscriptions/{token}/unsubscribe", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert subscriber("cy@example.com").unsubscribed_at is not None


def test_subscribers_hear_only_about_the_components_they_chose(
    client, make, team, sink, email_channel
):
    api, web = make.component("API"), make.component("Web", position=1)
    subscribe(client, "api@example.com", [api.public_id])
    client.post(confirm_path(sink, "api@example.com"))
    publish_and_deliver(team, make.incident(name="Web down", components=[web]), email_channel)
    assert updates(sink, "api@example.com") == []
    publish_and_deliver(team, make.incident(name="API slow", components=[api]), email_channel)
    [mail] = updates(sink, "api@example.com")
    assert "API slow" in mail["Subject"]


def test_a_follower_hears_about_the_followed_incident_only(client, make, team, sink, email_channel):
    followed, other = make.incident(name="Followed"), make.incident(name="Other")
    page = client.get(f"/incidents/{followed.public_id}/follow")
    assert page.status_code == 200 and "Followed" in page.get_data(as_text=True)
    response = client.post(
        f"/incidents/{followed.public_id}/follow", data={"email": "fan@example.com"}
    )
    assert response.status_code == 200
    assert (
        "Followed" in confirmations(sink, "fan@example.com")[0].get_body(("plain",)).get_content()
    )
    client.post(confirm_path(sink, "fan@example.com"))
    publish_and_deliver(team, other, email_channel)
    publish_and_deliver(team, followed, email_channel)
    assert [m["Subject"] for m in updates(sink, "fan@example.com")] == [
        "[Example Status] Identified: Followed"
    ]
    assert client.get("/incidents/nosuchincident/follow").status_code == 404


def test_the_answer_is_the_same_for_new_and_known_addresses(client, sink):
    subscriptions.subscribe_email("known@example.com")
    subscriptions.confirm(subscriber("known@example.com").token)
    sent_before = len(sink.messages)
    new, known = subscribe(client, "new@example.com"), subscribe(client, "known@example.com")

    # Only the per-response CSP nonce may differ between the two answers.
    def page(r):
        return re.sub(rb'nonce="[^"]+"', b'nonce=""', r.get_data())

    assert (new.status_code, page(new)) == (known.status_code, page(known))
    assert "Check your inbox" in new.get_data(as_text=True)
    assert len(sink.messages) == sent_before + 1  # known was mailed moments ago: not again yet


def test_asking_again_resends_the_confirmation_at_most_once_per_interval(client, sink):
    for _ in range(3):
        assert subscribe(client, "eve@example.com").status_code == 200
    assert len(confirmations(sink, "eve@example.com")) == 1
    later = utcnow() + subscriptions.RESEND_AFTER + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        subscribe(client, "eve@example.com")
        subscribe(client, "eve@example.com")
    assert len(confirmations(sink, "eve@example.com")) == 2


def test_coming_back_a_minute_after_unsubscribing_mails_a_new_confirmation_once(client, sink):
    """Unsubscribing (and the reset of asking again) moved updated_at, which used to decide
    whether a mail was due: the visitor was told a link was on its way and none came."""
    start = utcnow()
    with time_machine.travel(start, tick=False):
        subscribe(client, "zoe@example.com")
        client.post(confirm_path(sink, "zoe@example.com"))
        client.post(f"/subscriptions/{subscriber('zoe@example.com').token}/unsubscribe")
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        response = subscribe(client, "zoe@example.com")
    assert "Check your inbox" in response.get_data(as_text=True)
    assert len(confirmations(sink, "zoe@example.com")) == 2
    assert not subscriber("zoe@example.com").is_active
    with time_machine.travel(start + timedelta(minutes=7), tick=False):
        subscribe(client, "zoe@example.com")  # the link sent 6 minutes ago still works
    assert len(confirmations(sink, "zoe@example.com")) == 2
    resend = start + timedelta(minutes=1) + subscriptions.RESEND_AFTER + timedelta(seconds=1)
    with time_machine.travel(resend, tick=False):
        subscribe(client, "zoe@example.com")
    assert len(confirmations(sink, "zoe@example.com")) == 3
    client.post(confirm_path(sink, "zoe@example.com"))
    assert subscriber("zoe@example.com").is_active


def test_subscribing_is_rate_limited(app):
    app.config["RATELIMIT_ENABLED"] = True
    limiter.enabled = True
    limiter.reset()
    try:
        client = app.test_client()
        codes = [subscribe(client, "not an address").status_code for _ in range(6)]
    finally:
        limiter.enabled = False
    assert codes == [422] * 5 + [429]


@pytest.mark.parametrize("hostile", header_lines())
def test_an_address_carrying_a_header_is_refused_at_subscribe(client, hostile):
    response = subscribe(client, hostile)
    assert response.status_code == 422
    assert 'id="email-email-error"' in response.get_data(as_text=True)
    assert db.session.query(Subscriber).count() == 0


@pytest.mark.parametrize("url", lines("ssrf_urls.txt"))
def test_a_webhook_url_pointing_inside_is_refused_with_a_form_error(client, url):
    response = client.post("/subscribe/webhook", data={"webhook-url": url})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-describedby="webhook-url-hint webhook-url-error"' in html
    assert "private, local or internal networks" in html
    assert db.session.query(Subscriber).count() == 0


def test_a_webhook_subscription_is_confirmed_at_once_and_its_secret_shown_once(app, client):
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True
    response = client.post("/subscribe/webhook", data={"webhook-url": "http://127.0.0.1:9/hook"})
    html = response.get_data(as_text=True)
    saved = subscriber("http://127.0.0.1:9/hook")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert saved.kind == SubscriberKind.WEBHOOK and saved.is_active
    assert saved.signing_secret.startswith("whsec_") and saved.signing_secret in html
    manage = client.get(f"/subscriptions/{saved.token}").get_data(as_text=True)
    assert saved.signing_secret not in manage
    again = client.post("/subscribe/webhook", data={"webhook-url": "http://127.0.0.1:9/hook"})
    assert again.status_code == 422 and saved.signing_secret not in again.get_data(as_text=True)


def test_the_manage_page_changes_components_and_unknown_tokens_are_not_found(client, make):
    api = make.component("API")
    subscriptions.subscribe_email("kim@example.com")
    token = subscriber("kim@example.com").token
    page = client.get(f"/subscriptions/{token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    saved = client.post(f"/subscriptions/{token}", data={"components": [api.public_id]})
    assert saved.status_code == 200 and "Your choice is saved." in saved.get_data(as_text=True)
    assert [c.name for c in subscriber("kim@example.com").components] == ["API"]
    bogus = "x" * 43
    for path in (f"/subscriptions/{bogus}", f"/subscriptions/{bogus}/confirm", "/subscriptions/a"):
        assert client.get(path).status_code == 404
    assert client.post(f"/subscriptions/{bogus}/unsubscribe").status_code == 404


def test_the_subscribe_form_labels_its_fields_and_ties_errors_to_them(client, make):
    make.component("API")
    html = client.get("/subscribe").get_data(as_text=True)
    assert '<label for="email-email">' in html and '<label for="webhook-url">' in html
    assert "<fieldset" in html and "<legend>Components</legend>" in html
    error = subscribe(client, "").get_data(as_text=True)
    assert 'aria-describedby="email-email-error"' in error and 'aria-invalid="true"' in error
    assert 'id="email-email-error"' in error
