"""The OpenAPI 3.1 description of /api/v1, written by hand and served at /api/v1/openapi.json.

Operations, parameters and error responses are here; the schemas are in openapi_schemas.py,
the links between operations in openapi_links.py.
tests/api/test_openapi.py checks it is valid and lists exactly the routes the app has.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import jsonify

from ..access import public
from . import blueprint
from . import openapi_postmortems as postmortem_docs
from .openapi_links import links
from .openapi_schemas import JSON, component_schemas, param, ref

ERRORS = {
    "400": ("BadRequest", "The body is not a JSON object."),
    "401": ("Unauthorized", "No valid API token was sent."),
    "403": ("Forbidden", "The token's account may not do this."),
    "404": ("NotFound", "Nothing has that id."),
    "409": ("Conflict", "The change conflicts with the current state."),
    "413": ("TooLarge", "The body is over a megabyte."),
    "422": ("Unprocessable", "A field is missing or not valid; `field` names it."),
}
STRING = {"type": "string"}
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
            "schemas": _closed_bodies(component_schemas() | postmortem_docs.schemas()),
        },
    }


def _closed_bodies(schemas: dict[str, Any]) -> dict[str, Any]:
    """A request body with a field the API does not know is answered 422: the document says so."""
    for name in {op.body for op in OPERATIONS if op.body}:
        schemas[name] = schemas[name] | {"additionalProperties": False}
    return schemas


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
CHANNEL, DELIVERY = "/channels/{channel_id}", "/deliveries/{delivery_id}"
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
    Op("/channels", "get", "listChannels", "Configured outlets; secrets by name only (admins).",
       "200 Channel[]", READ),
    Op("/channels", "post", "createChannel", "Configure an outlet (admins).",
       "201 Channel", WRITE, "NewChannel"),
    Op(CHANNEL, "get", "getChannel", "One outlet (admins).", "200 Channel", READ + " 404"),
    Op(CHANNEL, "patch", "updateChannel",
       "Change an outlet; a secret left out or sent as \"\" keeps its stored value (admins).",
       "200 Channel", WRITE + " 404", "EditChannel"),
    Op("/channel-kinds", "get", "listChannelKinds",
       "Each kind of outlet and the settings it takes (admins).", "200 ChannelKind[]", READ),
    Op(MESSAGE + "/deliveries", "get", "getDeliveryProgress",
       "Per outlet: how far sending a published update has got.",
       "200 DeliveryProgress[]", READ + " 404"),
    Op("/deliveries", "get", "listDeliveries",
       "Dead and unknown deliveries, newest first, for a person to retry or settle.",
       "200 Delivery[]", READ + " 422"),
    Op(DELIVERY + "/retry", "post", "retryDelivery",
       "Send a dead or unknown delivery again (same idempotency key).",
       "200 Delivery", WRITE + " 404 409"),
    Op(DELIVERY + "/settle", "post", "settleDelivery",
       "Record what a person found at the outlet: the post went out, or it did not.",
       "200 Delivery", WRITE + " 404 409", "SettleDelivery"),
)
# fmt: on
OPERATIONS += tuple(Op(*row) for row in postmortem_docs.OPERATIONS)
# Created resources whose Location header points at where to read them.
LOCATED = {
    "declareIncident",
    "scheduleMaintenance",
    "createMessage",
    "reviseMessage",
    "createChannel",
}  # fmt: skip
OPTIONAL_BODIES = {"ResolveIncident", "SubmitMessage", "PublishMessage"}
LOCATED |= postmortem_docs.LOCATED
OPTIONAL_BODIES |= postmortem_docs.OPTIONAL_BODIES
QUERY_PARAMETERS = {"listIncidents": ["State", "Limit"],
                    "listDeliveries": ["DeliveryFilter", "Limit"]}  # fmt: skip
ID_PARAMETERS = {"incidents": "IncidentId", "components": "ComponentId",
                 "maintenance": "MaintenanceId"}  # fmt: skip
OTHER_PATH_PARAMETERS = {"{assignment_id}": "AssignmentId", "{message_id}": "MessageId",
                         "{template_id}": "TemplateId", "{channel_id}": "ChannelId",
                         "{delivery_id}": "DeliveryId"}  # fmt: skip
QUERY_PARAMETERS |= postmortem_docs.QUERY_PARAMETERS
OTHER_PATH_PARAMETERS |= postmortem_docs.PATH_PARAMETERS


def paths() -> dict[str, Any]:
    result: dict[str, Any] = {}
    for op in OPERATIONS:
        shared = _path_parameters(op.path)
        item = result.setdefault(op.path, {"parameters": shared} if shared else {})
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
    return [param(name) for name in names]


def _operation(op: Op) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op.op_id,
        "summary": op.summary,
        "responses": _answer(op.answer, op.op_id in LOCATED, links(op.op_id)) | _errors(op.errors),
    }
    if op.body:
        operation["requestBody"] = {
            "required": op.body not in OPTIONAL_BODIES,
            "content": {JSON: {"schema": ref(op.body)}},
        }
    if op.op_id in QUERY_PARAMETERS:
        operation["parameters"] = [param(name) for name in QUERY_PARAMETERS[op.op_id]]
    return operation


def _answer(answer: str, located: bool, linked: dict | None = None) -> dict[str, Any]:
    code, _sep, name = answer.partition(" ")
    if not name:
        return {code: {"description": "Done; no content."}}
    schema = {"type": "object"} if name == "object" else ref(name.removesuffix("[]"))
    if name.endswith("[]"):
        schema = {"type": "array", "items": schema}
    response: dict[str, Any] = {"description": "OK", "content": {JSON: {"schema": schema}}}
    if located:
        response["headers"] = {"Location": {"description": "Where to read it.",
                                            "schema": {"type": "string"}}}  # fmt: skip
    if linked:
        response["links"] = linked
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
        "IncidentId": path("id", "The incident's public id.", STRING),
        "ComponentId": path("id", "The component's public id.", STRING),
        "MaintenanceId": path("id", "The maintenance's public id.", STRING),
        "AssignmentId": path("assignment_id", "A roster assignment id.", {"type": "integer"}),
        "MessageId": path("message_id", "The update's public id.", STRING),
        "TemplateId": path("template_id", "A template id.", {"type": "integer"}),
        "ChannelId": path("channel_id", "An outlet's id.", {"type": "integer"}),
        "DeliveryId": path("delivery_id", "A delivery's id.", {"type": "integer"}),
        "State": {
            "name": "state",
            "in": "query",
            "required": False,
            "schema": {"enum": ["active", "all"], "default": "active"},
        },
        "DeliveryFilter": {
            "name": "state",
            "in": "query",
            "required": True,
            "schema": {"enum": ["stuck"]},
            "description": "stuck: dead and unknown deliveries.",
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
        },
    } | postmortem_docs.parameters()


def error_responses() -> dict[str, Any]:
    return {
        name: {"description": text, "content": {JSON: {"schema": ref("Error")}}}
        for name, text in ERRORS.values()
    }


def _errors(codes: str) -> dict:
    names = {code: ERRORS[code][0] for code in sorted(codes.split())}
    return {code: {"$ref": f"#/components/responses/{name}"} for code, name in names.items()}
