"""What the X and Bluesky channel tests share: each outlet as built against its fake, the
fake's life, the update a channel is handed (with another network's text beside its own,
which it must not take), one post through a channel, and an incident published three times
through the real engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cryptography.fernet import Fernet

from publisher.channels import OutgoingUpdate, Receipt
from publisher.channels.bluesky import BlueskyChannel
from publisher.channels.x import XChannel
from publisher.extensions import db
from publisher.jobs.delivery import deliver_batch
from publisher.models import Channel, Delivery, Role
from publisher.services import channel_config, composer

from ..staff import make_user
from .fake_bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from .fake_http import PATIENT, sample_update
from .fake_x import FakeHTTPServer, FakeX

NETWORKS = ("x", "bluesky")
THREE_UPDATES = ("We are looking into errors.", "Found the cause.", "Fixed.")
X_SECRETS = {
    "consumer_key": "ck",
    "consumer_secret": "cs",
    "access_token": "at",
    "access_token_secret": "ats",
}


def x_channel(url: str, **options: Any) -> XChannel:
    options = {"allow_loopback": True, "timeout": PATIENT, **options}
    return XChannel({"account": "@herald", "api_base_url": url}, X_SECRETS, **options)


def bluesky_channel(url: str, password: str = APP_PASSWORD, **options: Any) -> BlueskyChannel:
    options = {"allow_loopback": True, "timeout": PATIENT, **options}
    settings = {"handle": "@" + HANDLE, "service_url": url}
    return BlueskyChannel(settings, {"app_password": password}, **options)


# Each network's fake server and how its outlet is built against one.
OUTLETS = {"x": (FakeX, x_channel), "bluesky": (FakeBluesky, bluesky_channel)}


def serving(server: FakeHTTPServer) -> Iterator[FakeHTTPServer]:
    """For a fixture: `yield from serving(FakeX())`; stopped after the test."""
    server.start()
    yield server
    server.stop()


def update(network: str, text: str, **changes: Any) -> OutgoingUpdate:
    """An update whose text for `network` is `text`; the other networks get another."""
    variants = {other: "not this one" for other in NETWORKS if other != network}
    return sample_update(variants={**variants, network: text}, **changes)


def post(outlet, text: str, **changes: Any) -> Receipt:
    """Render and send one update through the outlet, as the engine does."""
    return outlet.send(outlet.render(update(outlet.kind, text, **changes)), "key-1")


def publish(team, incident, body: str):
    """Draft, review and publish one update of the incident; returns the message."""
    comms, im = team[Role.COMMS_MANAGER], team[Role.INCIDENT_MANAGER]
    message = composer.create_draft(comms, incident, incident_status="identified", body=body)
    composer.submit(comms, message)
    composer.approve(im, message, expected_hash=composer.content_hash(message))
    return composer.publish(comms, message)


def through_the_engine(app, make, outlet: Channel, secrets: dict[str, str]) -> list[Delivery]:
    """Store the outlet (its secrets encrypted), publish THREE_UPDATES of one incident and
    deliver each batch as the worker would; returns the delivery rows in order."""
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True
    team = {role: make_user(role) for role in (Role.COMMS_MANAGER, Role.INCIDENT_MANAGER)}
    channel_config.store_secrets(outlet, secrets)
    db.session.add(outlet)
    db.session.commit()
    incident = make.incident()
    for body in THREE_UPDATES:
        deliver_batch(publish(team, incident, body).id, outlet.id)
    return db.session.scalars(db.select(Delivery).order_by(Delivery.id)).all()
