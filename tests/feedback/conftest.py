"""Helpers for the feedback tests: outlets with real secrets, digest targets, and the real
servers on 127.0.0.1 that outlets deliver to (HTTP and SMTP)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from publisher.extensions import db
from publisher.models import Channel, ChannelKind, DigestTarget
from publisher.services import channel_config
from tests.channels.fake_http import FakeHTTPServer
from tests.channels.smtp_sink import running_sink
from tests.i18n.catalogue import TRANSLATED, compile_if_stale


@pytest.fixture
def outlets(app):
    """Outlets may talk to 127.0.0.1 and keep encrypted secrets, as in a real install."""
    app.config["CHANNEL_SECRETS_KEY"] = Fernet.generate_key().decode()
    app.config["CHANNELS_ALLOW_LOOPBACK"] = True

    def make(kind: ChannelKind, name: str, settings=None, secrets=None) -> Channel:
        channel = Channel(kind=kind, name=name, settings=settings or {}, audiences=["internal"])
        channel_config.store_secrets(channel, secrets or {})
        db.session.add(channel)
        db.session.commit()
        return channel

    return make


@pytest.fixture
def slack_target(outlets):
    """A Slack outlet that receives digests: `slack_target(url)`."""

    def make(url: str) -> DigestTarget:
        channel = outlets(ChannelKind.SLACK, "Responders", secrets={"webhook_url": url})
        target = DigestTarget(channel_id=channel.id)
        db.session.add(target)
        db.session.commit()
        return target

    return make


@pytest.fixture
def receiver():
    """An HTTP server on 127.0.0.1 that records what it is sent (Slack and webhook outlets)."""
    with FakeHTTPServer() as server:
        yield server


@pytest.fixture
def sink(app):
    """A real SMTP server on 127.0.0.1 that Herald sends its email to."""
    with running_sink() as server:
        app.config["SMTP"] = server.config()
        app.config["CHANNELS_ALLOW_LOOPBACK"] = True
        yield server


@pytest.fixture
def catalogues():
    """The translated catalogues compiled, as `make translations` leaves them."""
    return [compile_if_stale(locale) for locale in TRANSLATED]
