"""What each global role may do; roster membership adds rights within one incident."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext as _

from ..models import Incident, Role, RosterRole, User
from .errors import ServiceError


class Forbidden(ServiceError):
    status_code = 403


class Can(StrEnum):
    VIEW_CONSOLE = "view_console"
    MANAGE_INCIDENTS = "manage_incidents"  # declare, change status/impact, resolve
    CHANGE_COMPONENTS = "change_components"  # component status
    MANAGE_MAINTENANCE = "manage_maintenance"
    ASSIGN_ROSTER = "assign_roster"
    WRITE_TIMELINE = "write_timeline"
    ADMINISTER = "administer"  # accounts, component catalogue
    DRAFT = "draft"  # write and edit updates (all of their text)
    EDIT_SOCIAL = "edit_social"  # edit the X, Mastodon and Bluesky variants
    APPROVE = "approve"
    PUBLISH = "publish"  # publish or schedule what someone else approved
    EMERGENCY_PUBLISH = "emergency_publish"  # publish without a second person, with a reason
    MANAGE_TEMPLATES = "manage_templates"
    COMMENT = "comment"  # whoever may write, edit the social texts or approve an update
    WRITE_POSTMORTEM = "write_postmortem"  # start and edit the postmortem, manage its actions
    PUBLISH_POSTMORTEM = "publish_postmortem"  # publish its approved public version
    VIEW_FEEDBACK = "view_feedback"  # customer reports and the responder view
    LOG_FEEDBACK = "log_feedback"  # a support agent's intake
    TRIAGE_FEEDBACK = "triage_feedback"  # link, forward, dismiss reports in the inbox
    SET_FEEDBACK_CADENCE = "set_feedback_cadence"  # digest cadence, public count
    ERASE_FEEDBACK = "erase_feedback"  # remove a report's personal data


STAFF = frozenset(Role)
RESPONDERS = frozenset({Role.ADMIN, Role.INCIDENT_MANAGER, Role.COMMS_MANAGER})
GRANTS: dict[Can, frozenset[Role]] = {
    Can.VIEW_CONSOLE: STAFF,
    Can.MANAGE_INCIDENTS: RESPONDERS,
    Can.CHANGE_COMPONENTS: RESPONDERS,
    Can.MANAGE_MAINTENANCE: RESPONDERS,
    Can.ASSIGN_ROSTER: frozenset({Role.ADMIN, Role.INCIDENT_MANAGER}),
    Can.WRITE_TIMELINE: frozenset(
        {
            Role.ADMIN,
            Role.INCIDENT_MANAGER,
            Role.COMMS_MANAGER,
            Role.SOCIAL_LEAD,
            Role.SUPPORT_AGENT,
        }
    ),
    Can.ADMINISTER: frozenset({Role.ADMIN}),
    Can.DRAFT: RESPONDERS,
    Can.EDIT_SOCIAL: RESPONDERS | {Role.SOCIAL_LEAD},
    Can.APPROVE: frozenset({Role.ADMIN, Role.INCIDENT_MANAGER}),
    Can.PUBLISH: RESPONDERS,
    Can.EMERGENCY_PUBLISH: frozenset({Role.INCIDENT_MANAGER}),
    Can.MANAGE_TEMPLATES: frozenset({Role.ADMIN, Role.COMMS_MANAGER}),
}
GRANTS[Can.COMMENT] = GRANTS[Can.DRAFT] | GRANTS[Can.EDIT_SOCIAL] | GRANTS[Can.APPROVE]
# The problem manager owns the postmortem; globally, those who run incidents may too.
GRANTS[Can.WRITE_POSTMORTEM] = frozenset({Role.ADMIN, Role.INCIDENT_MANAGER})
GRANTS[Can.PUBLISH_POSTMORTEM] = GRANTS[Can.WRITE_POSTMORTEM] | GRANTS[Can.PUBLISH]
# Customer feedback: the outward-facing roles take it in and triage it; everyone reads it.
GRANTS[Can.VIEW_FEEDBACK] = STAFF
GRANTS[Can.LOG_FEEDBACK] = RESPONDERS | {Role.SUPPORT_AGENT, Role.SOCIAL_LEAD}
GRANTS[Can.TRIAGE_FEEDBACK] = GRANTS[Can.LOG_FEEDBACK]
GRANTS[Can.SET_FEEDBACK_CADENCE] = frozenset({Role.ADMIN, Role.INCIDENT_MANAGER})
GRANTS[Can.ERASE_FEEDBACK] = frozenset({Role.ADMIN})
# Within an incident, these roster roles may also do the following.
ROSTER_GRANTS: dict[Can, frozenset[RosterRole]] = {
    Can.ASSIGN_ROSTER: frozenset({RosterRole.INCIDENT_MANAGER}),
    Can.WRITE_TIMELINE: frozenset(RosterRole),
    Can.DRAFT: frozenset(
        {RosterRole.COMMS_MANAGER, RosterRole.COMMS_EXTERNAL, RosterRole.COMMS_INTERNAL}
    ),
    Can.EDIT_SOCIAL: frozenset({RosterRole.SOCIAL_LEAD}),
    Can.APPROVE: frozenset({RosterRole.INCIDENT_MANAGER}),
    Can.PUBLISH: frozenset(
        {RosterRole.COMMS_MANAGER, RosterRole.COMMS_EXTERNAL, RosterRole.COMMS_INTERNAL}
    ),
    Can.EMERGENCY_PUBLISH: frozenset({RosterRole.INCIDENT_MANAGER}),
}
ROSTER_GRANTS[Can.COMMENT] = (
    ROSTER_GRANTS[Can.DRAFT] | ROSTER_GRANTS[Can.EDIT_SOCIAL] | ROSTER_GRANTS[Can.APPROVE]
)
ROSTER_GRANTS[Can.WRITE_POSTMORTEM] = frozenset(
    {RosterRole.PROBLEM_MANAGER, RosterRole.INCIDENT_MANAGER}
)
ROSTER_GRANTS[Can.PUBLISH_POSTMORTEM] = (
    ROSTER_GRANTS[Can.WRITE_POSTMORTEM] | ROSTER_GRANTS[Can.PUBLISH]
)
ROSTER_GRANTS[Can.SET_FEEDBACK_CADENCE] = frozenset({RosterRole.INCIDENT_MANAGER})
# The incident's support lead may erase the personal data of reports linked to it.
ROSTER_GRANTS[Can.ERASE_FEEDBACK] = frozenset({RosterRole.SUPPORT_LEAD})


def allowed(user: User, capability: Can, incident: Incident | None = None) -> bool:
    if not user.is_enabled:
        return False
    if user.role in GRANTS[capability]:
        return True
    if incident is None or capability not in ROSTER_GRANTS:
        return False
    held = {a.role for a in incident.roster if a.user_id == user.id}
    return bool(held & ROSTER_GRANTS[capability])


def require(user: User, capability: Can, incident: Incident | None = None) -> None:
    if not allowed(user, capability, incident):
        raise Forbidden(_("Your role does not allow that."))
