"""Slack through an incoming webhook: Block Kit with a plain-text fallback.

The webhook URL is the credential, so it is a secret and never appears in an
error. Slack cannot edit what an incoming webhook posted: a revision goes out
as a correction post. Incoming webhooks return no message id, and a resend
would post twice, so the channel is not idempotent.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import register
from .base import OutgoingUpdate, Payload, PermanentChannelError, Receipt, Setting
from .http import check_target, post
from .net import DEFAULT_TIMEOUT, guarded_session

# Block Kit limits (characters).
HEADER_MAX = 150
SECTION_MAX = 3000
BUTTON_TEXT_MAX = 75
FALLBACK_MAX = 3000
# An "&" that does not already start one of the three entities Slack decodes.
_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def mrkdwn(text: str) -> str:
    """Escape &, < and > so Slack shows the text as text (no links, no @channel).

    Idempotent: the composer's Slack variant is already escaped; "&amp;" stays as is.
    """
    return _BARE_AMPERSAND.sub("&amp;", text or "").replace("<", "&lt;").replace(">", "&gt;")


def cap(text: str, limit: int) -> str:
    """At most `limit` characters, ending in "…" when cut (never inside an entity)."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


@register
class SlackChannel:
    kind = "slack"
    settings_schema = (
        Setting(
            "webhook_url",
            _l("Incoming webhook URL"),
            secret=True,
            kind="url",
            help=_l("From Slack: Apps, Incoming Webhooks. It works as a password."),
        ),
    )
    idempotent = False
    fan_out = False

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], **options: Any):
        self.webhook_url = secrets.get("webhook_url") or ""
        if not self.webhook_url:
            raise PermanentChannelError("the Slack webhook URL is not set")
        self.allow_loopback = bool(options.get("allow_loopback", False))
        self.timeout = options.get("timeout") or DEFAULT_TIMEOUT
        self.session = guarded_session(self.allow_loopback)

    def render(self, update: OutgoingUpdate) -> Payload:
        section = mrkdwn(update.variants.get("slack") or update.body_text)
        if update.is_correction:
            section = _("*Correction:*") + " " + section
        data = {
            "text": cap(mrkdwn(_headline(update)), FALLBACK_MAX),
            "blocks": [
                _header(update),
                {"type": "section", "text": {"type": "mrkdwn", "text": cap(section, SECTION_MAX)}},
                _context(update),
                _link(update),
            ],
        }
        return Payload(data=data, preview=section)

    def send(self, payload: Payload, idempotency_key: str) -> Receipt:
        check_target(self.webhook_url, self.allow_loopback)
        body = json.dumps(payload.data).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        post(self.session, self.webhook_url, body, headers, self.timeout)
        return Receipt()  # an incoming webhook answers "ok", with no message id

    def close(self) -> None:
        self.session.close()


def _headline(update: OutgoingUpdate) -> str:
    return f"[{update.status_label}] {update.incident_name}"


def _plain(text: str, limit: int) -> dict[str, Any]:
    """Plain text is never parsed for links or mentions: no escaping, just the limit."""
    return {"type": "plain_text", "text": cap(" ".join(text.split()) or "-", limit), "emoji": True}


def _header(update: OutgoingUpdate) -> dict[str, Any]:
    name = update.incident_name
    if update.is_correction:
        name = _("Correction: %(name)s", name=name)
    return {"type": "header", "text": _plain(name, HEADER_MAX)}


def _context(update: OutgoingUpdate) -> dict[str, Any]:
    text = _(
        "*Status:* %(status)s  ·  *Impact:* %(impact)s",
        status=mrkdwn(update.status_label),
        impact=mrkdwn(update.impact),
    )
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _link(update: OutgoingUpdate) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": _plain(_("View incident"), BUTTON_TEXT_MAX),
        "url": update.incident_url,
        "action_id": "view_incident",
    }
    return {"type": "actions", "elements": [button]}
