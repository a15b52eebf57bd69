"""The OpenAPI 3.1 description of /api/v1, written by hand and served at /api/v1/openapi.json.

tests/api/test_openapi.py checks it is valid and lists exactly the routes the app has.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import jsonify

from ...models import (
    ComponentStatus,
    Impact,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
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
            "schemas": schemas() | request_schemas(),
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
)
# fmt: on
# Created resources whose Location header points at GET /incidents/{id}.
LOCATED = {"declareIncident", "scheduleMaintenance"}
OPTIONAL_BODIES = {"ResolveIncident"}
QUERY_PARAMETERS = {"listIncidents": ["State", "Limit"]}
ID_PARAMETERS = {"incidents": "IncidentId", "components": "ComponentId",
                 "maintenance": "MaintenanceId"}  # fmt: skip


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
    if "{assignment_id}" in path:
        names.append("AssignmentId")
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
