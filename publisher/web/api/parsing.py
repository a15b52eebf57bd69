"""Reading JSON bodies and query strings: wrong shapes become 400/422 with a field, never 500."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _

from ...models import Component, ComponentStatus, User
from ...services import api_queries, users
from ...services.errors import InvalidInput, NotFound, ServiceError

# Far above every service's own limit; stops huge strings before they reach a query.
MAX_TEXT = 20_000
MAX_ID = 16
MAX_ITEMS = 200
MAX_BODY = 1_000_000
MAX_ROW_ID = 2**31 - 1  # the largest id a database integer column holds
COMPONENT_STATUSES = [s.value for s in ComponentStatus]


class BadRequestBody(ServiceError):
    status_code = 400


def json_body(allowed: Collection[str]) -> dict[str, Any]:
    """The request body as a JSON object whose keys are all in `allowed`."""
    request.max_content_length = MAX_BODY  # larger bodies are answered 413
    try:
        body = request.get_json(force=True, silent=True)
    except RecursionError:  # absurdly deep nesting; the json module gives up
        body = None
    if not isinstance(body, dict):
        raise BadRequestBody(_("Send a JSON object as the request body."))
    unknown = sorted(key for key in body if key not in allowed)
    if unknown:
        raise InvalidInput(_("Unknown field: %(field)s.", field=unknown[0]), field=unknown[0])
    return body


def optional_json_body(allowed: Collection[str]) -> dict[str, Any]:
    """Like json_body, but an empty body means {}."""
    request.max_content_length = MAX_BODY
    if not request.get_data(cache=True):
        return {}
    return json_body(allowed)


def text(body: dict, field: str, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidInput(_("%(field)s is required.", field=field), field=field)
        return None
    return checked_text(value, field)


def checked_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be a string.", field=field), field=field)
    if len(value) > MAX_TEXT or "\x00" in value or not _encodable(value):
        raise InvalidInput(_("%(field)s is too long or not valid text.", field=field), field=field)
    return value


def flag(body: dict, field: str, default: bool | None) -> bool:
    """true or false; with default None the field is required."""
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise InvalidInput(_("%(field)s must be true or false.", field=field), field=field)
    return value


def integer(
    body: dict, field: str, low: int = 1, high: int = MAX_ROW_ID, *, required: bool = True
) -> int | None:
    """A whole number within [low, high] (true and false are not numbers here)."""
    value = body.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            _(
                "%(field)s must be a whole number from %(low)d to %(high)d.",
                field=field,
                low=low,
                high=high,
            ),
            field=field,
        )
    return value


def texts_by_key(body: dict, field: str, keys: Collection[str]) -> dict[str, str] | None:
    """{"key": "text", ...} with every key one of `keys`; values are checked as text."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(_("%(field)s must be an object of texts.", field=field), field=field)
    unknown = sorted(key for key in value if key not in keys)
    if unknown:
        allowed = ", ".join(keys)
        raise InvalidInput(
            _("The keys of %(field)s must be among: %(allowed)s.", field=field, allowed=allowed),
            field=field,
        )
    return {key: checked_text(text, f"{field}.{key}") for key, text in value.items()}


def text_list(body: dict, field: str) -> list[str] | None:
    """["text", ...], each checked as text; absent or null is None."""
    raw = items(body, field, required=False)
    if raw is None:
        return None
    return [checked_text(value, f"{field}[{n}]") for n, value in enumerate(raw)]


def texts_by_name(body: dict, field: str) -> dict[str, str] | None:
    """{"name": "text", ...} with any names (the service says which it knows)."""
    value = _object_field(body, field)
    if value is None:
        return None
    return {name: checked_text(text, f"{field}.{name}") for name, text in value.items()}


def settings(body: dict, field: str) -> dict[str, Any] | None:
    """{"name": value, ...}: text, a whole number, true or false, null, or a list of texts."""
    value = _object_field(body, field)
    if value is None:
        return None
    return {name: _setting(item, f"{field}.{name}") for name, item in value.items()}


def row_id(raw: int) -> int:
    """A path's integer id; one no database column could hold cannot exist."""
    if not 1 <= raw <= MAX_ROW_ID:
        raise NotFound(_("Nothing has that id."))
    return raw


