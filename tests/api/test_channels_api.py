"""Outlets and deliveries through /api/v1: admins configure channels, responders unstick rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

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
from publisher.services import channel_config

from ..corpus import lines

A, IM, CM = Role.ADMIN, Role.INCIDENT_MANAGER, Role.COMMS_MANAGER
NOT_ADMINS = [role for role in Role if role != A]
COUNTED = ["pending", "sending", "sent", "retrying", "dead", "unknown", "cancelled"]
TOKEN = "mastodon-token-s3cr3t-value"
MASTODON = {
    "kind": "mastodon",
    "name": "@status@mastodon.example",
    "settings": {"server_url": "http://127.0.0.1:9/", "visibility": "unlisted"},
    "secrets": {"access_token": TOKEN},
}


@pytest.fixture
def sealed(app):
    """Secrets sealed with a key; the Mastodon server is a loopback address (no DNS lookup)."""
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True
    return app


def create(admin, **changes) -> dict:
    response = admin("POST", "/channels", json=MASTODON | changes)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored(channel_id: int) -> Channel:
    db.session.expire_all()
    return db.session.get(Channel, channel_id)


# ---------------------------------------------------------------- outlets


def test_an_admin_creates_a_mastodon_channel_and_no_answer_ever_contains_the_secret(sealed, login):
    admin = login(A)
    response = admin("POST", "/channels", json=MASTODON)
    assert response.status_code == 201, response.get_json()
    channel = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/channels/{channel['id']}")
    assert channel == channel | {
        "kind": "mastodon",
        "name": "@status@mastodon.example",
        "enabled": True,
        "audiences": ["public"],
        "statuses": [],
        "settings": {
            "server_url": "http://127.0.0.1:9/",
            "account": None,
            "visibility": "unlisted",
        },
        "secrets_set": ["access_token"],
        "secrets_locked": False,
    }
    answers = [response] + [
        admin("GET", path) for path in ("/channels", f"/channels/{channel['id']}", "/channel-kinds")
    ]
    assert all(TOKEN not in answer.get_data(as_text=True) for answer in answers)
    row = stored(channel["id"])
    assert TOKEN not in (row.secrets_encrypted or "") and TOKEN not in str(row.settings)
    assert channel_config.load_secrets(row) == {"access_token": TOKEN}


def test_a_patch_without_the_secret_or_with_it_empty_keeps_the_stored_one(sealed, login):
    admin = login(A)
    channel = create(admin, audiences=["internal"], statuses=["resolved"], enabled=False)
    path = f"/channels/{channel['id']}"
    keeping = [
        {"name": "@ops", "settings": {"visibility": "public"}},
        {"secrets": {"access_token": ""}},
    ]
    for body in keeping:
        response = admin("PATCH", path, json=body)
        assert response.status_code == 200, response.get_json()
        assert TOKEN not in response.get_data(as_text=True)
        assert response.get_json()["secrets_set"] == ["access_token"]
        assert channel_config.load_secrets(stored(channel["id"])) == {"access_token": TOKEN}
    changed = admin("GET", path).get_json()
    kept = {"name": "@ops", "enabled": False, "audiences": ["internal"], "statuses": ["resolved"]}
    assert changed == changed | kept
    assert changed["settings"]["visibility"] == "public"
    assert changed["settings"]["server_url"] == MASTODON["settings"]["server_url"]
    admin("PATCH", path, json={"secrets": {"access_token": "a-new-token"}})
    assert channel_config.load_secrets(stored(channel["id"])) == {"access_token": "a-new-token"}


@pytest.mark.parametrize("url", lines("ssrf_urls.txt"))
def test_an_ssrf_url_in_a_url_setting_is_a_422_naming_it(sealed, login, url):
    sealed.config["CHANNELS_ALLOW_LOOPBACK"] = False
    admin = login(A)
    response = admin("POST", "/channels", json=MASTODON | {"settings": {"server_url": url}})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == "settings.server_url"
    assert admin("GET", "/channels").get_json() == []


def test_an_ssrf_url_in_a_secret_url_is_a_422_naming_the_secret(sealed, login):
    sealed.config["CHANNELS_ALLOW_LOOPBACK"] = False
    metadata = "http://169.254.169.254/latest/meta-data/"
    body = {"kind": "slack", "name": "#incidents", "secrets": {"webhook_url": metadata}}
    response = login(A)("POST", "/channels", json=body)
    assert response.status_code == 422
    assert response.get_json()["field"] == "secrets.webhook_url"


@pytest.mark.parametrize("url", ["http://status.test:99999/", "http://[::1"])
def test_a_malformed_url_in_a_url_setting_is_a_422_too(sealed, login, url):
    response = login(A)("POST", "/channels", json=MASTODON | {"settings": {"server_url": url}})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "myspace"}, "kind"),
        ({"kind": 5}, "kind"),
        ({"name": ""}, "name"),
        ({"audiences": ["everyone"]}, "audiences"),
        ({"audiences": "public"}, "audiences"),
        ({"statuses": ["on_fire"]}, "statuses"),
        ({"settings": {"visibility": {"nested": True}}}, "settings.visibility"),
        ({"settings": ["server_url"]}, "settings"),
        ({"secrets": {"access_token": 12345}}, "secrets.access_token"),
        ({"secrets": {"password": "x"}}, "secrets"),
        ({"secrets": {}}, "secrets"),
        ({"enabled": "yes"}, "enabled"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_channel_fields_are_422_naming_them(sealed, login, change, field):
    response = login(A)("POST", "/channels", json=MASTODON | change)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field


def test_the_kind_of_a_channel_cannot_be_changed(sealed, login):
    admin = login(A)
    path = f"/channels/{create(admin)['id']}"
    response = admin("PATCH", path, json={"kind": "x"})
    assert response.status_code == 422 and response.get_json()["field"] == "kind"
    assert admin("GET", path).get_json()["kind"] == "mastodon"


CALLS = [
    ("GET", "/channels", None),
    ("GET", "/channel-kinds", None),
    ("POST", "/channels", MASTODON),
]


def test_only_admins_may_see_or_configure_channels(sealed, login, client):
    path = f"/channels/{create(login(A))['id']}"
    for role in NOT_ADMINS:
        caller = login(role)
        for method, url, body in [*CALLS, ("GET", path, None), ("PATCH", path, {"name": "me"})]:
            assert caller(method, url, json=body).status_code == 403, (role, method, url)
    assert client.get("/api/v1/channels").status_code == 401
    assert login(A)("GET", path).get_json()["name"] == MASTODON["name"]


def test_unknown_channels_are_404(sealed, login):
    admin = login(A)
    for path in ("/channels/999999", "/channels/99999999999", "/channels/abc"):
        assert admin("GET", path).status_code == 404, path
        assert admin("PATCH", path, json={"name": "x"}).status_code == 404, path


def test_channel_kinds_describe_each_setting_and_which_are_secret(sealed, login):
    kinds = {k["kind"]: k["settings"] for k in login(A)("GET", "/channel-kinds").get_json()}
    assert set(kinds) == {kind.value for kind in ChannelKind}
    mastodon = {s["name"]: s for s in kinds["mastodon"]}
    assert mastodon["access_token"] == mastodon["access_token"] | {"secret": True, "required": True}
    assert mastodon["server_url"]["kind"] == "url" and not mastodon["server_url"]["secret"]
    assert mastodon["visibility"]["default"] == "public"
    assert all(isinstance(s["label"], str) and s["label"] for s in kinds["x"])


def test_a_channel_whose_secrets_cannot_be_opened_is_shown_locked(sealed, login):
    admin = login(A)
    channel = create(admin)
    sealed.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()  # the key changed
    shown = admin("GET", f"/channels/{channel['id']}").get_json()
    assert shown["secrets_locked"] is True and shown["secrets_set"] == []
    refused = admin("PATCH", f"/channels/{channel['id']}", json={"name": "@ops"})
    assert refused.status_code == 422 and refused.get_json()["field"] == "secrets"


# ---------------------------------------------------------------- deliveries


@pytest.fixture
def outlets(app):
    """X, Mastodon and an email list with four subscribers (direct rows: no admin needed)."""
    made = {
        kind: Channel(kind=kind, name=f"{kind.value} outlet")
        for kind in (ChannelKind.X, ChannelKind.MASTODON, ChannelKind.EMAIL)
    }
    db.session.add_all(made.values())
    db.session.add_all(
        Subscriber(kind=SubscriberKind.EMAIL, target=f"p{n}@example.com", confirmed_at=utcnow())
        for n in range(4)
    )
    db.session.commit()
    return made


def published(login, component) -> str:
    """The public id of an update the comms manager wrote and published after approval."""
    comms, im = login(CM), login(IM)
    incident = im.declare(component)["id"]
    body = {"incident_status": "identified", "body": "We found the cause."}
    message = comms("POST", f"/incidents/{incident}/messages", json=body).get_json()["id"]
    path = f"/messages/{message}"
    digest = comms("POST", path + "/submit").get_json()["content_hash"]
    assert im("POST", path + "/approve", json={"expected_hash": digest}).status_code == 200
    assert comms("POST", path + "/publish").status_code == 200
    return message


def set_states(outlets, **states: list[tuple]) -> dict[str, list[Delivery]]:
    """Put each outlet's rows (in id order) in the given (state, fields) and commit."""
    db.session.expire_all()
    rows = {}
    for kind, wanted in states.items():
        channel = outlets[ChannelKind(kind)]
        found = db.session.scalars(
            select(Delivery).where(Delivery.channel_id == channel.id).order_by(Delivery.id)
        ).all()
        assert len(found) == len(wanted), kind
        for row, (state, fields) in zip(found, wanted, strict=True):
            row.state = state
            for name, value in fields.items():
                setattr(row, name, value)
        rows[kind] = found
    db.session.commit()
    return rows


