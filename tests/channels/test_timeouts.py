"""CHANNEL_CONNECT_TIMEOUT and CHANNEL_READ_TIMEOUT: read from the environment, handed by
channel_config.adapter_for to every outlet, and honoured: a loopback server that takes the
request and then holds it is abandoned while it is still holding it.

The server holds each connection for up to HOLD_LIMIT seconds, past the defaults (10 s;
20 s for an SMTP transport built without them). An outlet that ignored the configured read
timeout would take its default, past GAVE_UP_BY, or would wait until the server let go;
either fails the test."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time

import pytest
from cryptography.fernet import Fernet

from publisher.channels import (
    AmbiguousChannelError,
    ChannelError,
    TransientChannelError,
)
from publisher.config import ConfigError, load_config
from publisher.extensions import db
from publisher.models import Channel, ChannelKind, Subscriber, SubscriberKind
from publisher.services import channel_config, subscriptions

from .fake_bluesky import APP_PASSWORD, HANDLE
from .fake_http import sample_update

HOLD_LIMIT = 30.0  # seconds a held connection lasts at most (or until the server stops)
READ_TIMEOUT = 1.5  # long enough for the accept thread to take the connection under load
GAVE_UP_BY = 8.0  # seconds: well past READ_TIMEOUT, well short of the 10 s default


class HoldingServer:
    """A TCP server on 127.0.0.1 that reads what a client sends and never answers it (an SMTP
    server greets first, then holds). It lets a connection go by itself only after
    HOLD_LIMIT seconds, and counts how often it had to."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.received = 0  # connections that sent something
        self.let_go = 0  # connections the server ended itself, the client still waiting
        self._stop = threading.Event()
        self._handlers: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> HoldingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # releases every held connection
        for thread in [self._thread, *self._handlers]:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            handler = threading.Thread(target=self._hold, args=(conn,), daemon=True)
            self._handlers.append(handler)
            handler.start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(self.greeting)
                conn.settimeout(HOLD_LIMIT)
                if conn.recv(65536):
                    self.received += 1
                    if not self._stop.wait(HOLD_LIMIT):
                        self.let_go += 1
            except OSError:
                pass


def _outlet(app, kind: ChannelKind, server: HoldingServer) -> tuple[Channel, dict]:
    """A configured outlet of this kind whose every connection goes to the holding server,
    and what the update it sends carries (recipient, the outlet's own text)."""
    settings, secrets, recipient = {}, {}, {}
    if kind == ChannelKind.WEBHOOK:
        secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        recipient = {"kind": "webhook", "address": server.url + "/hook", "signing_secret": secret}
    elif kind == ChannelKind.SLACK:
        secrets = {"webhook_url": server.url + "/services/T/B/x"}
    elif kind == ChannelKind.X:
        settings = {"account": "herald", "api_base_url": server.url}
        secrets = dict.fromkeys(("consumer_key", "consumer_secret", "access_token",
                                 "access_token_secret"), "s")  # fmt: skip
    elif kind == ChannelKind.BLUESKY:
        settings = {"handle": HANDLE, "service_url": server.url}
        secrets = {"app_password": APP_PASSWORD}
    elif kind == ChannelKind.MASTODON:
        settings, secrets = {"server_url": server.url}, {"access_token": "token"}
    elif kind == ChannelKind.EMAIL:
        _smtp_at(app, server)
        recipient = {"kind": "email", "address": "ada@example.com"}
    channel = Channel(kind=kind, name=str(kind), settings=settings)
    channel_config.store_secrets(channel, secrets)
    db.session.add(channel)
    db.session.commit()
    return channel, {"recipient": recipient, "variants": {kind: "Elevated errors."}}


def _smtp_at(app, server: HoldingServer) -> None:
    app.config["SMTP"] = {**app.config["SMTP"], "host": "127.0.0.1", "port": server.port,
                          "security": "none", "username": None}  # fmt: skip


