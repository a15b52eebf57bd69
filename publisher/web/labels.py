"""What people read for values stored in English: account roles, timeline kinds (feedback
sources and regions: services/feedback/labels.py, shown through the filters set here).

The stored value never changes with the language; only its label does.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from ..models import Role
from ..services.feedback.labels import region_label, source_label

ACCOUNT_ROLE_LABELS = {
    Role.ADMIN: _l("admin"),
    Role.INCIDENT_MANAGER: _l("incident manager"),
    Role.COMMS_MANAGER: _l("comms manager"),
    Role.SOCIAL_LEAD: _l("social media lead"),
    Role.SUPPORT_AGENT: _l("support agent"),
    Role.RESPONDER: _l("responder"),
}
TIMELINE_KIND_LABELS = {
    "note": _l("Note"),
    "key_decision": _l("Key decision"),
    "theory": _l("Theory"),
    "action": _l("Action"),
}


def init_app(app: Flask) -> None:
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.filters["timeline_kind"] = timeline_kind
    app.jinja_env.filters["region_label"] = region_label
    app.jinja_env.filters["source_label"] = source_label


def role_label(role: str) -> str:
    label = ACCOUNT_ROLE_LABELS.get(role)
    return str(label) if label is not None else str(role).replace("_", " ")


def timeline_kind(kind: str) -> str:
    label = TIMELINE_KIND_LABELS.get(kind)
    return str(label) if label is not None else str(kind).replace("_", " ")
