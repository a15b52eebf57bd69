"""Webhook subscribers: the JSON Statuspage sends, signed per Standard Webhooks.

One POST per event: the incident update, then one `component_update` per
component the update changed (as Statuspage sends them). Each carries
`webhook-id` (the delivery's idempotency key, so receivers dedupe retries),
`webhook-timestamp` and `webhook-signature` (v1, HMAC-SHA256 over
"{id}.{timestamp}.{body}" with the subscriber's `whsec_` secret).
The HTTP helpers in http.py (check_target, post) are shared with the Slack and
Mastodon channels: every error names no URL, since a Slack URL is a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from . import register
from .base import (
    OutgoingUpdate,
    Payload,
    PermanentChannelError,
    Receipt,
    Setting,
)
from .http import check_target, post
from .net import DEFAULT_TIMEOUT, guarded_session

DOCUMENTATION_URL = "https://www.standardwebhooks.com/"
SECRET_PREFIX = "whsec_"


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The Standard Webhooks v1 signature of one message."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise PermanentChannelError(
            "the subscriber's signing secret is not whsec_ + base64"
        ) from None
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    # (suffix of the webhook-id, JSON body) per event; the first is the incident update.
    events: tuple[tuple[str, str], ...]
    secret: str = field(repr=False)


@register
class WebhookChannel:
    kind = "webhook"
    settings_schema = (
        Setting(
            "documentation_url",
            _l("Documentation link in each payload"),
            required=False,
            kind="url",
            help=_l("Where subscribers read about these webhooks."),
        ),
    )
    idempotent = True  # receivers dedupe on webhook-id
    fan_out = True

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], **options: Any):
        self.documentation_url = settings.get("documentation_url") or DOCUMENTATION_URL
        self.allow_loopback = bool(options.get("allow_loopback", False))
        self.timeout = options.get("timeout") or DEFAULT_TIMEOUT
        self.session = guarded_session(self.allow_loopback)

    def render(self, update: OutgoingUpdate) -> Payload:
        recipient = update.recipient
        if not recipient.get("address"):
            raise PermanentChannelError("no webhook subscriber to send to")
        if not recipient.get("signing_secret"):
            raise PermanentChannelError("the webhook subscriber has no signing secret")
        common = {"meta": self._meta(update), "page": _page(update)}
        events = [("", _dump({**common, "incident": _incident(update)}))]
        events += [
            (f".{change['id']}", _dump({**common, **_component_event(update, change)}))
            for change in update.components
        ]
        request = WebhookRequest(recipient["address"], tuple(events), recipient["signing_secret"])
        return Payload(data=request, preview=events[0][1])

    def send(self, payload: Payload, idempotency_key: str) -> Receipt:
        request: WebhookRequest = payload.data
        check_target(request.url, self.allow_loopback)
        for suffix, body in request.events:
            self._post(request, idempotency_key + suffix, body)
        return Receipt(external_id=idempotency_key)

    def close(self) -> None:
        self.session.close()

    def _post(self, request: WebhookRequest, msg_id: str, body: str) -> None:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(request.secret, msg_id, timestamp, body),
        }
        post(self.session, request.url, body.encode(), headers, self.timeout)

    def _meta(self, update: OutgoingUpdate) -> dict[str, Any]:
        return {
            "unsubscribe": update.recipient.get("unsubscribe_url"),
            "manage": update.recipient.get("manage_url"),
            "documentation": self.documentation_url,
            "generated_at": _iso(datetime.now(UTC)),
        }


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as Statuspage writes its times."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _page(update: OutgoingUpdate) -> dict[str, Any]:
    """The page as status.json shows it: Statuspage's webhooks send the page's own status,
    so resolving one incident while another is open does not say all is well."""
    return {
        "id": update.page_id,
        "name": update.page_name,
        "url": update.page_url,
        "status_indicator": update.page_indicator,
        "status_description": update.page_description,
    }


def _incident(update: OutgoingUpdate) -> dict[str, Any]:
    at = _iso(update.published_at)
    return {
        "id": update.incident_id,
        "name": update.incident_name,
        "status": update.incident_status,
        "impact": update.impact,
        "shortlink": update.incident_url,
        "updated_at": at,
        "resolved_at": at if update.incident_status == "resolved" else None,
        "incident_updates": [_incident_update(update, at)],
        "components": [
            {"id": c["id"], "name": c["name"], "status": c["new_status"]} for c in update.components
        ],
    }


def _incident_update(update: OutgoingUpdate, at: str) -> dict[str, Any]:
    entry = {
        "id": update.message_id,
        "incident_id": update.incident_id,
        "status": update.incident_status,
        "body": update.body_markdown,
        "created_at": at,
        "updated_at": at,
        "display_at": at,
        "affected_components": [
            {
                "code": c["id"],
                "name": c["name"],
                "old_status": c["old_status"],
                "new_status": c["new_status"],
            }
            for c in update.components
        ],
    }
    if update.revises:
        entry["revises"] = update.revises  # the webhook-id of the update this one replaces
    return entry


def _component_event(update: OutgoingUpdate, change: dict[str, Any]) -> dict[str, Any]:
    at = _iso(update.published_at)
    return {
        "component_update": {
            "id": f"{update.message_id}-{change['id']}",
            "component_id": change["id"],
            "component_type": "Component",
            "old_status": change["old_status"],
            "new_status": change["new_status"],
            "created_at": at,
        },
        "component": {
            "id": change["id"],
            "name": change["name"],
            "status": change["new_status"],
            "updated_at": at,
        },
    }
