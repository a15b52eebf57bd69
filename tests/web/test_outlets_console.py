"""Outlets and stuck deliveries in the console: real HTTP through the test client, a real DB."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import insert, select

from publisher.extensions import db
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
from publisher.services import channel_config, delivery

from ..corpus import assert_harmless_html, lines
from ..staff import make_user, sign_in

X_SECRETS = {
    "consumer_key": "ck-9f3a-never-shown",
    "consumer_secret": "cs-51bd-never-shown",
    "access_token": "at-77c0-never-shown",
    "access_token_secret": "ats-0e2d-never-shown",
}


@pytest.fixture
def admin(app, client):
    return sign_in(client, make_user(Role.ADMIN))


@pytest.fixture
def secrets_key(app):
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()


def x_form(name="@herald", **secrets) -> dict:
    # An empty API base URL keeps the default without resolving api.x.com in a test.
    data = {"name": name, "enabled": "y", "audiences": ["public"], "statuses": ["identified"]}
    data |= {"setting_account": "herald", "setting_api_base_url": ""}
    return data | {f"setting_{key}": value for key, value in secrets.items()}


def only_channel() -> Channel:
    db.session.expire_all()
    return db.session.scalars(select(Channel)).one()


def deliver(message, channel, states: dict, **fields) -> None:
    """Delivery rows for `message` on `channel`: {state: how many}, in one bulk INSERT."""
    rows = [
        {
            "message_id": message.id,
            "channel_id": channel.id,
            "state": state,
            "idempotency_key": f"{channel.id}-{state}-{n}",
            **fields,
        }
        for state, count in states.items()
        for n in range(count)
    ]
    db.session.execute(insert(Delivery), rows)
    db.session.commit()


def stuck_row(make, state=DeliveryState.DEAD, error="500 Internal Server Error", name="#ops"):
    message = make.incident().messages[0]
    channel = Channel(kind=ChannelKind.SLACK, name=name)
    db.session.add(channel)
    db.session.flush()
    row = Delivery(
        message_id=message.id,
        channel_id=channel.id,
        state=state,
        idempotency_key=f"stuck-{name}-{state}",
        attempts=8,
        last_error=error,
    )
    db.session.add(row)
    db.session.commit()
    return row


# ---------------------------------------------------------------- outlets


def test_an_admin_creates_an_x_outlet_and_its_secrets_never_appear_on_any_page(
    app, admin, secrets_key
):
    response = admin.post("/console/outlets/new?kind=x", data=x_form(**X_SECRETS))
    assert response.status_code == 302, response.get_data(as_text=True)
    channel = only_channel()
    assert (channel.kind, channel.name, channel.enabled) == (ChannelKind.X, "@herald", True)
    assert channel.statuses == ["identified"]
    assert channel_config.load_secrets(channel) == X_SECRETS
    assert not any(value in (channel.secrets_encrypted or "") for value in X_SECRETS.values())
    pages = ["/console/outlets", f"/console/outlets/{channel.id}", "/console/deliveries"]
    for page in [*pages, "/console/"]:
        html = admin.get(page).get_data(as_text=True)
        assert not [value for value in X_SECRETS.values() if value in html], page
    listing = admin.get("/console/outlets").get_data(as_text=True)
    assert "@herald" in listing and listing.count(">set<") == 4


def test_the_outlet_form_offers_each_setting_and_empty_password_boxes_for_secrets(
    app, admin, secrets_key
):
    admin.post("/console/outlets/new?kind=x", data=x_form(**X_SECRETS))
    html = admin.get(f"/console/outlets/{only_channel().id}").get_data(as_text=True)
    assert 'name="setting_account"' in html and 'value="herald"' in html
    assert html.count('type="password"') == 4
    assert "env:NAME reads it from the environment" in html
    assert "Set." in html and "Not set." not in html


def test_saving_with_an_empty_secret_keeps_the_stored_one(app, admin, secrets_key):
    admin.post("/console/outlets/new?kind=x", data=x_form(**X_SECRETS))
    channel_id = only_channel().id
    kept = x_form(name="@herald_status", consumer_key="", access_token="at-new")
    response = admin.post(f"/console/outlets/{channel_id}", data=kept)
    assert response.status_code == 302, response.get_data(as_text=True)
    channel = only_channel()
    assert channel.name == "@herald_status"
    assert channel_config.secret_names(channel) == sorted(X_SECRETS)
    assert channel_config.load_secrets(channel) == X_SECRETS | {"access_token": "at-new"}


def test_env_references_need_no_secrets_key(app, admin, monkeypatch):
    app.config["CHANNEL_SECRETS_KEY"] = None
    monkeypatch.setenv("HERALD_TEST_SLACK_URL", "https://hooks.slack.example/T/B/x")
    form = {"name": "#incidents", "enabled": "y", "audiences": ["internal"]}
    form["setting_webhook_url"] = "env:HERALD_TEST_SLACK_URL"
    response = admin.post("/console/outlets/new?kind=slack", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    channel = only_channel()
    assert channel.audiences == ["internal"]
    assert channel_config.secret_names(channel) == ["webhook_url"]
    assert channel_config.load_secrets(channel) == {
        "webhook_url": "https://hooks.slack.example/T/B/x"
    }


def test_a_literal_secret_without_a_secrets_key_is_refused_with_a_clear_message(app, admin):
    app.config["CHANNEL_SECRETS_KEY"] = None
    response = admin.post("/console/outlets/new?kind=x", data=x_form(**X_SECRETS))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="secrets-error"' in html
    assert "Set CHANNEL_SECRETS_KEY to store secrets, or give them as env:VARIABLE_NAME." in html
    assert not [value for value in X_SECRETS.values() if value in html]
    assert db.session.scalars(select(Channel)).all() == []


def test_a_missing_required_setting_is_shown_beside_its_box(app, admin, secrets_key):
    response = admin.post("/console/outlets/new?kind=x", data=x_form(**X_SECRETS) | {"name": ""})
    assert response.status_code == 422
    assert 'id="name-error"' in response.get_data(as_text=True)
    form = {"name": "@status", "setting_access_token": "env:TOKEN", "setting_server_url": ""}
    response = admin.post("/console/outlets/new?kind=mastodon", data=form)
    assert response.status_code == 422
    assert 'id="setting_server_url-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("kind, field", [("slack", "webhook_url"), ("mastodon", "server_url")])
def test_a_private_or_non_http_url_is_refused_with_a_form_error(
    app, admin, secrets_key, kind, field
):
    for url in lines("ssrf_urls.txt"):
        form = {"name": "outlet", "audiences": ["public"], f"setting_{field}": url}
        if kind == "mastodon":
            form["setting_access_token"] = "env:MASTODON_TOKEN"
        response = admin.post(f"/console/outlets/new?kind={kind}", data=form)
        assert response.status_code == 422, url
        assert f'id="setting_{field}-error"' in response.get_data(as_text=True), url
    assert db.session.scalars(select(Channel)).all() == []


def test_outlets_whose_secrets_cannot_be_opened_show_as_locked_not_as_an_error(
    app, admin, secrets_key
):
    admin.post("/console/outlets/new?kind=x", data=x_form(**X_SECRETS))
    channel_id = only_channel().id
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    listing = admin.get("/console/outlets")
    assert listing.status_code == 200
    assert "Locked" in listing.get_data(as_text=True)
    assert admin.get(f"/console/outlets/{channel_id}").status_code == 200
    response = admin.post(f"/console/outlets/{channel_id}", data=x_form())
    assert response.status_code == 422
    assert "cannot be opened" in response.get_data(as_text=True)


def test_a_new_outlet_starts_from_its_kind(app, admin):
    chooser = admin.get("/console/outlets/new").get_data(as_text=True)
    assert "/console/outlets/new?kind=mastodon" in chooser
    assert admin.get("/console/outlets/new?kind=myspace").status_code == 404
    form = admin.get("/console/outlets/new?kind=bluesky").get_data(as_text=True)
    assert 'name="setting_handle"' in form and 'name="setting_app_password"' in form


def test_only_admins_reach_the_outlets(app):
    for role in Role:
        client = sign_in(app.test_client(), make_user(role))
        expected = 200 if role == Role.ADMIN else 403
        assert client.get("/console/outlets").status_code == expected, role
        assert client.get("/console/outlets/new?kind=x").status_code == expected, role


# ---------------------------------------------------------------- delivery progress


def test_the_composer_shows_each_outlets_progress_error_and_post_link(app, client, make):
    message = make.incident().messages[0]
    email = Channel(kind=ChannelKind.EMAIL, name="Subscribers")
    x = Channel(kind=ChannelKind.X, name="@herald", settings={"account": "herald"})
    db.session.add_all([email, x])
    db.session.commit()
    deliver(message, email, {DeliveryState.SENT: 3, DeliveryState.PENDING: 1})
    deliver(message, email, {DeliveryState.DEAD: 1}, last_error="550 mailbox unavailable")
    deliver(message, x, {DeliveryState.SENT: 1}, external_id="1790000000000000001")
    sign_in(client, make_user(Role.COMMS_MANAGER))
    html = client.get(f"/console/messages/{message.public_id}").get_data(as_text=True)
    assert "3 of 5 sent" in html and "1 of 1 sent" in html
    assert 'value="3" max="5"' in html
    assert "550 mailbox unavailable" in html
    assert 'href="https://x.com/herald/status/1790000000000000001"' in html
    assert f"/console/deliveries?message={message.public_id}" in html


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_why_an_outlets_rows_were_cancelled_is_said_in_the_readers_language(
    app, client, make, lang
):
    message = make.incident().messages[0]
    x = Channel(kind=ChannelKind.X, name="@herald", settings={"account": "herald"})
    db.session.add(x)
    db.session.commit()
    deliver(message, x, {DeliveryState.CANCELLED: 1}, last_error=delivery.SWITCHED_OFF)
    sign_in(client, make_user(Role.COMMS_MANAGER))
    client.set_cookie("lang", lang)
    html = client.get(f"/console/messages/{message.public_id}").get_data(as_text=True)
    said = {"en": "Cancelled: the outlet was switched off.", "pl": "Anulowano: kanał wyłączono."}
    assert said[lang] in html and delivery.SWITCHED_OFF not in html


def test_a_large_fan_out_shows_its_progress_in_thousands(app, client, make):
    message = make.incident().messages[0]
    email = Channel(kind=ChannelKind.EMAIL, name="Subscribers")
    db.session.add(email)
    db.session.commit()
    deliver(message, email, {DeliveryState.SENT: 7340, DeliveryState.PENDING: 2660})
    sign_in(client, make_user(Role.SUPPORT_AGENT))
    html = client.get(f"/console/messages/{message.public_id}").get_data(as_text=True)
    assert "7,340 of 10,000 sent" in html
    assert "Retry or settle" not in html  # nothing is stuck, and support agents may not


def test_a_draft_shows_no_delivery_section(app, client, make):
    draft = make.draft(make.incident())
    sign_in(client, make_user(Role.COMMS_MANAGER))
    html = client.get(f"/console/messages/{draft.public_id}").get_data(as_text=True)
    assert 'id="delivery-h"' not in html


# ---------------------------------------------------------------- stuck deliveries


def test_the_deliveries_page_lists_dead_and_unknown_rows_only(app, client, make):
    dead = stuck_row(make, error="500 from Slack", name="#dead")
    unknown = stuck_row(make, DeliveryState.UNKNOWN, "read timeout after sending", "#unknown")
    for state in (DeliveryState.SENT, DeliveryState.RETRYING, DeliveryState.PENDING):
        stuck_row(make, state, f"old error of a {state} row", f"#{state}")
    sign_in(client, make_user(Role.INCIDENT_MANAGER))
    html = client.get("/console/deliveries").get_data(as_text=True)
    assert "500 from Slack" in html and "read timeout after sending" in html
    assert "old error of a" not in html
    for row in (dead, unknown):
        assert f"/console/deliveries/{row.id}/retry" in html
        assert f"/console/deliveries/{row.id}/settle" in html
        assert f"/console/messages/{row.message.public_id}" in html
    narrowed = client.get(f"/console/deliveries?message={dead.message.public_id}")
    assert "500 from Slack" in narrowed.get_data(as_text=True)
    assert "read timeout after sending" not in narrowed.get_data(as_text=True)


@pytest.mark.parametrize("gone", ["outlet switched off", "subscriber unsubscribed"])
def test_a_stuck_row_is_not_retried_where_nothing_may_go_any_more(app, client, make, gone):
    row = stuck_row(make)
    if gone == "outlet switched off":
        row.channel.enabled = False
        said = "This outlet is switched off: switch it on before retrying."
    else:
        subscriber = Subscriber(kind=SubscriberKind.EMAIL, target="left@example.com",
                                confirmed_at=utcnow(), unsubscribed_at=utcnow())  # fmt: skip
        db.session.add(subscriber)
        db.session.flush()
        row.subscriber_id = subscriber.id
        said = "This subscriber has unsubscribed, so nothing more is sent to them."
    db.session.commit()
    sign_in(client, make_user(Role.COMMS_MANAGER))
    client.post(f"/console/deliveries/{row.id}/retry")
    assert said in client.get("/console/deliveries").get_data(as_text=True)
    db.session.expire_all()
    assert row.state == DeliveryState.DEAD


def test_retry_moves_a_dead_row_to_retrying_and_without_autostart_it_stays_there(app, client, make):
    app.config["DELIVERY_AUTOSTART"] = False
    row = stuck_row(make)
    sign_in(client, make_user(Role.COMMS_MANAGER))
    response = client.post(f"/console/deliveries/{row.id}/retry")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/deliveries")
    db.session.expire_all()
    assert (row.state, row.attempts) == (DeliveryState.RETRYING, 0)
    filtered = f"/console/deliveries?message={row.message.public_id}"
    again = client.post(f"/console/deliveries/{row.id}/retry", data={"next": filtered})
    assert again.headers["Location"].endswith(filtered)
    again = client.get(filtered)
    assert "Only dead or unknown deliveries can be retried." in again.get_data(as_text=True)
    db.session.expire_all()
    assert row.state == DeliveryState.RETRYING


def test_settling_needs_a_choice_and_a_note(app, client, make):
    row = stuck_row(make, DeliveryState.UNKNOWN)
    sign_in(client, make_user(Role.ADMIN))
    url, prefix = f"/console/deliveries/{row.id}/settle", f"settle{row.id}-"
    no_note = client.post(url, data={f"{prefix}went_out": "yes", f"{prefix}note": " "})
    assert no_note.status_code == 422
    assert "Say what you found." in no_note.get_data(as_text=True)
    no_choice = client.post(url, data={f"{prefix}note": "Checked the channel"})
    assert no_choice.status_code == 422
    assert "Say whether it went out." in no_choice.get_data(as_text=True)
    db.session.expire_all()
    assert row.state == DeliveryState.UNKNOWN
    data = {f"{prefix}went_out": "yes", f"{prefix}note": "The post is in #ops at 10:02"}
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert row.state == DeliveryState.SENT
    assert "The post is in #ops at 10:02" in row.last_error
    assert "The post is in #ops" not in client.get("/console/deliveries").get_data(as_text=True)


@pytest.mark.parametrize(
    "role, status",
    [
        (Role.ADMIN, 200),
        (Role.INCIDENT_MANAGER, 200),
        (Role.COMMS_MANAGER, 200),
        (Role.SOCIAL_LEAD, 403),
        (Role.SUPPORT_AGENT, 403),
        (Role.RESPONDER, 403),
    ],
)
def test_support_agents_and_others_without_publishing_rights_cannot_handle_deliveries(
    app, make, role, status
):
    row = stuck_row(make)
    client = sign_in(app.test_client(), make_user(role))
    assert client.get("/console/deliveries").status_code == status
    retried = client.post(f"/console/deliveries/{row.id}/retry")
    assert (retried.status_code == 403) == (status == 403)
    db.session.expire_all()
    assert (row.state == DeliveryState.DEAD) == (status == 403)


def test_the_console_nav_links_outlets_for_admins_and_deliveries_for_publishers(app):
    for role, outlets, deliveries in [
        (Role.ADMIN, True, True),
        (Role.COMMS_MANAGER, False, True),
        (Role.SUPPORT_AGENT, False, False),
    ]:
        html = sign_in(app.test_client(), make_user(role)).get("/console/").get_data(as_text=True)
        assert ('href="/console/outlets"' in html) == outlets, role
        assert ('href="/console/deliveries"' in html) == deliveries, role


def test_hostile_outlet_names_settings_and_errors_render_harmless(app, client, make):
    message = make.incident().messages[0]
    for n, text in enumerate(lines("xss.txt")):
        channel = Channel(kind=ChannelKind.X, name=text, settings={"account": text})
        db.session.add(channel)
        db.session.flush()
        db.session.add(
            Delivery(
                message_id=message.id,
                channel_id=channel.id,
                state=DeliveryState.DEAD if n % 2 else DeliveryState.SENT,
                idempotency_key=f"hostile-{n}",
                last_error=text,
                external_id=text,
            )
        )
    db.session.commit()
    sign_in(client, make_user(Role.ADMIN))
    channel_id = db.session.scalars(select(Channel.id)).first()
    pages = ["/console/outlets", "/console/deliveries", f"/console/outlets/{channel_id}"]
    for page in [*pages, f"/console/messages/{message.public_id}"]:
        response = client.get(page)
        assert response.status_code == 200, page
        # The <main> only: the composer's <head> loads its own script.
        assert_harmless_html(response.get_data(as_text=True).split("<main", 1)[1])


def test_post_links_follow_each_networks_address_scheme(app, client, make):
    message = make.incident().messages[0]
    bluesky = Channel(kind=ChannelKind.BLUESKY, name="Bluesky", settings={"handle": "st.example"})
    mastodon = Channel(
        kind=ChannelKind.MASTODON,
        name="Mastodon",
        settings={"server_url": "https://social.example", "account": "@status@social.example"},
    )
    slack = Channel(kind=ChannelKind.SLACK, name="#ops")
    db.session.add_all([bluesky, mastodon, slack])
    db.session.commit()
    post_uri = "at://did:plc:abc/app.bsky.feed.post/3kxyz|bafycid"
    deliver(message, bluesky, {DeliveryState.SENT: 1}, external_id=post_uri)
    deliver(message, mastodon, {DeliveryState.SENT: 1}, external_id="1122")
    deliver(message, slack, {DeliveryState.SENT: 1})
    sign_in(client, make_user(Role.RESPONDER))
    html = client.get(f"/console/messages/{message.public_id}").get_data(as_text=True)
    assert 'href="https://bsky.app/profile/st.example/post/3kxyz"' in html
    assert 'href="https://social.example/@status/1122"' in html
    assert html.count("View the post") == 2


def test_list_settings_take_one_value_per_line_and_an_outlet_can_be_switched_off(app, admin):
    form = {"name": "Leadership", "audiences": ["internal"]}
    form["setting_recipients"] = "cto@example.com\nceo@example.com"
    assert admin.post("/console/outlets/new?kind=email", data=form).status_code == 302
    channel = only_channel()
    assert channel.settings["recipients"] == ["cto@example.com", "ceo@example.com"]
    assert channel.enabled is False
    page = admin.get(f"/console/outlets/{channel.id}").get_data(as_text=True)
    assert "cto@example.com\nceo@example.com" in page
    assert ">off<" in admin.get("/console/outlets").get_data(as_text=True)
