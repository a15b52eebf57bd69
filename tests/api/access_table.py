"""Who may use each /api/v1 route, for tests/web/test_access_matrix.py's walk of roles and routes.

The matrix's world makes the responder the scribe of its incident, and the roster
grants every holder the right to write the timeline: hence STAFF there.
"""

from publisher.models import Role

A, IM, CM, SL, SA, R = (Role.ADMIN, Role.INCIDENT_MANAGER, Role.COMMS_MANAGER,
                        Role.SOCIAL_LEAD, Role.SUPPORT_AGENT, Role.RESPONDER)  # fmt: skip
STAFF = {A, IM, CM, SL, SA, R}
RESPONDERS = {A, IM, CM}

API_EXPECTED: dict[str, set | str] = {
    "api_v1.openapi_document": "anyone",
    "api_v1.list_incidents": STAFF,
    "api_v1.get_incident": STAFF,
    "api_v1.incident_roster": STAFF,
    "api_v1.incident_timeline": STAFF,
    "api_v1.list_components": STAFF,
    "api_v1.list_maintenance": STAFF,
    "api_v1.declare_incident": RESPONDERS,
    "api_v1.update_incident": RESPONDERS,
    "api_v1.resolve_incident": RESPONDERS,
    "api_v1.update_component": RESPONDERS,
    "api_v1.schedule_maintenance": RESPONDERS,
    "api_v1.update_maintenance": RESPONDERS,
    "api_v1.assign_role": {A, IM},
    "api_v1.unassign_role": {A, IM},
    "api_v1.add_timeline_entry": STAFF,
}
