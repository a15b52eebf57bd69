"""The component schemas of the OpenAPI document: the resources and the request bodies.

openapi.py lists the operations, parameters and error responses, and assembles the document.
"""

from __future__ import annotations

from typing import Any

from ...config import SUPPORTED_LOCALES
from ...models import (
    Audience,
    ChannelKind,
    ComponentStatus,
    DeliveryState,
    Impact,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
    MessageState,
    Outlet,
    ReviewAction,
    RosterRole,
    TimelineKind,
)

JSON = "application/json"


def component_schemas() -> dict[str, Any]:
    """Every schema under #/components/schemas."""
    return (
        schemas()
        | request_schemas()
        | message_schemas()
        | message_requests()
        | channel_schemas()
        | channel_requests()
    )


# ---------------------------------------------------------------- schemas


def schemas() -> dict[str, Any]:
    return {
        "Error": _object(
            error=_str(), status={"type": "integer"}, field=_str(), required=["error", "status"]
        ),
        "AffectedComponent": _object(id=_str(), name=_str(), status=_enum(ComponentStatus)),
        "Component": _object(
            id=_str(),
            name=_str(),
            status=_enum(ComponentStatus),
            description=_nullable("string"),
            position={"type": "integer"},
            updated_at=_time(),
        ),
        "Incident": _object(
            id=_str(),
            name=_str(),
            kind=_enum(IncidentKind),
            status={"enum": _values(IncidentStatus) + _values(MaintenanceStatus)},
            impact=_enum(Impact),
            started_at=_time(),
            resolved_at=_time(nullable=True),
            components=_list("AffectedComponent"),
            roster=_list("RosterLine"),
            url={"type": "string", "format": "uri"},
        ),
        "Maintenance": {
            "allOf": [
                ref("Incident"),
                _object(
                    scheduled_for=_time(),
                    scheduled_until=_time(),
                    auto_transition={"type": "boolean"},
                ),
            ]
        },
        "RosterAssignment": _object(
            id={"type": "integer"},
            role=_enum(RosterRole),
            label=_nullable("string"),
            user_email=_str(),
            user_name=_str(),
            assigned_at=_time(),
        ),
        "RosterLine": _object(
            role=_enum(RosterRole),
            label=_str(),
            holders=_list("RosterAssignment"),
            held_by_incident_manager={"type": "boolean"},
        ),
        "TimelineItem": _object(
            at=_time(),
            actor=_nullable("string"),
            kind=_str(),
            text=_str(),
            action=_nullable("string"),
            before=_nullable("object"),
            after=_nullable("object"),
        ),
    }


def request_schemas() -> dict[str, Any]:
    new_impact = {"enum": [i.value for i in Impact if i != Impact.MAINTENANCE]}
    return {
        "ComponentChange": _object(id=_str(), status=_enum(ComponentStatus)),
        "DeclareIncident": _object(
            name=_text(300),
            impact=new_impact,
            components=_list("ComponentChange"),
            incident_manager_email={"type": "string", "format": "email"},
            required=["name", "impact", "components"],
        ),
        "UpdateIncident": _object(
            name=_text(300),
            status=_enum(IncidentStatus),
            impact=new_impact,
            components=_list("ComponentChange"),
            required=[],
        ),
        "ResolveIncident": _object(
            restore_components={"type": "boolean", "default": True}, required=[]
        ),
        "UpdateComponent": _object(status=_enum(ComponentStatus)),
        "ScheduleMaintenance": _object(
            name=_text(300),
            components={"type": "array", "items": _str()},
            scheduled_for=_time(),
            scheduled_until=_time(),
            auto_transition={"type": "boolean", "default": True},
            required=["name", "components", "scheduled_for", "scheduled_until"],
        ),
        "UpdateMaintenance": _object(status=_enum(MaintenanceStatus)),
        "AssignRole": _object(
            role=_enum(RosterRole),
            user_email={"type": "string", "format": "email"},
            label=_str(120),
            required=["role", "user_email"],
        ),
        "NewTimelineEntry": _object(
            body=_text(5000),
            kind={"enum": _values(TimelineKind), "default": "note"},
            at=_time(),
            required=["body"],
        ),
    }


