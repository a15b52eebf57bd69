"""Configuring outlets (channels): admins choose settings; secrets are stored sealed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..channels import REGISTRY, PermanentChannelError, Setting, channel_class
from ..channels.net import UnsafeURLError, check_url
from ..extensions import db
from ..models import Audience, Channel, ChannelKind, IncidentStatus, MaintenanceStatus, User
from . import audit, channel_config, delivery
from .errors import InvalidInput, NotFound
from .permissions import Can, require

STATUSES = {s.value for s in IncidentStatus} | {s.value for s in MaintenanceStatus}


@dataclass(frozen=True)
class ChannelDescription:
    channel: Channel
    settings_schema: tuple[Setting, ...]
    secrets_set: list[str]
    locked: bool = False


def kinds() -> list[str]:
    channel_class(ChannelKind.X)  # loads every outlet module
    return sorted(k for k in REGISTRY if k in {c.value for c in ChannelKind})


def all_channels() -> list[Channel]:
    return list(db.session.scalars(select(Channel).order_by(Channel.kind, Channel.name)))


def get_channel(channel_id: int) -> Channel:
    channel = db.session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(_("There is no such outlet."))
    return channel


def describe(channel: Channel) -> ChannelDescription:
    schema = channel_class(channel.kind).settings_schema
    try:
        names, locked = channel_config.secret_names(channel), False
    except PermanentChannelError:  # CHANNEL_SECRETS_KEY missing or changed
        names, locked = [], True
    return ChannelDescription(channel, schema, names, locked)


def save_channel(
    actor: User,
    *,
    kind: str,
    name: str,
    enabled: bool = True,
    audiences: list[str] | None = None,
    statuses: list[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    channel: Channel | None = None,
) -> Channel:
    """Create or change an outlet; secrets given empty keep their stored value."""
    require(actor, Can.ADMINISTER)
    schema = _schema(kind if channel is None else channel.kind)
    channel = channel or Channel(kind=ChannelKind(kind))
    channel.name = _name(name)
    switched_off = channel.id is not None and channel.enabled and not enabled
    channel.enabled = bool(enabled)
    channel.audiences = _audiences(audiences)
    channel.statuses = _statuses(statuses)
    channel.settings = _settings(schema, settings or {}, channel.settings or {})
    _store(channel, schema, _secrets(schema, secrets or {}, channel))
    db.session.add(channel)
    cancelled = (
        delivery.cancel_for_channel(channel.id, delivery.SWITCHED_OFF) if switched_off else 0
    )
    audit.record(
        actor,
        "channel.saved",
        channel,
        after={
            "kind": channel.kind,
            "name": channel.name,
            "enabled": channel.enabled,
            "secrets": sorted((secrets or {}).keys()),
            **({"deliveries_cancelled": cancelled} if cancelled else {}),
        },
    )
    db.session.commit()
    return channel


def _store(channel: Channel, schema, secrets: dict[str, str]) -> None:
    """Seal the secrets; with the key lost or changed, only a full new set can replace them."""
    try:
        channel_config.store_secrets(channel, secrets)
    except PermanentChannelError:
        every = {s.name for s in schema if s.secret}
        if not every <= set(secrets):
            raise InvalidInput(
                _(
                    "The stored secrets cannot be opened with CHANNEL_SECRETS_KEY; "
                    "give every secret again."
                ),
                field="secrets",
            ) from None
        channel.secrets_encrypted = None
        channel_config.store_secrets(channel, secrets)


def _schema(kind: str) -> tuple[Setting, ...]:
    if kind not in kinds():
        raise InvalidInput(_("Unknown kind of outlet."), field="kind")
    return channel_class(kind).settings_schema


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise InvalidInput(_("Give a name of 1 to 200 characters."), field="name")
    return name


def _audiences(values: list[str] | None) -> list[str]:
    values = [Audience.PUBLIC.value] if values is None else list(values)
    if not values or any(v not in {a.value for a in Audience} for v in values):
        raise InvalidInput(_("Audiences are public and/or internal."), field="audiences")
    return sorted(set(values))


def _statuses(values: list[str] | None) -> list[str]:
    values = list(values or [])
    if any(v not in STATUSES for v in values):
        raise InvalidInput(_("Unknown incident status."), field="statuses")
    return sorted(set(values))


def _settings(schema, given: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    known = {s.name for s in schema if not s.secret}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InvalidInput(
            _("Unknown setting: %(name)s.", name=", ".join(unknown)), field=unknown[0]
        )
    result = {}
    for setting in (s for s in schema if not s.secret):
        value = given.get(setting.name, current.get(setting.name, setting.default))
        result[setting.name] = _setting_value(setting, value)
    return result


def _setting_value(setting: Setting, value: Any) -> Any:
    if value in (None, "", []):
        if setting.required and setting.default is None:
            raise InvalidInput(_("%(label)s is required.", label=setting.label), field=setting.name)
        return setting.default
    if setting.kind == "url":
        _check_url(setting, str(value))
    if setting.kind == "int" and not str(value).isdigit():
        raise InvalidInput(
            _("%(label)s must be a number.", label=setting.label), field=setting.name
        )
    if setting.kind == "list" and isinstance(value, str):
        value = [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    return value


def _check_url(setting: Setting, value: str) -> None:
    try:
        check_url(value, current_app.config.get("CHANNELS_ALLOW_LOOPBACK", False))
    except UnsafeURLError as error:
        if not error.unresolved:
            raise InvalidInput(
                _("%(label)s: %(problem)s", label=setting.label, problem=str(error)),
                field=setting.name,
            ) from None


def _secrets(schema, given: Mapping[str, str], channel: Channel) -> dict[str, str]:
    names = {s.name for s in schema if s.secret}
    unknown = set(given) - names
    if unknown:
        raise InvalidInput(
            _("Unknown secret: %(name)s.", name=", ".join(sorted(unknown))), field="secrets"
        )
    already = set(describe(channel).secrets_set) if channel.id else set()
    missing = [
        s.label
        for s in schema
        if s.secret and s.required and s.name not in already and not given.get(s.name)
    ]
    if missing:
        raise InvalidInput(
            _("Give: %(names)s.", names=", ".join(str(m) for m in missing)), field="secrets"
        )
    kinds_by_name = {s.name: s for s in schema}
    for name, value in given.items():
        is_url = kinds_by_name[name].kind == "url"
        if value and is_url and not str(value).startswith(channel_config.ENV_PREFIX):
            _check_url(kinds_by_name[name], str(value))
    return {k: str(v) for k, v in given.items() if v}
