"""Components: read the catalogue and move a component's status."""

from __future__ import annotations

from flask import jsonify

from ...services import catalogue
from ...services import incidents as incident_service
from ...services.permissions import RESPONDERS
from ..access import STAFF, acting_user, allow
from . import blueprint
from . import parsing as p
from .serializers import component_json


@blueprint.get("/components")
@allow(STAFF)
def list_components():
    return jsonify([component_json(c) for c in catalogue.components()])


@blueprint.patch("/components/<id>")
@allow(RESPONDERS)
def update_component(id: str):
    component = incident_service.get_component(p.public_id(id))
    body = p.json_body({"status"})
    incident_service.set_component_status(acting_user(), component, p.text(body, "status"))
    return jsonify(component_json(component))
