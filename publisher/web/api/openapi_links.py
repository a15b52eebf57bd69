"""The OpenAPI links of /api/v1: which answer gives the ids (and version) the next call needs.

A client, or schemathesis's stateful run (tests/security/test_api_schemathesis.py), follows
them: declare an incident, then draft an update in it, submit it, publish it, revise it.
openapi.py puts each source operation's links on its success answer.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Hop(NamedTuple):
    """From an answer to these operations, with these target parameters."""

    targets: tuple[str, ...]
    parameters: dict[str, str]  # target parameter -> JSON pointer into the answer, or $expression
    item: str = ""  # "/0": the answer is a list, and its first item is followed


ON_INCIDENT = ("getIncident", "updateIncident", "resolveIncident", "getRoster", "assignRole",
               "getTimeline", "addTimelineEntry", "listMessages", "createMessage",
               "getPostmortem", "startPostmortem")  # fmt: skip
ON_MESSAGE = ("getMessage", "editMessage", "submitMessage", "approveMessage", "requestChanges",
              "commentOnMessage", "publishMessage", "scheduleMessage", "emergencyPublish",
              "reviseMessage", "getDeliveryProgress")  # fmt: skip
ON_POSTMORTEM = ("getPostmortem", "editPostmortem", "submitPostmortem", "approvePostmortem",
                 "requestPostmortemChanges", "publishPostmortem", "listPostmortemActions",
                 "addAction")  # fmt: skip
ON_ACTION = ("editAction", "setActionStatus")
ID, ITS_INCIDENT = {"path.id": "/id"}, {"path.id": "/incident_id"}
MESSAGE, TEMPLATE = {"path.message_id": "/id"}, {"path.template_id": "/id"}
CHANNEL, DELIVERY = {"path.channel_id": "/id"}, {"path.delivery_id": "/id"}
ACTION = {"path.action_id": "/id"}
# Body fields a target takes from the same answer, so the call acts on what was just read
# ("/..." is a pointer into the answer; anything else is sent as it is).
VERSION, HASH = {"expected_version": "/version"}, {"expected_hash": "/content_hash"}
BODIES: dict[str, dict[str, Any]] = {
    "declareIncident": {"components": [{"id": "/id", "status": "partial_outage"}]},
    "scheduleMaintenance": {"components": ["/id"]},
    "editMessage": VERSION, "submitMessage": VERSION, "approveMessage": HASH,
    "requestChanges": VERSION, "publishMessage": VERSION, "scheduleMessage": VERSION,
    "emergencyPublish": VERSION, "editPostmortem": VERSION, "submitPostmortem": VERSION,
    "approvePostmortem": HASH, "requestPostmortemChanges": VERSION,
    "publishPostmortem": VERSION, "unpublishPostmortem": VERSION, "editAction": VERSION,
    "setActionStatus": VERSION,
}  # fmt: skip

# Source operationId -> where its answer leads. fmt: off keeps one source a line or two.
# fmt: off
LINKS: dict[str, tuple[Hop, ...]] = {
    "listIncidents": (Hop(("getIncident", "listMessages", "createMessage", "getTimeline"),
                          ID, "/0"),),
    "declareIncident": (Hop(ON_INCIDENT, ID),
                        Hop(("updateComponent",), {"path.id": "/components/0/id"})),
    "updateIncident": (Hop(("getIncident", "resolveIncident", "createMessage"), ID),),
    "resolveIncident": (Hop(("getIncident", "updateIncident", "startPostmortem", "createMessage"),
                            ID),),
    "assignRole": (Hop(("unassignRole",), {"path.id": "$request.path.id",
                                           "path.assignment_id": "/id"}),),
    "listComponents": (Hop(("updateComponent",), ID, "/0"),
                       Hop(("declareIncident", "scheduleMaintenance"), {}, "/0")),
    "listMaintenance": (Hop(("updateMaintenance",), ID, "/0"),),
    "scheduleMaintenance": (Hop(("updateMaintenance", "getIncident", "getTimeline",
                                 "createMessage", "startPostmortem"), ID),),
    "updateMaintenance": (Hop(("updateMaintenance", "getIncident"), ID),),
    "listMessages": (Hop(("getMessage", "editMessage", "submitMessage", "reviseMessage"),
                         MESSAGE, "/0"),),
    "createMessage": (Hop(ON_MESSAGE, MESSAGE), Hop(("getIncident",), ITS_INCIDENT)),
    "editMessage": (Hop(("getMessage", "editMessage", "submitMessage", "emergencyPublish"),
                        MESSAGE),),
    "submitMessage": (Hop(("approveMessage", "requestChanges", "commentOnMessage", "editMessage"),
                          MESSAGE),),
    "approveMessage": (Hop(("publishMessage", "scheduleMessage", "editMessage"), MESSAGE),),
    "requestChanges": (Hop(("editMessage", "submitMessage"), MESSAGE),),
    "publishMessage": (Hop(("reviseMessage", "getDeliveryProgress", "editMessage"), MESSAGE),),
    "scheduleMessage": (Hop(("getMessage", "publishMessage", "editMessage"), MESSAGE),),
    "emergencyPublish": (Hop(("reviseMessage", "getDeliveryProgress", "getMessage"), MESSAGE),),
    "reviseMessage": (Hop(ON_MESSAGE, MESSAGE),),
    "listTemplates": (Hop(("updateTemplate", "deleteTemplate"), TEMPLATE, "/0"),),
    "createTemplate": (Hop(("updateTemplate", "deleteTemplate"), TEMPLATE),),
    "updateTemplate": (Hop(("deleteTemplate",), TEMPLATE),),
    "listChannels": (Hop(("getChannel", "updateChannel"), CHANNEL, "/0"),),
    "createChannel": (Hop(("getChannel", "updateChannel"), CHANNEL),),
    "updateChannel": (Hop(("getChannel",), CHANNEL),),
    "listDeliveries": (Hop(("retryDelivery", "settleDelivery"), DELIVERY, "/0"),),
    "retryDelivery": (Hop(("settleDelivery",), DELIVERY),),
    "startPostmortem": (Hop(ON_POSTMORTEM, ITS_INCIDENT),),
    "editPostmortem": (Hop(("getPostmortem", "submitPostmortem"), ITS_INCIDENT),),
    "submitPostmortem": (Hop(("approvePostmortem", "requestPostmortemChanges"), ITS_INCIDENT),),
    "approvePostmortem": (Hop(("publishPostmortem",), ITS_INCIDENT),),
    "publishPostmortem": (Hop(("getPostmortem", "unpublishPostmortem"), ITS_INCIDENT),),
    "unpublishPostmortem": (Hop(("getPostmortem", "editPostmortem", "submitPostmortem"),
                                ITS_INCIDENT),),
    "requestPostmortemChanges": (Hop(("editPostmortem",), ITS_INCIDENT),),
    "listPostmortemActions": (Hop(ON_ACTION, ACTION, "/0"),),
    "addAction": (Hop(ON_ACTION, ACTION),),
    "editAction": (Hop(("setActionStatus",), ACTION),),
    "listActions": (Hop(ON_ACTION, ACTION, "/0"),),
}
# fmt: on


def links(source: str) -> dict[str, Any]:
    """The Link Objects of the source operation's success answer, named by target."""
    return {target: _link(target, hop) for hop in LINKS.get(source, ()) for target in hop.targets}


def _link(target: str, hop: Hop) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": target}
    if hop.parameters:
        link["parameters"] = _filled(hop, hop.parameters)
    if target in BODIES:
        link["requestBody"] = _filled(hop, BODIES[target])
    return link


def _filled(hop: Hop, value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _filled(hop, item) for name, item in value.items()}
    if isinstance(value, list):
        return [_filled(hop, item) for item in value]
    return _expression(hop, value) if isinstance(value, str) and value[:1] in "/$" else value


def _expression(hop: Hop, at: str) -> str:
    return at if at.startswith("$") else f"$response.body#{hop.item}{at}"
