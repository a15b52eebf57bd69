"""Configured channels: their settings, their secrets (encrypted at rest), a ready instance.

A secret is either a reference to the environment (`env:NAME`, read when used)
or a value encrypted with CHANNEL_SECRETS_KEY (Fernet). Secrets are never
shown again after saving: the console shows only which ones are set.

Sign-in sessions an outlet renews by itself (Bluesky's tokens) live in memory,
one store per process, not beside the secrets: the channel row is the console's
to edit, and a worker writing a refreshed token back could overwrite an app
password saved meanwhile. A restart costs one sign-in per process.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _

from ..channels import Channel as ChannelAdapter
from ..channels import PermanentChannelError, SessionStore, channel_class
from ..channels.smtp import SmtpTransport
from ..models import Channel
from .errors import InvalidInput

ENV_PREFIX = "env:"


def load_secrets(channel: Channel) -> dict[str, str]:
    """The channel's secrets in plain text, for sending only."""
    stored = _decrypt(channel.secrets_encrypted) if channel.secrets_encrypted else {}
    return {name: _resolve(value) for name, value in stored.items()}


def store_secrets(channel: Channel, secrets: dict[str, str]) -> None:
    """Merge new secret values in (an empty value keeps the old one); no commit."""
    current = _decrypt(channel.secrets_encrypted) if channel.secrets_encrypted else {}
    for name, value in secrets.items():
        if value:
            current[name] = value
    literal = any(not v.startswith(ENV_PREFIX) for v in current.values())
    if literal and not _key():
        raise InvalidInput(
            _("Set CHANNEL_SECRETS_KEY to store secrets, or give them as env:VARIABLE_NAME."),
            field="secrets",
        )
    channel.secrets_encrypted = _encrypt(current) if current else None


def secret_names(channel: Channel) -> list[str]:
    """Which secrets are set (never their values)."""
    return sorted(_decrypt(channel.secrets_encrypted)) if channel.secrets_encrypted else []


def adapter_for(channel: Channel) -> ChannelAdapter:
    cls = channel_class(channel.kind)
    return cls(channel.settings or {}, load_secrets(channel), **adapter_options())


def adapter_options() -> dict[str, Any]:
    """What every adapter is built with: the loopback rule, SMTP, the timeouts (connect, read)
    and the sign-in sessions this process keeps between adapters."""
    config = current_app.config
    return {
        "allow_loopback": config.get("CHANNELS_ALLOW_LOOPBACK", False),
        "smtp": config["SMTP"],
        "timeout": _timeouts(),
        "sessions": _sessions(),
    }


def smtp_transport() -> SmtpTransport:
    """The mail server for mail Herald sends itself (confirmations, reminders), with the
    same settings and timeouts as the email outlet; close() it when done."""
    return SmtpTransport({**current_app.config["SMTP"], "timeout": _timeouts()})


def _timeouts() -> tuple[float, float]:
    config = current_app.config
    return config["CHANNEL_CONNECT_TIMEOUT"], config["CHANNEL_READ_TIMEOUT"]


def _sessions() -> SessionStore:
    """One store per app, so per process (a worker's threads share it); never on disk."""
    return current_app.extensions.setdefault("herald_channel_sessions", SessionStore())


def _resolve(value: str) -> str:
    if not value.startswith(ENV_PREFIX):
        return value
    name = value[len(ENV_PREFIX) :]
    if name not in os.environ:
        raise PermanentChannelError(f"the environment variable {name} is not set")
    return os.environ[name]


def _key() -> str | None:
    return current_app.config.get("CHANNEL_SECRETS_KEY")


def _encrypt(values: dict[str, str]) -> str:
    if not _key():  # only env: references, which are not secret themselves
        return "plain:" + json.dumps(values)
    return Fernet(_key().encode()).encrypt(json.dumps(values).encode()).decode()


def _decrypt(stored: str) -> dict[str, str]:
    if stored.startswith("plain:"):
        return json.loads(stored[len("plain:") :])
    if not _key():
        raise PermanentChannelError("CHANNEL_SECRETS_KEY is not set; stored secrets are locked")
    try:
        return json.loads(Fernet(_key().encode()).decrypt(stored.encode()))
    except InvalidToken:
        raise PermanentChannelError("stored secrets do not match CHANNEL_SECRETS_KEY") from None
