"""Writing updates: drafts from templates, edits, per-outlet variants, revisions."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from ...config import SUPPORTED_LOCALES
from ...extensions import db
from ...models import (
    SOCIAL_OUTLETS,
    Audience,
    Component,
    ComponentStatus,
    Incident,
    IncidentStatus,
    MaintenanceStatus,
    Message,
    MessageComponentChange,
    MessageState,
    MessageTemplate,
    MessageTranslation,
    Outlet,
    ReviewAction,
    User,
)
from ..errors import InvalidInput
from ..incidents import parse_component_status
from ..outlets import OUTLET_LABELS
from ..permissions import Can, allowed, require
from .common import check_state, check_version, commit_or_conflict, one_winner, record
from .content import fill_template, misfit, refresh_variants, template_values

MAX_BODY = 20_000
EDITABLE = (
    MessageState.DRAFT,
    MessageState.CHANGES_REQUESTED,
    MessageState.IN_REVIEW,
    MessageState.APPROVED,
    MessageState.SCHEDULED,
)


def create_draft(
    actor: User,
    incident: Incident,
    *,
    incident_status: str,
    body: str = "",
    audience: str = Audience.PUBLIC,
    component_statuses: Mapping[Component, str] | None = None,
    template: MessageTemplate | None = None,
    translations: Mapping[str, str] | None = None,
) -> Message:
    """Start an update, prefilled from a template when one is given."""
    require(actor, Can.DRAFT, incident)
    status = parse_status(incident, incident_status)
    if template is not None and not body.strip():
        body = fill_template(template.body, template_values(incident, status))
    message = Message(
        incident=incident,
        audience=parse_audience(audience),
        incident_status=status,
        body=clean_body(body),
        author_id=actor.id,
        last_editor_id=actor.id,
        state=MessageState.DRAFT,
    )
    db.session.add(message)
    set_component_changes(message, component_statuses or {})
    set_translations(message, translations or {})
    refresh_variants(message, incident)
    db.session.flush()
    record(message, actor, ReviewAction.CREATED)
    db.session.commit()
    return message


@one_winner
def edit_message(
    actor: User,
    message: Message,
    *,
    expected_version: int | None = None,
    body: str | None = None,
    incident_status: str | None = None,
    component_statuses: Mapping[Component, str] | None = None,
    variant_texts: Mapping[str, str] | None = None,
    translations: Mapping[str, str] | None = None,
) -> Message:
    """Change an unpublished update; any change voids an approval (back to draft).

    `translations` maps locales to the update's text in them; a locale left out is kept
    as it is, an empty text removes that translation."""
    check_version(message, expected_version)
    check_state(message, EDITABLE, _("edited"))
    variant_texts = {parse_outlet(k): v for k, v in (variant_texts or {}).items()}
    if Outlet.STATUS_PAGE in variant_texts:  # the status page shows the body itself
        body = variant_texts.pop(Outlet.STATUS_PAGE)
    _require_edit_rights(
        actor, message, body, incident_status, component_statuses, variant_texts, translations
    )
    translated = set_translations(message, translations) if translations is not None else False
    _apply_edit(message, body, incident_status, component_statuses, variant_texts)
    if not (translated or db.session.is_modified(message) or _children_changed(message)):
        return message
    _back_to_draft(message, actor)
    record(message, actor, ReviewAction.EDITED)
    commit_or_conflict()
    return message


def start_revision(actor: User, published: Message) -> Message:
    """A new draft that will replace a published update (shown as edited)."""
    require(actor, Can.DRAFT, published.incident)
    check_state(published, (MessageState.PUBLISHED,), _("revised"))
    if published.superseded_at is not None:
        raise InvalidInput(_("A newer revision of this update exists; revise that one."))
    draft = Message(
        incident=published.incident,
        audience=published.audience,
        incident_status=published.incident_status,
        body=published.body,
        author_id=actor.id,
        last_editor_id=actor.id,
        state=MessageState.DRAFT,
        revision_of_id=published.id,
    )
    db.session.add(draft)
    set_component_changes(draft, {c.component: c.new_status for c in published.component_changes})
    set_translations(draft, {t.locale: t.body for t in published.translations})
    refresh_variants(draft, published.incident)
    db.session.flush()
    record(draft, actor, ReviewAction.CREATED, comment=_("Revision of a published update"))
    db.session.commit()
    return draft


def set_component_changes(message: Message, statuses: Mapping[Component, str]) -> None:
    wanted = {c.id: (c, parse_component_status(s)) for c, s in statuses.items()}
    for change in list(message.component_changes):
        if change.component_id not in wanted:
            message.component_changes.remove(change)
    current = {c.component_id: c for c in message.component_changes}
    for component_id, (component, status) in wanted.items():
        change = current.get(component_id)
        if change is None:
            message.component_changes.append(
                MessageComponentChange(component=component, new_status=ComponentStatus(status))
            )
        elif change.new_status != status:
            change.new_status = status


def translation_locales() -> tuple[str, ...]:
    """The languages an update may be translated into: every configured one but the first."""
    return SUPPORTED_LOCALES[1:]


def set_translations(message: Message, texts: Mapping[str, str]) -> bool:
    """Set the given translations (an emptied one is removed, others are left alone);
    whether any changed."""
    existing = {t.locale: t for t in message.translations}
    changed = False
    for locale, raw in texts.items():
        locale = parse_translation_locale(locale)
        text = clean_body(raw, field=f"translation_{locale}")
        current = existing.get(locale)
        if current is not None and not text:
            message.translations.remove(current)
        elif current is None and text:
            message.translations.append(MessageTranslation(locale=locale, body=text))
        elif current is not None and current.body != text:
            current.body = text
        else:
            continue
        changed = True
    return changed


def parse_translation_locale(raw: str) -> str:
    if raw not in translation_locales():
        allowed_ = ", ".join(translation_locales())
        raise InvalidInput(
            _("A translation must be in one of: %(allowed)s.", allowed=allowed_),
            field="translations",
        )
    return raw


def clean_body(body: str, field: str = "body") -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if len(body) > MAX_BODY:
        raise InvalidInput(_("Keep the update under %(n)d characters.", n=MAX_BODY), field=field)
    return body


def parse_status(incident: Incident, raw: str) -> str:
    statuses = MaintenanceStatus if incident.is_maintenance else IncidentStatus
    if raw not in {s.value for s in statuses}:
        allowed_ = ", ".join(s.value for s in statuses)
        raise InvalidInput(
            _("status must be one of: %(allowed)s.", allowed=allowed_), field="incident_status"
        )
    return raw


def parse_audience(raw: str) -> Audience:
    if raw not in {a.value for a in Audience}:
        raise InvalidInput(_("audience must be public or internal."), field="audience")
    return Audience(raw)


def parse_outlet(raw: str) -> Outlet:
    if raw not in {o.value for o in Outlet}:
        raise InvalidInput(_("Unknown outlet %(name)s.", name=raw), field="variants")
    return Outlet(raw)


def _require_edit_rights(
    actor, message, body, status, components, variant_texts, translations=None
) -> None:
    touches_core = any(x is not None for x in (body, status, components, translations))
    social_only = set(variant_texts) <= SOCIAL_OUTLETS
    if touches_core or not social_only:
        require(actor, Can.DRAFT, message.incident)
    elif not allowed(actor, Can.DRAFT, message.incident):
        require(actor, Can.EDIT_SOCIAL, message.incident)


def _apply_edit(message, body, status, components, variant_texts) -> None:
    if body is not None:
        message.body = clean_body(body)
    if status is not None:
        message.incident_status = parse_status(message.incident, status)
    if components is not None:
        set_component_changes(message, components)
    _set_variants(message, variant_texts)
    refresh_variants(message, message.incident)


def _set_variants(message: Message, texts: Mapping[Outlet, str]) -> None:
    """Hand-edited outlet texts; an emptied one goes back to following the body."""
    by_outlet = {v.outlet: v for v in message.variants}
    for outlet, text in texts.items():
        text = (text or "").replace("\r\n", "\n").strip()
        variant = by_outlet[outlet]
        if not text:
            variant.edited = False  # refresh_variants derives it again
            continue
        _refuse_misfit(outlet, text)
        if variant.text != text:
            variant.text, variant.edited = text, True


def _refuse_misfit(outlet: Outlet, text: str) -> None:
    problem = misfit(outlet, text)
    if problem is None:
        return
    label = OUTLET_LABELS[outlet.value]
    if problem.problem:
        message = _(
            "The %(outlet)s text cannot be used: %(problem)s", outlet=label, problem=problem.problem
        )
    else:
        message = _(
            "The %(outlet)s text is %(count)d %(unit)s; the limit is %(limit)d.",
            outlet=label,
            count=problem.count,
            unit=problem.unit,
            limit=problem.limit,
        )
    raise InvalidInput(message, field=f"variant_{outlet.value}")


def _children_changed(message: Message) -> bool:
    return (
        any(db.session.is_modified(v) for v in message.variants)
        or any(c in db.session.new or db.session.is_modified(c) for c in message.component_changes)
        or bool(db.session.deleted)
    )


def _back_to_draft(message: Message, actor: User) -> None:
    message.state = MessageState.DRAFT
    message.approved_hash = message.approved_by_id = message.publish_at = None
    message.last_editor_id = actor.id