def timestamp(body: dict, field: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 time with an offset; a naive time is refused rather than guessed."""
    raw = text(body, field, required=required)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
        value = value.astimezone(UTC) if value.tzinfo else None
    except (ValueError, OverflowError):  # not a time, or one that falls off the calendar in UTC
        value = None
    if value is None:
        raise InvalidInput(
            _(
                "%(field)s must be an ISO 8601 time with an offset, such as "
                "2030-01-31T22:00:00+00:00.",
                field=field,
            ),
            field=field,
        )
    return value


def items(body: dict, field: str, *, required: bool = True) -> list | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise InvalidInput(
            _("%(field)s must be a list of at most %(n)d items.", field=field, n=MAX_ITEMS),
            field=field,
        )
    return value


def component_statuses(body: dict, field: str, *, required: bool = True) -> dict | None:
    """[{"id": public id, "status": ...}] as {Component: status}; the service checks statuses."""
    entries = items(body, field, required=required)
    if entries is None:
        return None
    pairs = [_id_and_status(entry, f"{field}[{n}]") for n, entry in enumerate(entries)]
    ids = [public_id for public_id, _status in pairs]
    found = _components(ids, [f"{field}[{n}].id" for n in range(len(ids))])
    return {found[public_id]: status for public_id, status in pairs}


def component_list(body: dict, field: str) -> list[Component]:
    """["public id", ...] as components, in the order given."""
    raw = items(body, field)
    where = [f"{field}[{n}]" for n in range(len(raw))]
    ids = [checked_text(value, at) for value, at in zip(raw, where, strict=True)]
    found = _components(ids, where)
    return list(dict.fromkeys(found[public_id] for public_id in ids))


def user_by_email(body: dict, field: str, *, required: bool = True) -> User | None:
    """The enabled account with this email address."""
    email = text(body, field, required=required)
    if email is None:
        return None
    user = users.find_by_email(email)
    if user is None or not user.is_enabled:
        raise InvalidInput(_("There is no enabled account with that email address."), field=field)
    return user


def query_choice(name: str, choices: Collection[str], default: str) -> str:
    value = request.args.get(name, default)
    if value not in choices:
        allowed = ", ".join(choices)
        raise InvalidInput(
            _("%(field)s must be one of: %(allowed)s.", field=name, allowed=allowed), field=name
        )
    return value


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(
            _(
                "%(field)s must be a whole number from %(low)d to %(high)d.",
                field=name,
                low=low,
                high=high,
            ),
            field=name,
        )
    return int(raw)


def public_id(raw: str) -> str:
    """A path id in the shape public ids have; anything else cannot exist."""
    if not raw.isascii() or not raw.isalnum() or len(raw) > MAX_ID:
        raise NotFound(_("Nothing has that id."))
    return raw


def _id_and_status(entry: Any, where: str) -> tuple[str, str]:
    if not isinstance(entry, dict):
        raise InvalidInput(
            _("%(field)s must be an object with id and status.", field=where), field=where
        )
    public_id = checked_text(entry.get("id"), f"{where}.id")
    status = checked_text(entry.get("status"), f"{where}.status")
    if status not in COMPONENT_STATUSES:
        allowed = ", ".join(COMPONENT_STATUSES)
        raise InvalidInput(
            _("%(field)s must be one of: %(allowed)s.", field=f"{where}.status", allowed=allowed),
            field=f"{where}.status",
        )
    return public_id, status


def _components(ids: list[str], where: list[str]) -> dict[str, Component]:
    found = api_queries.components_by_public_id(i for i in ids if len(i) <= MAX_ID)
    for public_id, field in zip(ids, where, strict=True):
        if public_id not in found:
            raise InvalidInput(_("There is no component with that id."), field=field)
    return found


def _object_field(body: dict, field: str) -> dict[str, Any] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_ITEMS:
        raise InvalidInput(
            _("%(field)s must be an object of at most %(n)d names.", field=field, n=MAX_ITEMS),
            field=field,
        )
    for name in value:
        checked_text(name, field)
    return value


def _setting(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) <= MAX_ROW_ID:
        return value
    if isinstance(value, str):
        return checked_text(value, where)
    if isinstance(value, list) and len(value) <= MAX_ITEMS:
        return [checked_text(item, f"{where}[{n}]") for n, item in enumerate(value)]
    raise InvalidInput(
        _(
            "%(field)s must be text, a whole number, true or false, or a list of texts.",
            field=where,
        ),
        field=where,
    )


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800" escapes
        return False
    return True


def created(payload: dict, location: str | None = None) -> Response:
    """A 201 with the new object, and where it lives."""
    response = jsonify(payload)
    response.status_code = 201
    if location:
        response.headers["Location"] = location
    return response