# What giving up means for each: after sending, it may have been taken (ambiguous); Bluesky
# holds at its sign-in and email at the greeting's answer, before anything was sent.
GIVING_UP = {
    ChannelKind.WEBHOOK: AmbiguousChannelError,
    ChannelKind.SLACK: AmbiguousChannelError,
    ChannelKind.X: AmbiguousChannelError,
    ChannelKind.MASTODON: AmbiguousChannelError,
    ChannelKind.BLUESKY: TransientChannelError,
    ChannelKind.EMAIL: TransientChannelError,
}


def test_every_outlet_kind_is_covered():
    assert set(GIVING_UP) == set(ChannelKind)


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_a_held_request_is_abandoned_after_the_configured_read_timeout(app, kind):
    app.config.update(
        CHANNEL_SECRETS_KEY=Fernet.generate_key().decode(),
        CHANNELS_ALLOW_LOOPBACK=True,
        CHANNEL_CONNECT_TIMEOUT=2.0,
        CHANNEL_READ_TIMEOUT=READ_TIMEOUT,
    )
    greeting = b"220 held.test ESMTP\r\n" if kind == ChannelKind.EMAIL else b""
    with HoldingServer(greeting) as server:
        channel, fields = _outlet(app, kind, server)
        adapter = channel_config.adapter_for(channel)
        try:
            started = time.monotonic()
            with pytest.raises(ChannelError) as caught:
                adapter.send(adapter.render(sample_update(**fields)), "key-1")
            assert time.monotonic() - started < GAVE_UP_BY  # not the adapter's default
            # The outlet gave up while the server still held the request: its own read
            # timeout ended the wait, not the server.
            assert server.let_go == 0
        finally:
            adapter.close()
    assert server.received == 1  # the request (or the EHLO) did reach the server
    assert isinstance(caught.value, GIVING_UP[kind]), caught.value
    if kind == ChannelKind.EMAIL:
        assert "timed out" in caught.value.message


def test_mail_herald_sends_itself_is_abandoned_after_the_configured_read_timeout_too(app):
    """A confirmation mail (as a postmortem reminder) goes through the email outlet's SMTP
    settings and timeouts, not a timeout of its own."""
    app.config.update(CHANNEL_CONNECT_TIMEOUT=2.0, CHANNEL_READ_TIMEOUT=READ_TIMEOUT)
    subscriber = Subscriber(kind=SubscriberKind.EMAIL, target="ada@example.com")
    db.session.add(subscriber)
    db.session.commit()
    with HoldingServer(b"220 held.test ESMTP\r\n") as server:
        _smtp_at(app, server)
        started = time.monotonic()
        with pytest.raises(TransientChannelError, match="timed out"):
            subscriptions.send_confirmation(subscriber.id)
        assert time.monotonic() - started < GAVE_UP_BY
        assert server.let_go == 0  # given up on while the server still held the EHLO
    assert server.received == 1


def test_the_timeouts_default_to_five_and_ten_seconds(tmp_path):
    config = load_config({}, tmp_path)
    assert (config["CHANNEL_CONNECT_TIMEOUT"], config["CHANNEL_READ_TIMEOUT"]) == (5.0, 10.0)


def test_the_timeouts_are_read_from_the_environment(tmp_path):
    environ = {"CHANNEL_CONNECT_TIMEOUT": "2.5", "CHANNEL_READ_TIMEOUT": "30"}
    config = load_config(environ, tmp_path)
    assert (config["CHANNEL_CONNECT_TIMEOUT"], config["CHANNEL_READ_TIMEOUT"]) == (2.5, 30.0)


@pytest.mark.parametrize("raw", ["0", "-1", "ten", "nan", "inf", "61", ""])
@pytest.mark.parametrize("name", ["CHANNEL_CONNECT_TIMEOUT", "CHANNEL_READ_TIMEOUT"])
def test_a_bad_timeout_stops_the_start_naming_the_variable(tmp_path, name, raw):
    with pytest.raises(ConfigError) as caught:
        load_config({name: raw}, tmp_path)
    assert caught.value.variable == name
