"""Outlets for scripts: configure channels (admins), watch deliveries, unstick stuck ones."""

from __future__ import annotations

from flask import jsonify, url_for

from ...models import Channel, ChannelKind
from ...services import composer, delivery_status, outlet_admin
from ...services.errors import InvalidInput
from ...services.permissions import GRANTS, Can
from ..access import STAFF, acting_user, allow
from . import blueprint
from . import parsing as p
from .serializers import channel_json, channel_kind_json, delivery_json, progress_json

ADMINS = GRANTS[Can.ADMINISTER]
PUBLISHERS = GRANTS[Can.PUBLISH]
CHANNEL_FIELDS = {"name", "enabled", "audiences", "statuses", "settings", "secrets"}
STUCK_LIMIT = 100
MAX_STUCK_LIMIT = 500


def _channel(channel_id: int) -> Channel:
    return outlet_admin.get_channel(p.row_id(channel_id))


def _channel_json(channel: Channel) -> dict:
    """The outlet; `secrets_locked` when its stored secrets cannot be opened with the key."""
    return channel_json(outlet_admin.describe(channel))


# ---------------------------------------------------------------- outlets (admins)


@blueprint.get("/channels")
@allow(ADMINS)
def list_channels():
    return jsonify([_channel_json(c) for c in outlet_admin.all_channels()])


@blueprint.get("/channel-kinds")
@allow(ADMINS)
def list_channel_kinds():
    blanks = [outlet_admin.describe(Channel(kind=ChannelKind(k))) for k in outlet_admin.kinds()]
    return jsonify([channel_kind_json(str(d.channel.kind), d.settings_schema) for d in blanks])


@blueprint.post("/channels")
@allow(ADMINS)
def create_channel():
    body = p.json_body(CHANNEL_FIELDS | {"kind"})
    channel = _save(body, kind=p.text(body, "kind"), name=p.text(body, "name"), enabled=True)
    location = url_for(".get_channel", channel_id=channel.id)
    return p.created(_channel_json(channel), location)


@blueprint.get("/channels/<int:channel_id>")
@allow(ADMINS)
def get_channel(channel_id: int):
    return jsonify(_channel_json(_channel(channel_id)))


@blueprint.patch("/channels/<int:channel_id>")
@allow(ADMINS)
def update_channel(channel_id: int):
    channel = _channel(channel_id)
    body = p.json_body(CHANNEL_FIELDS)
    _save(
        body,
        kind=channel.kind,
        name=_unless_none(p.text(body, "name", required=False), channel.name),
        enabled=channel.enabled,
        audiences=channel.audiences,
        statuses=channel.statuses,
        channel=channel,
    )
    return jsonify(_channel_json(channel))


def _save(body: dict, *, enabled: bool, audiences=None, statuses=None, **fields) -> Channel:
    """Save from the body; a field left out keeps the value given here."""
    arguments = {
        "enabled": p.flag(body, "enabled", default=enabled),
        "audiences": _unless_none(p.text_list(body, "audiences"), audiences),
        "statuses": _unless_none(p.text_list(body, "statuses"), statuses),
        "settings": p.settings(body, "settings"),
        "secrets": p.texts_by_name(body, "secrets") or {},
    }
    try:
        return outlet_admin.save_channel(acting_user(), **arguments, **fields)
    except InvalidInput as error:
        raise _in_api_terms(error, arguments["secrets"]) from None


def _unless_none(value, default):
    return default if value is None else value


def _in_api_terms(error: InvalidInput, secrets: dict) -> InvalidInput:
    """Name a setting as the request did (settings.server_url), not as the service does."""
    if error.field and error.field not in CHANNEL_FIELDS | {"kind"}:
        group = "secrets" if error.field in secrets else "settings"
        error.field = f"{group}.{error.field}"
    return error


# ---------------------------------------------------------------- deliveries


@blueprint.get("/messages/<message_id>/deliveries")
@allow(STAFF)
def message_deliveries(message_id: str):
    message = composer.get_message(p.public_id(message_id))
    return jsonify([progress_json(line) for line in delivery_status.progress(message)])


@blueprint.get("/deliveries")
@allow(PUBLISHERS)
def list_deliveries():
    p.query_choice("state", ("stuck",), "")  # required: more states may be listed later
    limit = p.query_int("limit", STUCK_LIMIT, 1, MAX_STUCK_LIMIT)
    return jsonify([delivery_json(d) for d in delivery_status.stuck(limit)])


@blueprint.post("/deliveries/<int:delivery_id>/retry")
@allow(PUBLISHERS)
def retry_delivery(delivery_id: int):
    p.optional_json_body(())
    delivery = delivery_status.retry(acting_user(), p.row_id(delivery_id))
    return jsonify(delivery_json(delivery))


@blueprint.post("/deliveries/<int:delivery_id>/settle")
@allow(PUBLISHERS)
def settle_delivery(delivery_id: int):
    body = p.json_body({"went_out", "note"})
    went_out = p.flag(body, "went_out", default=None)
    note = p.text(body, "note", required=False) or ""
    delivery = delivery_status.settle(acting_user(), p.row_id(delivery_id), went_out, note)
    return jsonify(delivery_json(delivery))