_TRANSLATIONS_IN = (
    "The update in other configured languages (Markdown), keyed by language code; "
    "an empty text removes that translation."
)


def _translations(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "propertyNames": {"enum": list(SUPPORTED_LOCALES[1:])},
        "additionalProperties": _str(20_000),
        "description": description,
    }


def message_schemas() -> dict[str, Any]:
    statuses = {"enum": _values(IncidentStatus) + _values(MaintenanceStatus)}
    person = {"oneOf": [ref("Person"), {"type": "null"}]}
    return {
        "Person": _object(email=_str(), name=_str()),
        "Message": _object(
            id=_str(),
            incident_id=_str(),
            audience=_enum(Audience),
            state=_enum(MessageState),
            version={"type": "integer", "description": "Send as expected_version to act safely."},
            incident_status=statuses,
            body={"type": "string", "description": "Markdown."},
            components=_list("AffectedComponent"),
            variants={
                "type": "object",
                "propertyNames": _enum(Outlet),
                "additionalProperties": ref("Variant"),
            },
            translations=_translations(
                "The update in each other configured language; approved with it, shown to "
                "visitors reading that language (the body is the original)."
            ),
            content_hash={"type": "string", "description": "Send as expected_hash to approve."},
            author=person,
            approved_by=person,
            approved_hash=_nullable("string"),
            emergency_reason=_nullable("string"),
            created_at=_time(),
            published_at=_time(nullable=True),
            publish_at=_time(nullable=True),
            revision_of=_nullable("string"),
            edited={"type": "boolean", "description": "A revision of a published update."},
            superseded_at=_time(nullable=True),
            review=_list("ReviewEntry"),
        ),
        "Variant": _object(
            text=_str(),
            edited={"type": "boolean"},
            count={"type": "integer"},
            limit=_nullable("integer"),
            unit=_str(),
            ok={"type": "boolean"},
            problem=_nullable("string"),
        ),
        "ReviewEntry": _object(
            at=_time(),
            action=_enum(ReviewAction),
            actor=person,
            comment=_nullable("string"),
            content_hash=_str(),
        ),
        "Template": _object(
            id={"type": "integer"},
            name=_str(),
            incident_status=statuses,
            body=_str(),
            updated_at=_time(),
        ),
    }


def message_requests() -> dict[str, Any]:
    version = {"type": "integer", "minimum": 1}
    statuses = {"enum": _values(IncidentStatus) + _values(MaintenanceStatus)}
    comment = _str(5000)
    texts = {"type": "object", "propertyNames": _enum(Outlet), "additionalProperties": _str()}
    return {
        "NewMessage": _object(
            incident_status=statuses,
            body=_str(20_000),
            audience={"enum": _values(Audience), "default": "public"},
            components=_list("ComponentChange"),
            template_id={"type": "integer", "description": "Prefill the body from it."},
            translations=_translations(_TRANSLATIONS_IN),
            required=[],
        )
        | {"anyOf": [{"required": ["incident_status"]}, {"required": ["template_id"]}]},
        "EditMessage": _object(
            expected_version=version,
            body=_str(20_000),
            incident_status=statuses,
            components=_list("ComponentChange"),
            variants=texts,
            translations=_translations(
                _TRANSLATIONS_IN + " Languages left out stay as they are; any change returns "
                "the update to draft."
            ),
            required=[],
        ),
        "SubmitMessage": _object(expected_version=version, comment=comment, required=[]),
        "ApproveMessage": _object(
            expected_hash=_str(), comment=comment, required=["expected_hash"]
        ),
        "RequestChanges": _object(comment=comment, expected_version=version, required=["comment"]),
        "NewComment": _object(comment=comment),
        "PublishMessage": _object(
            expected_version=version,
            next_update_in_minutes={"type": "integer", "minimum": 1, "maximum": 10080},
            required=[],
        ),
        "ScheduleMessage": _object(
            publish_at=_time(), expected_version=version, required=["publish_at"]
        ),
        "EmergencyPublish": _object(
            reason=_str(2000), expected_version=version, required=["reason"]
        ),
        "NewTemplate": _object(name=_text(200), incident_status=statuses, body=_text(10_000)),
        "EditTemplate": _object(
            name=_text(200), incident_status=statuses, body=_text(10_000), required=[]
        ),
    }


