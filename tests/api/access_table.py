"""Who may use each /api/v1 route, for tests/web/test_access_matrix.py's walk of roles and routes.

The matrix's world makes the responder the scribe of its incident, and the roster
grants every holder the right to write the timeline: hence STAFF there. Composer
routes gate on the incident (global role or roster role), as services/permissions.py
says; the scribe gets no composer right from the roster.
"""

from ..staff import CM, IM, RESPONDERS, SL, STAFF, A, R

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
    # The composer.
    "api_v1.incident_messages": STAFF,
    "api_v1.get_message": STAFF,
    "api_v1.create_message": RESPONDERS,
    "api_v1.edit_message": RESPONDERS | {SL},  # the social lead edits the social variants
    "api_v1.revise_message": RESPONDERS,
    "api_v1.submit_message": RESPONDERS,
    "api_v1.approve_message": {A, IM},
    "api_v1.request_changes": {A, IM},
    "api_v1.comment_on_message": RESPONDERS | {SL},
    "api_v1.publish_message": RESPONDERS,
    "api_v1.schedule_message": RESPONDERS,
    "api_v1.emergency_publish": {IM},
    "api_v1.list_templates": STAFF,
    "api_v1.create_template": {A, CM},
    "api_v1.update_template": {A, CM},
    "api_v1.delete_template": {A, CM},
    # Outlets: admins configure them; responders (who may publish) unstick deliveries.
    "api_v1.list_channels": {A},
    "api_v1.list_channel_kinds": {A},
    "api_v1.create_channel": {A},
    "api_v1.get_channel": {A},
    "api_v1.update_channel": {A},
    "api_v1.message_deliveries": STAFF,
    "api_v1.list_deliveries": RESPONDERS,
    "api_v1.retry_delivery": RESPONDERS,
    "api_v1.settle_delivery": RESPONDERS,
    # Postmortems (see tests/web/test_access_matrix.py): the world's responder owns the action.
    "api_v1.get_postmortem": STAFF,
    "api_v1.start_postmortem": {A, IM},
    "api_v1.edit_postmortem": {A, IM},
    "api_v1.submit_postmortem": {A, IM},
    "api_v1.approve_postmortem": {A, IM},
    "api_v1.request_postmortem_changes": {A, IM},
    "api_v1.publish_postmortem": RESPONDERS,
    "api_v1.unpublish_postmortem": {A, IM},
    "api_v1.postmortem_actions": STAFF,
    "api_v1.add_action": {A, IM},
    "api_v1.list_actions": STAFF,
    "api_v1.edit_action": {A, IM},
    "api_v1.set_action_status": {A, IM, R},
}
