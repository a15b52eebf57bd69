"""The component catalogue: admins create and edit components and their groups."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import Component, ComponentGroup, User
from . import audit
from .errors import InvalidInput, NotFound
from .incidents import clean_name
from .permissions import Can, require

COMPONENT_FIELDS = ("name", "description", "group_id", "position", "only_show_if_degraded")
MAX_DESCRIPTION = 1000


def create_group(actor: User, name: str, description: str | None = None) -> ComponentGroup:
    require(actor, Can.ADMINISTER)
    group = ComponentGroup(
        name=clean_name(name),
        description=_description(description),
        position=_next_position(ComponentGroup),
    )
    db.session.add(group)
    audit.record(actor, "group.created", group, after={"name": group.name})
    db.session.commit()
    return group


def create_component(
    actor: User,
    name: str,
    description: str | None = None,
    group_id: int | None = None,
    only_show_if_degraded: bool = False,
) -> Component:
    require(actor, Can.ADMINISTER)
    component = Component(
        name=clean_name(name),
        description=_description(description),
        group_id=_group_id(group_id),
        position=_next_position(Component),
        only_show_if_degraded=only_show_if_degraded,
    )
    db.session.add(component)
    audit.record(
        actor, "component.created", component, after=audit.fields(component, *COMPONENT_FIELDS)
    )
    db.session.commit()
    return component


def update_component(
    actor: User,
    component: Component,
    *,
    name: str,
    description: str | None,
    group_id: int | None,
    position: int,
    only_show_if_degraded: bool,
) -> Component:
    require(actor, Can.ADMINISTER)
    before = audit.fields(component, *COMPONENT_FIELDS)
    component.name = clean_name(name)
    component.description = _description(description)
    component.group_id = _group_id(group_id)
    component.position = position
    component.only_show_if_degraded = only_show_if_degraded
    audit.record(
        actor,
        "component.edited",
        component,
        before=before,
        after=audit.fields(component, *COMPONENT_FIELDS),
    )
    db.session.commit()
    return component


def groups() -> list[ComponentGroup]:
    return list(db.session.scalars(select(ComponentGroup).order_by(ComponentGroup.position)))


def components() -> list[Component]:
    return list(db.session.scalars(select(Component).order_by(Component.position, Component.id)))


def _group_id(group_id: int | None) -> int | None:
    if group_id is None:
        return None
    if db.session.get(ComponentGroup, group_id) is None:
        raise NotFound(_("There is no such group."))
    return group_id


def _description(text: str | None) -> str | None:
    text = (text or "").strip() or None
    if text and len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            _("Keep the description under %(n)d characters.", n=MAX_DESCRIPTION),
            field="description",
        )
    return text


def _next_position(model) -> int:
    return (db.session.scalar(select(func.max(model.position))) or 0) + 1
