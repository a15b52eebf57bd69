"""The composer for scripts: draft, edit, review, approve and publish updates; templates."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, url_for

from ...models import Audience, Message, Outlet
from ...services import composer
from ...services import incidents as incident_service
from ...services.composer import templates
from ...services.composer.drafting import translation_locales
from ...services.errors import InvalidInput, NotFound
from ...services.permissions import GRANTS, Can, allowed, require
from ..access import STAFF, acting_user, allow
from . import blueprint
from . import parsing as p
from .serializers import message_json, review_json, template_json

MAX_NEXT_UPDATE_MINUTES = 7 * 24 * 60
OUTLETS = [o.value for o in Outlet]
TEMPLATE_MANAGERS = GRANTS[Can.MANAGE_TEMPLATES]


def _message(public_id: str, capability: Can | None = None) -> Message:
    """The message, after checking the caller may do `capability` in its incident."""
    message = composer.get_message(p.public_id(public_id))
    if capability is not None:
        require(acting_user(), capability, message.incident)  # refuse before judging the body
    return message


def _unless_none(value, default):
    return default if value is None else value


def _version(body: dict) -> int | None:
    return p.integer(body, "expected_version", required=False)


# ---------------------------------------------------------------- drafting


@blueprint.get("/incidents/<id>/messages")
@allow(STAFF)
def incident_messages(id: str):
    incident = incident_service.get_incident(p.public_id(id))
    newest_first = sorted(incident.messages, key=lambda m: m.id, reverse=True)
    return jsonify([message_json(m) for m in newest_first])


@blueprint.post("/incidents/<id>/messages")
@allow(STAFF)  # who may draft depends on the incident's roster
def create_message(id: str):
    incident = incident_service.get_incident(p.public_id(id))
    require(acting_user(), Can.DRAFT, incident)
    body = p.json_body(
        {"incident_status", "body", "audience", "components", "template_id", "translations"}
    )
    template = _template_field(body)
    status = p.text(body, "incident_status", required=template is None)
    message = _create_draft(incident, body, template, status)
    return p.created(message_json(message), url_for(".get_message", message_id=message.public_id))


def _create_draft(incident, body: dict, template, status: str | None) -> Message:
    try:
        return composer.create_draft(
            acting_user(),
            incident,
            incident_status=template.incident_status if status is None else status,
            body=p.text(body, "body", required=False) or "",
            audience=p.text(body, "audience", required=False) or Audience.PUBLIC,
            component_statuses=p.component_statuses(body, "components", required=False),
            template=template,
            translations=_translations(body),
        )
    except InvalidInput as error:
        raise _in_api_terms(error) from None


def _template_field(body: dict):
    template_id = p.integer(body, "template_id", required=False)
    if template_id is None:
        return None
    try:
        return templates.get_template(template_id)
    except NotFound as error:
        raise InvalidInput(error.message, field="template_id") from None


@blueprint.get("/messages/<message_id>")
@allow(STAFF)
def get_message(message_id: str):
    return jsonify(message_json(_message(message_id)))


@blueprint.patch("/messages/<message_id>")
@allow(STAFF)  # drafters edit everything, social leads the social variants
def edit_message(message_id: str):
    message = _message(message_id)
    if not allowed(acting_user(), Can.DRAFT, message.incident):
        require(acting_user(), Can.EDIT_SOCIAL, message.incident)
    body = p.json_body(
        {"expected_version", "body", "incident_status", "components", "variants", "translations"}
    )
    try:
        composer.edit_message(
            acting_user(),
            message,
            expected_version=_version(body),
            body=p.text(body, "body", required=False),
            incident_status=p.text(body, "incident_status", required=False),
            component_statuses=p.component_statuses(body, "components", required=False),
            variant_texts=p.texts_by_key(body, "variants", OUTLETS),
            translations=_translations(body),
        )
    except InvalidInput as error:
        raise _in_api_terms(error) from None
    return jsonify(message_json(message))


def _translations(body: dict) -> dict[str, str] | None:
    """{"pl": "text"}: the update in each other configured language ("" removes one)."""
    return p.texts_by_key(body, "translations", translation_locales())


def _in_api_terms(error: InvalidInput) -> InvalidInput:
    """Name a field as the request did (variants.x, translations.pl), not as the console
    form does."""
    for prefix, plural in (("variant_", "variants."), ("translation_", "translations.")):
        if error.field and error.field.startswith(prefix):
            error.field = plural + error.field.removeprefix(prefix)
    return error


@blueprint.post("/messages/<message_id>/revise")
@allow(STAFF)
def revise_message(message_id: str):
    draft = composer.start_revision(acting_user(), _message(message_id, Can.DRAFT))
    return p.created(message_json(draft), url_for(".get_message", message_id=draft.public_id))


# ---------------------------------------------------------------- review


@blueprint.post("/messages/<message_id>/submit")
@allow(STAFF)
def submit_message(message_id: str):
    message = _message(message_id, Can.DRAFT)
    body = p.optional_json_body({"expected_version", "comment"})
    composer.submit(
        acting_user(),
        message,
        expected_version=_version(body),
        comment=p.text(body, "comment", required=False),
    )
    return jsonify(message_json(message))


@blueprint.post("/messages/<message_id>/approve")
@allow(STAFF)
def approve_message(message_id: str):
    message = _message(message_id, Can.APPROVE)
    body = p.json_body({"expected_hash", "comment"})
    composer.approve(
        acting_user(),
        message,
        expected_hash=p.text(body, "expected_hash"),
        comment=p.text(body, "comment", required=False),
    )
    return jsonify(message_json(message))


@blueprint.post("/messages/<message_id>/request-changes")
@allow(STAFF)
def request_changes(message_id: str):
    message = _message(message_id, Can.APPROVE)
    body = p.json_body({"comment", "expected_version"})
    composer.request_changes(
        acting_user(), message, comment=p.text(body, "comment"), expected_version=_version(body)
    )
    return jsonify(message_json(message))


@blueprint.post("/messages/<message_id>/comments")
@allow(STAFF)
def comment_on_message(message_id: str):
    message = _message(message_id, Can.COMMENT)
    body = p.json_body({"comment"})
    composer.add_comment(acting_user(), message, p.text(body, "comment"))
    return p.created(review_json(message.review_events[-1]))


# ---------------------------------------------------------------- publishing


@blueprint.post("/messages/<message_id>/publish")
@allow(STAFF)
def publish_message(message_id: str):
    message = _message(message_id, Can.PUBLISH)
    body = p.optional_json_body({"expected_version", "next_update_in_minutes"})
    minutes = p.integer(body, "next_update_in_minutes", 1, MAX_NEXT_UPDATE_MINUTES, required=False)
    composer.publish(
        acting_user(),
        message,
        expected_version=_version(body),
        next_update_in=timedelta(minutes=minutes) if minutes else None,
    )
    return jsonify(message_json(message))


@blueprint.post("/messages/<message_id>/schedule")
@allow(STAFF)
def schedule_message(message_id: str):
    message = _message(message_id, Can.PUBLISH)
    body = p.json_body({"publish_at", "expected_version"})
    publish_at = p.timestamp(body, "publish_at")
    composer.schedule(acting_user(), message, publish_at, expected_version=_version(body))
    return jsonify(message_json(message))


@blueprint.post("/messages/<message_id>/emergency-publish")
@allow(STAFF)
def emergency_publish(message_id: str):
    message = _message(message_id, Can.EMERGENCY_PUBLISH)
    body = p.json_body({"reason", "expected_version"})
    composer.emergency_publish(
        acting_user(), message, reason=p.text(body, "reason"), expected_version=_version(body)
    )
    return jsonify(message_json(message))


# ---------------------------------------------------------------- templates


@blueprint.get("/templates")
@allow(STAFF)
def list_templates():
    return jsonify([template_json(t) for t in templates.all_templates()])


@blueprint.post("/templates")
@allow(TEMPLATE_MANAGERS)
def create_template():
    body = p.json_body({"name", "incident_status", "body"})
    template = templates.save_template(
        acting_user(), p.text(body, "name"), p.text(body, "incident_status"), p.text(body, "body")
    )
    return p.created(template_json(template))


@blueprint.patch("/templates/<int:template_id>")
@allow(TEMPLATE_MANAGERS)
def update_template(template_id: int):
    template = templates.get_template(p.row_id(template_id))
    body = p.json_body({"name", "incident_status", "body"})
    fields = [
        _unless_none(p.text(body, name, required=False), getattr(template, name))
        for name in ("name", "incident_status", "body")
    ]
    templates.save_template(acting_user(), *fields, template)
    return jsonify(template_json(template))


@blueprint.delete("/templates/<int:template_id>")
@allow(TEMPLATE_MANAGERS)
def delete_template(template_id: int):
    templates.delete_template(acting_user(), templates.get_template(p.row_id(template_id)))
    return "", 204
