"""SMTP transport: one connection (STARTTLS, implicit TLS or plain) reused across sends.

Used by the email channel (one connection per delivery batch) and by the
subscription confirmation mail. The transaction is driven step by step so a
failure is classified by how far it got: anything before the message content
went out is safe to retry (transient) or refused (permanent, by the reply
code); a lost connection or a timeout after the content went out is ambiguous,
because the server may have taken the message.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email import policy
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from .base import (
    AmbiguousChannelError,
    ChannelError,
    PermanentChannelError,
    TransientChannelError,
)

log = logging.getLogger(__name__)

SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_TIMEOUT = 20.0  # seconds, when the configuration gives none
_LEADING_DOT = re.compile(rb"(?m)^\.")


def error_for_reply(code: int, reply: bytes | str, what: str) -> ChannelError:
    """4xx: try again later; 5xx: the server refuses for good; anything else: try again."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"SMTP {what} refused: {code} {text}".strip()
    if 500 <= code < 600:
        return PermanentChannelError(message)
    return TransientChannelError(message)


def timeouts(value: Any) -> tuple[float, float]:
    """(connect, read) in seconds from a pair, one number for both, or nothing (20 s)."""
    if isinstance(value, (tuple, list)):
        return float(value[0]), float(value[1])
    return float(value or DEFAULT_TIMEOUT), float(value or DEFAULT_TIMEOUT)


def envelope_sender(sender: str) -> str:
    """The bare address of a From value such as `Status <status@example.com>`."""
    return parseaddr(sender)[1] or sender


