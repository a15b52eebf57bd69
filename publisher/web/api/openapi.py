"""The OpenAPI 3.1 description of /api/v1, written by hand and served at /api/v1/openapi.json.

tests/api/test_openapi.py checks it is valid and lists exactly the routes the app has.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import jsonify

from ...models import (
    Audience,
    ComponentStatus,
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
from ..access import public
from . import blueprint

JSON = "application/json"
ERRORS = {
    "400": ("BadRequest", "The body is not a JSON object."),
    "401": ("Unauthorized", "No valid API token was sent."),
    "403": ("Forbidden", "The token's account may not do this."),
    "404": ("NotFound", "Nothing has that id."),
    "409": ("Conflict", "The change conflicts with the current state."),
    "413": ("TooLarge", "The body is over a megabyte."),
    "422": ("Unprocessable", "A field is missing or not valid; `field` names it."),
}
READ, WRITE = "401 403", "400 401 403 413 422"  # error codes every read / write may answer


@blueprint.get("/openapi.json")
@public
def openapi_document():
    return jsonify(document())


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald automation API",
            "version": "1.0.0",
            "description": "Run incidents, components and maintenance from scripts and bots. "
            "Send `Authorization: Bearer <token>`; a token acts as the account that made it.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": parameters(),
            "responses": error_responses(),
            "schemas": schemas() | request_schemas() | message_schemas() | message_requests(),
        },
    }


# ---------------------------------------------------------------- paths


class Op(NamedTuple):
    path: str
    method: str
    op_id: str
    summary: str
    answer: str  # "200 Incident", "200 Incident[]" (a list), "201 Incident" or "204"
    errors: str
    body: str | None = None


MESSAGE, TEMPLATE = "/messages/{message_id}", "/templates/{template_id}"
# One operation a line or two, so the table reads like the URL map. fmt: off keeps it so.
# fmt: off
OPERATIONS = (
    Op("/incidents", "get", "listIncidents", "Incidents, newest first (not maintenance).",
       "200 Incident[]", READ + " 422"),
    Op("/incidents", "post", "declareIncident", "Declare an incident.",
       "201 Incident", WRITE, "DeclareIncident"),
    Op("/incidents/{id}", "get", "getIncident", "One incident or maintenance.",
       "200 Incident", READ + " 404"),
    Op("/incidents/{id}", "patch", "updateIncident", "Change name, status, impact or components.",
       "200 Incident", WRITE + " 404", "UpdateIncident"),
    Op("/incidents/{id}/resolve", "post", "resolveIncident",
       "Resolve; by default components go back to operational.",
       "200 Incident", WRITE + " 404 409", "ResolveIncident"),
    Op("/incidents/{id}/roster", "get", "getRoster", "Every standard role and who holds it.",
       "200 RosterLine[]", READ + " 404"),
    Op("/incidents/{id}/roster", "post", "assignRole", "Give a role to someone.",
       "201 RosterAssignment", WRITE + " 404 409", "AssignRole"),
    Op("/incidents/{id}/roster/{assignment_id}", "delete", "unassignRole",
       "Take a role away; the incident manager holds it again.", "204", READ + " 404 409"),
    Op("/incidents/{id}/timeline", "get", "getTimeline", "Everything that happened, oldest first.",
       "200 TimelineItem[]", READ + " 404"),
    Op("/incidents/{id}/timeline", "post", "addTimelineEntry",
       "Record a note, key decision, theory or action.",
       "201 TimelineItem", WRITE + " 404", "NewTimelineEntry"),
    Op("/components", "get", "listComponents", "Every component, in page order.",
       "200 Component[]", READ),
    Op("/components/{id}", "patch", "updateComponent", "Set a component's status.",
       "200 Component", WRITE + " 404", "UpdateComponent"),
    Op("/maintenance", "get", "listMaintenance", "Maintenance not yet completed, soonest first.",
       "200 Maintenance[]", READ),
    Op("/maintenance", "post", "scheduleMaintenance", "Announce a maintenance window.",
       "201 Maintenance", WRITE, "ScheduleMaintenance"),
    Op("/maintenance/{id}", "patch", "updateMaintenance", "Start, verify or complete by hand.",
       "200 Maintenance", WRITE + " 404", "UpdateMaintenance"),
    Op("/incidents/{id}/messages", "get", "listMessages", "The incident's updates, newest first.",
       "200 Message[]", READ + " 404"),
    Op("/incidents/{id}/messages", "post", "createMessage",
       "Draft an update, from a template if given.", "201 Message", WRITE + " 404", "NewMessage"),
    Op(MESSAGE, "get", "getMessage", "One update, with every outlet's text and its trail.",
       "200 Message", READ + " 404"),
    Op(MESSAGE, "patch", "editMessage", "Change an unpublished update; an approval is voided.",
       "200 Message", WRITE + " 404 409", "EditMessage"),
    Op(MESSAGE + "/submit", "post", "submitMessage", "Ask for review.",
       "200 Message", WRITE + " 404 409", "SubmitMessage"),
    Op(MESSAGE + "/approve", "post", "approveMessage",
       "Approve exactly the content whose hash you read; never your own.",
       "200 Message", WRITE + " 404 409", "ApproveMessage"),
    Op(MESSAGE + "/request-changes", "post", "requestChanges", "Send back to the author.",
       "200 Message", WRITE + " 404 409", "RequestChanges"),
    Op(MESSAGE + "/comments", "post", "commentOnMessage", "Add a comment to the review trail.",
       "201 ReviewEntry", WRITE + " 404 409", "NewComment"),
    Op(MESSAGE + "/publish", "post", "publishMessage", "Publish an approved update now.",
       "200 Message", WRITE + " 404 409", "PublishMessage"),
    Op(MESSAGE + "/schedule", "post", "scheduleMessage", "Publish an approved update later.",
       "200 Message", WRITE + " 404 409", "ScheduleMessage"),
    Op(MESSAGE + "/emergency-publish", "post", "emergencyPublish",
       "An incident manager publishes without review; the reason is recorded.",
       "200 Message", WRITE + " 404 409", "EmergencyPublish"),
    Op(MESSAGE + "/revise", "post", "reviseMessage",
       "Start a draft that will replace a published update.", "201 Message", WRITE + " 404 409"),
    Op("/templates", "get", "listTemplates", "Update templates, by name.", "200 Template[]", READ),
    Op("/templates", "post", "createTemplate", "Add a template ({placeholder} substitution).",
       "201 Template", WRITE + " 409", "NewTemplate"),
    Op(TEMPLATE, "patch", "updateTemplate", "Change a template.",
       "200 Template", WRITE + " 404 409", "EditTemplate"),
    Op(TEMPLATE, "delete", "deleteTemplate", "Remove a template.", "204", READ + " 404"),
)
# fmt: on
# Created resources whose Location header points at where to read them.
LOCATED = {"declareIncident", "scheduleMaintenance", "createMessage", "reviseMessage"}
OPTIONAL_BODIES = {"ResolveIncident", "SubmitMessage", "PublishMessage"}
QUERY_PARAMETERS = {"listIncidents": ["State", "Limit"]}
ID_PARAMETERS = {"incidents": "IncidentId", "components": "ComponentId",
                 "maintenance": "MaintenanceId"}  # fmt: skip
OTHER_PATH_PARAMETERS = {"{assignment_id}": "AssignmentId", "{message_id}": "MessageId",
                         "{template_id}": "TemplateId"}  # fmt: skip


def paths() -> dict[str, Any]:
    result: dict[str, Any] = {}
    for op in OPERATIONS:
        parameters = _path_parameters(op.path)
        item = result.setdefault(op.path, {"parameters": parameters} if parameters else {})
        item[op.method] = _operation(op)
    result["/openapi.json"] = {
        "get": {"operationId": "getOpenApi", "summary": "This document.", "security": [],
                "responses": _answer("200 object", located=False)},
    }  # fmt: skip
    return result


def _path_parameters(path: str) -> list[dict]:
    names = []
    if "{id}" in path:
        names.append(ID_PARAMETERS[path.split("/")[1]])
    names += [name for part, name in OTHER_PATH_PARAMETERS.items() if part in path]
    return [_param(name) for name in names]


def _operation(op: Op) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op.op_id,
        "summary": op.summary,
        "responses": _answer(op.answer, op.op_id in LOCATED) | _errors(op.errors),
    }
    if op.body:
        operation["requestBody"] = {
            "required": op.body not in OPTIONAL_BODIES,
            "content": {JSON: {"schema": _ref(op.body)}},
        }
    if op.op_id in QUERY_PARAMETERS:
        operation["parameters"] = [_param(name) for name in QUERY_PARAMETERS[op.op_id]]
    return operation


def _answer(answer: str, located: bool) -> dict[str, Any]:
    code, _sep, name = answer.partition(" ")
    if not name:
        return {code: {"description": "Done; no content."}}
    schema = {"type": "object"} if name == "object" else _ref(name.removesuffix("[]"))
    if name.endswith("[]"):
        schema = {"type": "array", "items": schema}
    response: dict[str, Any] = {"description": "OK", "content": {JSON: {"schema": schema}}}
    if located:
        response["headers"] = {"Location": {"description": "Where to read it.",
                                            "schema": {"type": "string"}}}  # fmt: skip
    return {code: response}


def parameters() -> dict[str, Any]:
    def path(name: str, description: str, schema: dict) -> dict:
        return {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": schema,
        }

    return {
        "IncidentId": path("id", "The incident's public id.", _str()),
        "ComponentId": path("id", "The component's public id.", _str()),
        "MaintenanceId": path("id", "The maintenance's public id.", _str()),
        "AssignmentId": path("assignment_id", "A roster assignment id.", {"type": "integer"}),
        "MessageId": path("message_id", "The update's public id.", _str()),
        "TemplateId": path("template_id", "A template id.", {"type": "integer"}),
        "State": {
            "name": "state",
            "in": "query",
            "required": False,
            "schema": {"enum": ["active", "all"], "default": "active"},
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
        },
    }


def error_responses() -> dict[str, Any]:
    return {
        name: {"description": text, "content": {JSON: {"schema": _ref("Error")}}}
        for name, text in ERRORS.values()
    }


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
                _ref("Incident"),
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
            name=_str(300),
            impact=new_impact,
            components=_list("ComponentChange"),
            incident_manager_email={"type": "string", "format": "email"},
            required=["name", "impact", "components"],
        ),
        "UpdateIncident": _object(
            name=_str(300),
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
            name=_str(300),
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
            body=_str(5000),
            kind={"enum": _values(TimelineKind), "default": "note"},
            at=_time(),
            required=["body"],
        ),
    }


def message_schemas() -> dict[str, Any]:
    statuses = {"enum": _values(IncidentStatus) + _values(MaintenanceStatus)}
    person = {"oneOf": [_ref("Person"), {"type": "null"}]}
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
                "additionalProperties": _ref("Variant"),
            },
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
            required=[],
        ),
        "EditMessage": _object(
            expected_version=version,
            body=_str(20_000),
            incident_status=statuses,
            components=_list("ComponentChange"),
            variants=texts,
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
        "NewTemplate": _object(name=_str(200), incident_status=statuses, body=_str(10_000)),
        "EditTemplate": _object(
            name=_str(200), incident_status=statuses, body=_str(10_000), required=[]
        ),
    }


# ---------------------------------------------------------------- builders


def _errors(codes: str) -> dict:
    names = {code: ERRORS[code][0] for code in sorted(codes.split())}
    return {code: {"$ref": f"#/components/responses/{name}"} for code, name in names.items()}


def _param(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


def _object(*, required: list[str] | None = None, **properties: dict) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _str(max_length: int | None = None) -> dict:
    return {"type": "string"} | ({"maxLength": max_length} if max_length else {})


def _nullable(kind: str) -> dict:
    return {"type": [kind, "null"]}


def _time(nullable: bool = False) -> dict:
    return {"type": ["string", "null"] if nullable else "string", "format": "date-time"}


def _enum(enum) -> dict:
    return {"enum": _values(enum)}


def _values(enum) -> list[str]:
    return [member.value for member in enum]
