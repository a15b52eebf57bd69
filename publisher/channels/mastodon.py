"""Mastodon through Mastodon.py: one thread per incident, revisions edit in place.

Every post carries the delivery's Idempotency-Key, so a resend within the
server's window returns the same status instead of posting twice. Mastodon.py
talks through our guarded session (no redirects, no private addresses) and
never waits out a rate limit itself (`ratelimit_method="throw"`): the engine
schedules the retry.
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask_babel import lazy_gettext as _l
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
)

from . import register
from .base import (
    AmbiguousChannelError,
    ChannelError,
    OutgoingUpdate,
    Payload,
    PermanentChannelError,
    Receipt,
    Setting,
    TransientChannelError,
)
from .http import check_target, transport_error
from .net import DEFAULT_TIMEOUT, guarded_session

VISIBILITIES = ("public", "unlisted")


@register
class MastodonChannel:
    kind = "mastodon"
    settings_schema = (
        Setting("server_url", _l("Server"), kind="url", help="https://mastodon.example"),
        Setting("account", _l("Account"), required=False, help="@status@mastodon.example"),
        Setting(
            "visibility",
            _l("Visibility"),
            required=False,
            default="public",
            help=_l("public or unlisted"),
        ),
        Setting(
            "access_token",
            _l("Access token"),
            secret=True,
            help=_l("An application token with the write:statuses scope."),
        ),
    )
    idempotent = True  # Mastodon honours Idempotency-Key
    fan_out = False

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], **options: Any):
        self.server_url = (settings.get("server_url") or "").rstrip("/")
        self.visibility = settings.get("visibility") or "public"
        self.allow_loopback = bool(options.get("allow_loopback", False))
        token = secrets.get("access_token") or ""
        _check_config(self.server_url, self.visibility, token)
        self.session = guarded_session(self.allow_loopback)
        self.client = Mastodon(
            access_token=token,
            api_base_url=self.server_url,
            session=self.session,
            ratelimit_method="throw",
            request_timeout=options.get("timeout") or DEFAULT_TIMEOUT,
            version_check_mode="none",
        )

    def render(self, update: OutgoingUpdate) -> Payload:
        text = update.variants.get("mastodon") or update.body_text
        edit = update.revises if update.revises and not update.is_correction else None
        data = {
            "status": text,
            "in_reply_to_id": update.revises if update.is_correction else update.reply_to,
            "edit": edit,
        }
        return Payload(data=data, preview=text)

    def send(self, payload: Payload, idempotency_key: str) -> Receipt:
        check_target(self.server_url, self.allow_loopback)
        data = payload.data
        try:
            if data["edit"]:
                status = self.client.status_update(data["edit"], data["status"])
            else:
                status = self.client.status_post(
                    data["status"],
                    in_reply_to_id=data["in_reply_to_id"],
                    idempotency_key=idempotency_key,
                    visibility=self.visibility,
                )
        except MastodonError as error:
            raise self._error(error) from None
        return Receipt(external_id=str(status["id"]), url=status.get("url"))

    def close(self) -> None:
        self.session.close()

    def _error(self, error: MastodonError) -> ChannelError:
        if isinstance(error, MastodonRatelimitError):
            return TransientChannelError("429 rate limited", retry_after=self._reset_in())
        if isinstance(error, MastodonNetworkError):
            # Mastodon.py wraps what requests raised; that says whether the post went out.
            return transport_error(error.__context__ or error)
        if isinstance(error, MastodonServerError):
            return TransientChannelError(f"server error: {_describe(error)}")
        if isinstance(error, MastodonAPIError):
            return _api_error(error)
        return PermanentChannelError(f"refused by Mastodon.py: {error}")

    def _reset_in(self) -> float | None:
        reset = self.client.ratelimit_reset
        return max(0.0, reset - time.time()) if reset else None


def _check_config(server_url: str, visibility: str, token: str) -> None:
    if not server_url:
        raise PermanentChannelError("the Mastodon server URL is not set")
    if visibility not in VISIBILITIES:
        raise PermanentChannelError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if not token:
        raise PermanentChannelError("the Mastodon access token is not set")
    if os.path.exists(token):  # Mastodon.py would read a token that names a file from disk
        raise PermanentChannelError("the access token must be the token itself")


def _api_error(error: MastodonAPIError) -> ChannelError:
    code = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None
    if code is None:  # a 2xx we could not read: the status may exist
        return AmbiguousChannelError(f"unreadable answer from Mastodon: {_describe(error)}")
    if code == 408:
        return TransientChannelError(f"{code} {_describe(error)}")
    return PermanentChannelError(f"{code} {_describe(error)}")


def _describe(error: MastodonError) -> str:
    """Mastodon.py's args are (message, code, reason, server's error); keep the useful ones."""
    parts = [str(a) for a in error.args[1:] if a] or [str(error)]
    return " ".join(parts)[:300]
