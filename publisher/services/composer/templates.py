"""Update templates, managed by admins and comms managers."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import IncidentStatus, MaintenanceStatus, MessageTemplate, User
from .. import audit
from ..errors import Conflict, InvalidInput, NotFound
from ..permissions import Can, require

STATUSES = {s.value for s in IncidentStatus} | {s.value for s in MaintenanceStatus}
MAX_TEMPLATE = 10_000


def all_templates() -> list[MessageTemplate]:
    return list(db.session.scalars(select(MessageTemplate).order_by(MessageTemplate.name)))


def get_template(template_id: int) -> MessageTemplate:
    template = db.session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound(_("There is no such template."))
    return template


def save_template(
    actor: User, name: str, incident_status: str, body: str, template: MessageTemplate | None = None
) -> MessageTemplate:
    """Create or change a template; its text is stored as written, never evaluated."""
    require(actor, Can.MANAGE_TEMPLATES)
    name, body = " ".join((name or "").split()), (body or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(_("Give a name of 1 to 200 characters."), field="name")
    if not body or len(body) > MAX_TEMPLATE:
        raise InvalidInput(_("Write 1 to %(n)d characters.", n=MAX_TEMPLATE), field="body")
    if incident_status not in STATUSES:
        raise InvalidInput(_("Choose a status."), field="incident_status")
    if _name_taken(name, template):
        raise Conflict(_("A template with that name exists."), field="name")
    template = template or MessageTemplate()
    template.name, template.incident_status, template.body = name, incident_status, body
    db.session.add(template)
    audit.record(actor, "template.saved", template, after={"name": name})
    db.session.commit()
    return template


def delete_template(actor: User, template: MessageTemplate) -> None:
    require(actor, Can.MANAGE_TEMPLATES)
    audit.record(actor, "template.deleted", template, before={"name": template.name})
    db.session.delete(template)
    db.session.commit()


def _name_taken(name: str, template: MessageTemplate | None) -> bool:
    found = db.session.scalar(select(MessageTemplate).where(MessageTemplate.name == name))
    return found is not None and found is not template
