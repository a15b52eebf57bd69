"""Incidents, their roster and timeline, and maintenance, for scripts and bots."""

from __future__ import annotations

from flask import jsonify, url_for

from ...models import Incident, TimelineKind
from ...services import api_queries, maintenance, roster, timeline
from ...services import incidents as incident_service
from ...services.permissions import RESPONDERS, Can, require
from ..access import STAFF, acting_user, allow
from . import blueprint
from . import parsing as p
from .serializers import (
    assignment_json,
    entry_json,
    incident_json,
    maintenance_json,
    roster_line_json,
    timeline_json,
)

LIST_LIMIT = 100
MAX_LIST_LIMIT = 500


def _incident(public_id: str) -> Incident:
    return incident_service.get_incident(p.public_id(public_id))


# ---------------------------------------------------------------- incidents


@blueprint.get("/incidents")
@allow(STAFF)
def list_incidents():
    state = p.query_choice("state", ("active", "all"), "active")
    limit = p.query_int("limit", LIST_LIMIT, 1, MAX_LIST_LIMIT)
    found = api_queries.incidents(active_only=state == "active", limit=limit)
    return jsonify([incident_json(i) for i in found])


@blueprint.post("/incidents")
@allow(RESPONDERS)
def declare_incident():
    body = p.json_body({"name", "impact", "components", "incident_manager_email"})
    incident = incident_service.declare_incident(
        acting_user(),
        p.text(body, "name"),
        p.text(body, "impact"),
        p.component_statuses(body, "components"),
        incident_manager=p.user_by_email(body, "incident_manager_email", required=False),
    )
    location = url_for(".get_incident", id=incident.public_id)
    return p.created(incident_json(incident), location)


@blueprint.get("/incidents/<id>")
@allow(STAFF)
def get_incident(id: str):
    return jsonify(incident_json(_incident(id)))


@blueprint.patch("/incidents/<id>")
@allow(RESPONDERS)
def update_incident(id: str):
    incident = _incident(id)
    body = p.json_body({"name", "status", "impact", "components"})
    incident_service.update_incident(
        acting_user(),
        incident,
        name=p.text(body, "name", required=False),
        status=p.text(body, "status", required=False),
        impact=p.text(body, "impact", required=False),
        component_statuses=p.component_statuses(body, "components", required=False),
    )
    return jsonify(incident_json(incident))


@blueprint.post("/incidents/<id>/resolve")
@allow(RESPONDERS)
def resolve_incident(id: str):
    incident = _incident(id)
    body = p.optional_json_body({"restore_components"})
    restore = p.flag(body, "restore_components", default=True)
    incident_service.resolve_incident(acting_user(), incident, restore_components=restore)
    return jsonify(incident_json(incident))


# ---------------------------------------------------------------- roster


@blueprint.get("/incidents/<id>/roster")
@allow(STAFF)
def incident_roster(id: str):
    return jsonify([roster_line_json(line) for line in roster.roster_lines(_incident(id))])


@blueprint.post("/incidents/<id>/roster")
@allow(STAFF)  # who may assign depends on the incident's roster
def assign_role(id: str):
    incident = _incident(id)
    require(acting_user(), Can.ASSIGN_ROSTER, incident)  # refuse before judging the body
    body = p.json_body({"role", "user_email", "label"})
    assignment = roster.assign(
        acting_user(),
        incident,
        p.text(body, "role"),
        p.user_by_email(body, "user_email"),
        p.text(body, "label", required=False),
    )
    return p.created(assignment_json(assignment))


@blueprint.delete("/incidents/<id>/roster/<int:assignment_id>")
@allow(STAFF)
def unassign_role(id: str, assignment_id: int):
    roster.unassign(acting_user(), _incident(id), assignment_id)
    return "", 204


# ---------------------------------------------------------------- timeline


@blueprint.get("/incidents/<id>/timeline")
@allow(STAFF)
def incident_timeline(id: str):
    return jsonify([timeline_json(item) for item in timeline.timeline(_incident(id))])


@blueprint.post("/incidents/<id>/timeline")
@allow(STAFF)  # who may write depends on the incident's roster
def add_timeline_entry(id: str):
    incident = _incident(id)
    require(acting_user(), Can.WRITE_TIMELINE, incident)  # refuse before judging the body
    body = p.json_body({"body", "kind", "at"})
    entry = timeline.add_entry(
        acting_user(),
        incident,
        p.text(body, "body"),
        p.text(body, "kind", required=False) or TimelineKind.NOTE,
        p.timestamp(body, "at", required=False),
    )
    return p.created(entry_json(entry))


# ---------------------------------------------------------------- maintenance


@blueprint.get("/maintenance")
@allow(STAFF)
def list_maintenance():
    return jsonify([maintenance_json(m) for m in api_queries.open_maintenance()])


@blueprint.post("/maintenance")
@allow(RESPONDERS)
def schedule_maintenance():
    body = p.json_body(
        {"name", "components", "scheduled_for", "scheduled_until", "auto_transition"}
    )
    item = maintenance.schedule_maintenance(
        acting_user(),
        p.text(body, "name"),
        p.component_list(body, "components"),
        p.timestamp(body, "scheduled_for"),
        p.timestamp(body, "scheduled_until"),
        auto_transition=p.flag(body, "auto_transition", default=True),
    )
    return p.created(maintenance_json(item), url_for(".get_incident", id=item.public_id))


@blueprint.patch("/maintenance/<id>")
@allow(RESPONDERS)
def update_maintenance(id: str):
    item = api_queries.get_maintenance(p.public_id(id))
    body = p.json_body({"status"})
    maintenance.set_maintenance_status(acting_user(), item, p.text(body, "status"))
    return jsonify(maintenance_json(item))