class SmtpTransport:
    """Sends EmailMessages over one lazily opened connection; call close() when done."""

    def __init__(self, config: Mapping[str, Any]):
        self._config = dict(config)
        if self._config.get("security", "starttls") not in SECURITY_MODES:
            raise PermanentChannelError("SMTP security must be none, starttls or ssl")
        self._conn: smtplib.SMTP | None = None
        # A connection that failed stays failed for this transport: a batch of 200 mails
        # must not wait 200 connect timeouts on a server that is down.
        self._broken: ChannelError | None = None
        self.connections_opened = 0

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> str:
        """Send one message to the envelope recipients; returns the server's final reply."""
        sender = envelope_sender(str(message["From"] or self._config["sender"]))
        utf8 = not all(a.isascii() for a in (sender, *recipients))
        try:
            data = serialize(message, utf8)
        except MessageError as error:  # newer Pythons refuse to write an injected header
            raise PermanentChannelError(f"refused to send: {error}") from None
        check_header_block(data, message)
        conn, reused = self._connection()
        if not self._envelope_sent(conn, sender, recipients, utf8, may_fail=reused):
            # The server closed an idle connection between two mails: nothing was sent yet.
            conn, _reused = self._connection()
            self._envelope_sent(conn, sender, recipients, utf8, may_fail=False)
        return self._data(conn, data)

    def close(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.quit()
        except (smtplib.SMTPException, OSError):
            self._conn.close()
        self._conn = None

    # ------------------------------------------------------------ connection

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        if self._conn is not None:
            return self._conn, True
        if self._broken is not None:
            raise self._broken
        try:
            self._conn = self._open()
        except ChannelError as error:
            self._broken = error
            raise
        self.connections_opened += 1
        return self._conn, False

    def _open(self) -> smtplib.SMTP:
        host, port = self._config["host"], int(self._config["port"])
        try:
            conn = self._connect(host, port)
        except (OSError, smtplib.SMTPException) as error:
            raise TransientChannelError(f"cannot connect to SMTP {host}:{port}: {error}") from None
        try:
            self._handshake(conn)
        except smtplib.SMTPAuthenticationError as error:
            conn.close()
            raise error_for_reply(535, error.smtp_error, "login") from None
        except smtplib.SMTPNotSupportedError as error:
            conn.close()
            raise PermanentChannelError(f"SMTP server lacks a needed feature: {error}") from None
        except smtplib.SMTPResponseException as error:
            conn.close()
            raise error_for_reply(error.smtp_code, error.smtp_error, "greeting") from None
        except (OSError, smtplib.SMTPException) as error:
            conn.close()
            raise TransientChannelError(f"SMTP handshake with {host} failed: {error}") from None
        return conn

    def _connect(self, host: str, port: int) -> smtplib.SMTP:
        """Connect (TCP, TLS for "ssl", the greeting) within the connect timeout; every later
        reply within the read timeout."""
        connect, read = timeouts(self._config.get("timeout"))
        if self._config.get("security") == "ssl":
            context = ssl.create_default_context()
            conn = smtplib.SMTP_SSL(host, port, timeout=connect, context=context)
        else:
            conn = smtplib.SMTP(host, port, timeout=connect)
        conn.timeout = read
        conn.sock.settimeout(read)  # STARTTLS wraps this socket and keeps its timeout
        return conn

    def _handshake(self, conn: smtplib.SMTP) -> None:
        conn.ehlo()
        if self._config.get("security") == "starttls":
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        username = self._config.get("username")
        if username:
            if self._config.get("security") == "none":
                log.warning("sending SMTP credentials without TLS to %s", self._config["host"])
            conn.login(username, self._config.get("password") or "")

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    # ------------------------------------------------------------ transaction

    def _envelope_sent(self, conn, sender, recipients, utf8, may_fail: bool) -> bool:
        """False when a reused connection turned out closed (the caller reconnects once)."""
        try:
            self._envelope(conn, sender, recipients, utf8)
        except smtplib.SMTPServerDisconnected as error:
            self._drop()
            if may_fail:
                return False
            raise TransientChannelError(f"SMTP server disconnected: {error}") from None
        return True

    def _envelope(self, conn: smtplib.SMTP, sender: str, recipients: Sequence[str], utf8: bool):
        """MAIL FROM and RCPT TO; raises for the whole message when no recipient is taken."""
        options = self._mail_options(conn, utf8)
        code, reply = conn.mail(sender, options)
        if code != 250:
            self._reset(conn)
            raise error_for_reply(code, reply, "sender")
        refused = []
        for recipient in recipients:
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                refused.append((recipient, code, reply))
        if len(refused) == len(recipients):
            self._reset(conn)
            _recipient, code, reply = refused[0]
            raise error_for_reply(code, reply, "recipient")
        for recipient, code, reply in refused:
            log.warning("SMTP refused recipient %s: %s %r", recipient, code, reply)

    def _mail_options(self, conn: smtplib.SMTP, utf8: bool) -> list[str]:
        if not utf8:
            return []
        if not conn.has_extn("smtputf8"):
            raise PermanentChannelError("the SMTP server cannot take internationalized addresses")
        return ["SMTPUTF8", "BODY=8BITMIME"]

    def _data(self, conn: smtplib.SMTP, data: bytes) -> str:
        try:
            code, reply = conn.docmd("DATA")
        except smtplib.SMTPServerDisconnected as error:
            self._drop()  # the content has not gone out: safe to retry
            raise TransientChannelError(f"SMTP server disconnected: {error}") from None
        if code != 354:
            self._reset(conn)
            raise error_for_reply(code, reply, "message")
        try:
            conn.send(_LEADING_DOT.sub(b"..", data) + b".\r\n")
            code, reply = conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise AmbiguousChannelError(
                f"the SMTP connection ended after the message was sent ({error}); "
                "it may have been delivered"
            ) from None
        if code != 250:
            raise error_for_reply(code, reply, "message")
        return reply.decode("utf-8", "replace")

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


# Fold only past RFC 5322's hard limit: folded at 78, a long List-Unsubscribe URL would be
# written as RFC 2047 encoded words, which one-click unsubscribe clients do not decode.
WIRE = policy.SMTP.clone(max_line_length=998)
WIRE_UTF8 = policy.SMTPUTF8.clone(max_line_length=998)


def serialize(message: EmailMessage, utf8: bool = False) -> bytes:
    """The message as SMTP wants it (CRLF line ends, ending in CRLF)."""
    data = message.as_bytes(policy=WIRE_UTF8 if utf8 else WIRE)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def check_header_block(data: bytes, message: EmailMessage) -> None:
    """Refuse to send when the header block on the wire names other headers than were set
    (a CR or LF that slipped into a value would have started a new header)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    written = [
        line.split(b":", 1)[0].decode("utf-8", "replace").lower()
        for line in head.split(b"\r\n")
        if line and line[:1] not in (b" ", b"\t")
    ]
    if sorted(written) != sorted(name.lower() for name in message):
        raise PermanentChannelError("refused to send: a header value would add a header line")
