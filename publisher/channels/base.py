"""The one small protocol every outlet implements: render an update, send it.

A channel module declares its settings (marking the secret ones), whether a
resend with the same idempotency key is safe, and raises one of the errors
below so the engine knows whether to retry, give up, or ask a person.
Channels never import services/ or web/: they get plain data and return plain data.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol


class ChannelError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientChannelError(ChannelError):
    """Try again later (5xx, 429, connection refused before sending)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentChannelError(ChannelError):
    """Retrying cannot help (4xx that is not 429, bad credentials, refused content)."""


class AmbiguousChannelError(ChannelError):
    """The request may have been taken (a timeout after sending): never blindly repost."""


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    kind: str = "text"  # text, url, int, bool, list
    default: Any = None
    help: str = ""


@dataclass(frozen=True)
class OutgoingUpdate:
    """Everything a channel may need about one published update, as plain data."""

    message_id: str
    incident_id: str
    incident_name: str
    incident_url: str
    incident_status: str
    status_label: str
    impact: str
    audience: str
    body_markdown: str
    body_html: str
    body_text: str
    # The outlet's own text (the X variant for X, the email subject and body for email...).
    variants: dict[str, str]
    published_at: datetime
    page_name: str
    page_url: str
    # The previous post of this incident on this channel, to reply to (one thread per incident).
    reply_to: str | None = None
    # The post this one corrects or edits, when it is a revision.
    revises: str | None = None
    is_correction: bool = False
    components: list[dict[str, Any]] = field(default_factory=list)
    # Per-subscriber data for fan-out channels (address, unsubscribe links, signing secret).
    recipient: dict[str, Any] = field(default_factory=dict)
    # The update's approved translations (locale -> Markdown), for readers of other languages.
    translations: dict[str, str] = field(default_factory=dict)
    # The page as status.json shows it when the update goes out: its id, and the overall
    # indicator (none, minor, major, critical, maintenance) with its English description.
    page_id: str = ""
    page_indicator: str = "none"
    page_description: str = "All Systems Operational"


@dataclass(frozen=True)
class Payload:
    """What goes over the wire, ready to send (and to show in a preview)."""

    data: Any
    preview: str = ""


@dataclass(frozen=True)
class Receipt:
    external_id: str | None = None
    url: str | None = None
    # The network said it already had this post (X's duplicate 403): counts as sent.
    duplicate: bool = False


class SessionStore:
    """Sign-in sessions that outlive one adapter, by account, in memory: the next poll or batch
    of this process resumes the last session instead of signing in again. Thread-safe, with one
    lock per account so two threads never renew the same session at once."""

    def __init__(self) -> None:
        self._sessions: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, account: str) -> str | None:
        return self._sessions.get(account)

    def put(self, account: str, session: str | None) -> None:
        """Keep a session (an opaque string), or forget it with None."""
        if session is None:
            self._sessions.pop(account, None)
        else:
            self._sessions[account] = session

    def lock(self, account: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(account, threading.Lock())


class Channel(Protocol):
    kind: ClassVar[str]
    settings_schema: ClassVar[tuple[Setting, ...]]
    # True when resending with the same idempotency key cannot post twice.
    idempotent: ClassVar[bool]
    # True when one configured channel sends to each subscriber (email, webhooks).
    fan_out: ClassVar[bool]

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], **options: Any): ...

    def render(self, update: OutgoingUpdate) -> Payload: ...

    def send(self, payload: Payload, idempotency_key: str) -> Receipt: ...