@pytest.fixture
def stuck(app, login, api_component, outlets):
    """A published update: X sent, Mastodon unknown, email 2 sent, 1 dead, 1 pending."""
    message = published(login, api_component)
    sent, dead = (DeliveryState.SENT, {}), DeliveryState.DEAD
    bounced = {"last_error": "550 no such user", "updated_at": utcnow() - timedelta(minutes=5)}
    rows = set_states(
        outlets,
        x=[(DeliveryState.SENT, {"external_id": "1790001"})],
        mastodon=[
            (DeliveryState.UNKNOWN, {"last_error": "timed out after sending", "attempts": 3})
        ],
        email=[sent, sent, (dead, bounced), (DeliveryState.PENDING, {})],
    )
    return message, rows


def test_delivery_progress_shows_each_outlet_by_state(login, stuck):
    message, _rows = stuck
    response = login(Role.SUPPORT_AGENT)("GET", f"/messages/{message}/deliveries")
    assert response.status_code == 200
    by_kind = {line["channel"]["kind"]: line for line in response.get_json()}
    assert [line["channel"]["kind"] for line in response.get_json()] == ["email", "mastodon", "x"]
    email = by_kind["email"]
    totals = {"total": 4, "sent": 2, "percent": 50}
    assert email == email | totals | {"last_error": "550 no such user", "external_id": None}
    assert email["counts"] == dict.fromkeys(COUNTED, 0) | {"pending": 1, "sent": 2, "dead": 1}
    assert by_kind["x"] == by_kind["x"] | {"percent": 100, "external_id": "1790001"}
    assert by_kind["mastodon"]["counts"]["unknown"] == 1 and by_kind["mastodon"]["percent"] == 0
    assert login(CM)("GET", "/messages/nosuchthing1/deliveries").status_code == 404