def channel_schemas() -> dict[str, Any]:
    nullable_text = _nullable("string")
    return {
        "ChannelRef": _object(id={"type": "integer"}, kind=_enum(ChannelKind), name=_str()),
        "Channel": _object(
            id={"type": "integer"},
            kind=_enum(ChannelKind),
            name=_str(),
            enabled={"type": "boolean"},
            audiences={"type": "array", "items": _enum(Audience)},
            statuses={"type": "array", "items": {"enum": _statuses()}},
            settings={"type": "object", "description": "The settings that are not secret."},
            secrets_set={"type": "array", "items": _str(), "description": "Names, never values."},
            secrets_locked={"type": "boolean", "description": "CHANNEL_SECRETS_KEY is wrong."},
            updated_at=_time(),
        ),
        "ChannelKind": _object(kind=_enum(ChannelKind), settings=_list("ChannelSetting")),
        "ChannelSetting": _setting_schema(),
        "DeliveryProgress": _object(
            channel=ref("ChannelRef"),
            counts=_object(**{state.value: {"type": "integer"} for state in DeliveryState}),
            total={"type": "integer", "description": "deliveries meant to go out (not cancelled)"},
            sent={"type": "integer"},
            percent={"type": "integer", "minimum": 0, "maximum": 100},
            last_error=nullable_text,
            external_id=nullable_text,
        ),
        "Delivery": _object(
            id={"type": "integer"},
            message_id=_str(),
            channel=ref("ChannelRef"),
            state=_enum(DeliveryState),
            attempts={"type": "integer"},
            last_error=nullable_text,
            external_id=nullable_text,
            updated_at=_time(),
        ),
    }


def _setting_schema() -> dict[str, Any]:
    """One setting of a kind; "required" is both its property and the schema keyword."""
    schema = _object(
        name=_str(),
        label=_str(),
        secret={"type": "boolean"},
        kind={"enum": ["text", "url", "int", "bool", "list"]},
        default={"description": "Any JSON value, or null."},
        help=_str(),
    )
    schema["properties"]["required"] = {"type": "boolean"}
    schema["required"].append("required")
    return schema


def channel_requests() -> dict[str, Any]:
    fields = {
        "name": _text(200),
        "enabled": {"type": "boolean", "default": True},
        "audiences": {"type": "array", "items": _enum(Audience), "default": ["public"]},
        "statuses": {"type": "array", "items": {"enum": _statuses()},
                     "description": "Empty: every status."},
        "settings": {"type": "object", "description": "By the kind's setting names."},
        "secrets": {"type": "object", "additionalProperties": _str(),
                    "description": "Left out or \"\": keep the stored value."},
    }  # fmt: skip
    return {
        "NewChannel": _object(kind=_enum(ChannelKind), **fields, required=["kind", "name"]),
        "EditChannel": _object(**fields, required=[]),
        "SettleDelivery": _object(
            went_out={"type": "boolean"}, note=_str(500), required=["went_out", "note"]
        ),
    }


# ---------------------------------------------------------------- builders


def param(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict:
    return {"type": "array", "items": ref(name)}


def _object(*, required: list[str] | None = None, **properties: dict) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _str(max_length: int | None = None) -> dict:
    return {"type": "string"} | ({"maxLength": max_length} if max_length else {})


def _text(max_length: int) -> dict:
    """Text a request must not leave empty (blank text is refused too)."""
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def _nullable(kind: str) -> dict:
    return {"type": [kind, "null"]}


def _time(nullable: bool = False) -> dict:
    return {"type": ["string", "null"] if nullable else "string", "format": "date-time"}


def _enum(enum) -> dict:
    return {"enum": _values(enum)}


def _statuses() -> list[str]:
    return _values(IncidentStatus) + _values(MaintenanceStatus)


def _values(enum) -> list[str]:
    return [member.value for member in enum]
