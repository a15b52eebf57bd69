"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives.

Tests can make it refuse a recipient with a given reply, drop the connection
after the message content, or answer slowly; it counts connections opened.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: tuple

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


class SmtpSink:
    """The aiosmtpd handler: keeps messages; knobs for failures."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.connections = 0
        self.refuse: dict[str, str] = {}  # recipient -> reply, e.g. "550 5.1.1 no such user"
        self.drop_after_data = False
        self.data_delay = 0.0
        self.host, self.port = "127.0.0.1", 0

    def config(self, **overrides) -> dict:
        """An app.config["SMTP"] mapping pointing at this sink."""
        return {
            "host": self.host,
            "port": self.port,
            "security": "none",
            "username": None,
            "password": None,
            "sender": "status@status.test",
            "timeout": 5,
            **overrides,
        }

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_after_data:
            server.transport.close()
            return "421 closing"
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer)
        )
        return "250 OK: queued"


class _CountingController(Controller):
    def factory(self):
        self.handler.connections += 1  # called once per accepted connection
        return super().factory()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_sink(sink: SmtpSink | None = None) -> Iterator[SmtpSink]:
    sink = sink or SmtpSink()
    sink.port = free_port()
    controller = _CountingController(sink, hostname=sink.host, port=sink.port, ready_timeout=10)
    controller.start()
    sink.connections = 0  # forget the controller's own start-up probe
    try:
        yield sink
    finally:
        controller.stop()