def test_the_stuck_list_has_dead_and_unknown_rows_newest_first(login, stuck):
    message, rows = stuck
    response = login(CM)("GET", "/deliveries?state=stuck")
    assert response.status_code == 200, response.get_json()
    listed = response.get_json()
    assert [row["id"] for row in listed] == [rows["mastodon"][0].id, rows["email"][2].id]
    first = {"message_id": message, "state": "unknown", "attempts": 3}
    assert listed[0] == listed[0] | first | {"last_error": "timed out after sending"}
    channel = rows["mastodon"][0].channel_id
    assert listed[0]["channel"] == {"id": channel, "kind": "mastodon", "name": "mastodon outlet"}
    assert login(CM)("GET", "/deliveries").get_json()["field"] == "state"
    assert login(CM)("GET", "/deliveries?state=stuck&limit=1").get_json() == listed[:1]
    assert login(Role.SOCIAL_LEAD)("GET", "/deliveries?state=stuck").status_code == 403


def test_retrying_a_stuck_delivery_sends_it_again_and_a_sent_one_cannot_be(app, login, stuck):
    app.config["DELIVERY_AUTOSTART"] = False  # the row stays retrying: no worker sends it here
    _message, rows = stuck
    comms = login(CM)
    response = comms("POST", f"/deliveries/{rows['mastodon'][0].id}/retry")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == response.get_json() | {"state": "retrying", "attempts": 0}
    again = comms("POST", f"/deliveries/{rows['x'][0].id}/retry", json={})
    assert again.status_code == 409 and again.get_json()["error"]
    assert comms("POST", "/deliveries/999999/retry").status_code == 404
    bounced = f"/deliveries/{rows['email'][2].id}/retry"
    assert comms("POST", bounced, data=b"[]").status_code == 400
    assert comms("POST", bounced, json={"force": True}).get_json()["field"] == "force"
    assert login(Role.SOCIAL_LEAD)("POST", bounced).status_code == 403


BAD_SETTLEMENTS = [
    ({"went_out": True}, "note"),
    ({"went_out": True, "note": "   "}, "note"),
    ({"note": "Checked."}, "went_out"),
    ({"went_out": "yes", "note": "Checked."}, "went_out"),
    ({"went_out": True, "note": "Checked.", "by": "me"}, "by"),
]


def test_settling_needs_a_note_and_went_out_marks_the_row_sent(login, stuck):
    message, rows = stuck
    comms, path = login(CM), f"/deliveries/{rows['email'][2].id}/settle"
    for body, field in BAD_SETTLEMENTS:
        response = comms("POST", path, json=body)
        assert response.status_code == 422 and response.get_json()["field"] == field, body
    settled = comms("POST", path, json={"went_out": True, "note": "The mail server logged it."})
    assert settled.status_code == 200, settled.get_json()
    assert settled.get_json()["state"] == "sent"
    assert "The mail server logged it." in settled.get_json()["last_error"]
    progress = comms("GET", f"/messages/{message}/deliveries").get_json()
    assert progress[0]["sent"] == 3 and progress[0]["percent"] == 75
    twice = comms("POST", path, json={"went_out": False, "note": "Again."})
    assert twice.status_code == 409
    unknown = comms("POST", "/deliveries/999999/settle", json={"went_out": True, "note": "x"})
    assert unknown.status_code == 404


# ---------------------------------------------------------------- never a 500

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)
SETTING_NAMES = ["server_url", "account", "visibility", "api_base_url", "handle", "recipients"]
SECRET_NAMES = ["access_token", "consumer_key", "app_password", "webhook_url"]
# Mostly plausible values, so that examples get past the first check to the deeper ones.
URLS = st.sampled_from(["https://9.9.9.9/", "http://127.0.0.1/", "ftp://9.9.9.9/", "env:HOOK"])
SETTING_VALUES = URLS | st.text(max_size=20) | JSON_VALUES
FIELD_VALUES = {
    "kind": st.sampled_from([kind.value for kind in ChannelKind]) | JSON_VALUES,
    "name": st.text(min_size=1, max_size=30) | JSON_VALUES,
    "enabled": st.booleans() | JSON_VALUES,
    "audiences": st.lists(st.sampled_from(["public", "internal", "all"]), max_size=3),
    "statuses": st.lists(st.sampled_from(["resolved", "identified", "scheduled", "?"])),
    "settings": st.dictionaries(st.sampled_from(SETTING_NAMES), SETTING_VALUES) | JSON_VALUES,
    "secrets": st.dictionaries(st.sampled_from(SECRET_NAMES), URLS | st.text() | JSON_VALUES),
    "went_out": st.booleans() | JSON_VALUES,
    "note": st.text() | JSON_VALUES,
}
CHANNEL_FIELDS = ["name", "enabled", "audiences", "statuses", "settings", "secrets"]
# (method, path): (the fields it takes, those a plausible body always has)
WRITES = {
    ("POST", "/channels"): (["kind", *CHANNEL_FIELDS], ["kind", "name"]),
    ("PATCH", "/channels/{channel}"): (CHANNEL_FIELDS, []),
    ("POST", "/deliveries/{delivery}/settle"): (["went_out", "note"], ["went_out"]),
}


@pytest.fixture
def configured(sealed, login) -> int:
    """The id of a Mastodon channel an admin configured through the API."""
    return create(login(A))["id"]


def body_for(fields: list[str], always: list[str]):
    values = {field: FIELD_VALUES[field] for field in fields}
    optional = {field: value for field, value in values.items() if field not in always}
    plausible = st.fixed_dictionaries({f: values[f] for f in always}, optional=optional)
    return (
        plausible | plausible | st.dictionaries(st.sampled_from(fields), JSON_VALUES) | JSON_VALUES
    )


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_no_body_makes_the_channel_or_delivery_api_fail_with_a_500(
    sealed, login, configured, stuck, data
):
    sealed.config["CHANNELS_ALLOW_LOOPBACK"] = False  # refused, never connected to
    admin, channel = login(A), configured
    _message, rows = stuck
    method, template = data.draw(st.sampled_from(sorted(WRITES)))
    body = data.draw(body_for(*WRITES[(method, template)]))
    path = template.format(channel=channel, delivery=rows["email"][2].id)
    response = admin(method, path, json=body)
    assert response.status_code < 500, (method, path, body, response.get_json())
