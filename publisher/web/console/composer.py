"""The composer: write an update once, see it per outlet, review, approve, publish."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import timedelta

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...models import Audience, Message, MessageState, ReviewAction, Role, utcnow
from ...services import composer, delivery_status, incidents
from ...services.composer import templates as template_service
from ...services.composer.common import review_state_label
from ...services.composer.drafting import EDITABLE
from ...services.composer.publishing import NEXT_UPDATE_AFTER
from ...services.errors import ServiceError
from ...services.permissions import Can, Forbidden, allowed, require
from ..access import STAFF, acting_user, allow
from . import blueprint
from .composer_forms import (
    ACTION_FORMS,
    PLACEHOLDER_HINT,
    ApproveForm,
    CommentForm,
    EditorForm,
    EmergencyForm,
    PublishForm,
    RequestChangesForm,
    ReviseForm,
    ScheduleForm,
    SubmitForm,
    TemplateForm,
    announced,
    draft_arguments,
    edit_arguments,
    editor_form,
    fill_editor,
    new_message_form,
    outlet_previews,
    posted_editor,
)
from .forms import ConfirmForm
from .helpers import form_failed

RIGHTS = (Can.DRAFT, Can.EDIT_SOCIAL, Can.APPROVE, Can.PUBLISH, Can.EMERGENCY_PUBLISH)
TEMPLATE_MANAGERS = (Role.ADMIN, Role.COMMS_MANAGER)  # as Can.MANAGE_TEMPLATES
REVIEW_LABELS = {
    ReviewAction.CREATED: _l("created the draft"),
    ReviewAction.EDITED: _l("edited"),
    ReviewAction.SUBMITTED: _l("sent it for review"),
    ReviewAction.APPROVED: _l("approved"),
    ReviewAction.CHANGES_REQUESTED: _l("requested changes"),
    ReviewAction.COMMENTED: _l("commented"),
    ReviewAction.SCHEDULED: _l("scheduled it"),
    ReviewAction.PUBLISHED: _l("published it"),
    ReviewAction.EMERGENCY_PUBLISHED: _l("published it without review (emergency)"),
}
AUDIENCE_NAMES = {Audience.PUBLIC: _l("Public"), Audience.INTERNAL: _l("Internal")}


@blueprint.context_processor
def _composer_helpers() -> dict:
    return {
        "may": may,
        "next_update": next_update,
        "state_label": state_label,
        "review_label": lambda action: str(REVIEW_LABELS.get(action, action)),
        "audience_label": lambda value: str(AUDIENCE_NAMES.get(value, value)),
        "overdue_incidents": overdue_incidents,
    }


def may(capability: str, incident=None) -> bool:
    user = g.get("acting_user")
    return user is not None and allowed(user, Can(capability), incident)


def next_update(incident) -> dict | None:
    """When the next public update is due, and whether that time has passed."""
    due = incident.next_update_due_at
    if due is None or not incident.is_active:
        return None
    return {"at": due, "overdue": due < utcnow()}


def overdue_incidents(rows) -> list:
    """The dashboard's active incidents whose promised next update is late."""
    late = [row.incident for row in rows if (next_update(row.incident) or {}).get("overdue")]
    return sorted(late, key=lambda incident: incident.next_update_due_at)


def state_label(state) -> str:
    return review_state_label(state)


# ---------------------------------------------------------------- writing


@blueprint.route("/incidents/<public_id>/messages/new", methods=["GET", "POST"])
@allow(STAFF)
def new_message(public_id: str):
    incident = incidents.get_incident(public_id)
    require(acting_user(), Can.DRAFT, incident)
    templates = template_service.all_templates()
    form = new_message_form(incident, templates)
    if form.validate_on_submit():
        chosen = next((t for t in templates if t.id == form.template.data), None)
        try:
            arguments = draft_arguments(form, incident, chosen)
            message = composer.create_draft(acting_user(), incident, **arguments)
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Draft created. Check each outlet, then send it for review."), "info")
            return redirect(url_for("console.message", message_id=message.public_id))
    page = render_template("console/composer.html", message=None, incident=incident, form=form)
    return page, 422 if form.errors else 200


@blueprint.route("/messages/<message_id>")
@allow(STAFF)
def message(message_id: str):
    return _page(composer.get_message(message_id))


@blueprint.route("/messages/<message_id>/edit", methods=["POST"])
@allow(STAFF)
def edit_message(message_id: str):
    message = composer.get_message(message_id)
    _require_editor(message)
    form = posted_editor(message, _components(message))
    if not form.validate_on_submit():
        return _page(message, editor=form), 422
    version = message.version
    try:
        composer.edit_message(
            acting_user(),
            message,
            expected_version=form.expected_version.data,
            **edit_arguments(form),
        )
    except ServiceError as error:
        form_failed(form, error)
        return _page(message, editor=form), error.status_code
    saved = message.version != version
    flash(_("Saved.") if saved else _("Nothing changed, so nothing was saved."), "info")
    return _back_to(message, "editor")


@blueprint.route("/messages/<message_id>/preview", methods=["POST"])
@allow(STAFF)
def preview_message(message_id: str):
    """Counters and previews for the posted text, saving nothing (JSON for the script)."""
    message = composer.get_message(message_id)
    _require_editor(message)
    form = posted_editor(message, _components(message))
    form.validate()  # field errors show beside the boxes; nothing is saved either way
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return jsonify(outlets=[p.as_json() for p in outlet_previews(message, form)])
    return _page(message, editor=form)


@blueprint.route("/messages/<message_id>/revise", methods=["POST"])
@allow(STAFF)
def revise_message(message_id: str):
    done = _("Revision started. Once published it replaces the update, marked as edited.")
    return _act(message_id, Can.DRAFT, ReviseForm, composer.start_revision, done)


# ---------------------------------------------------------------- review and publishing


@blueprint.route("/messages/<message_id>/submit", methods=["POST"])
@allow(STAFF)
def submit_message(message_id: str):
    return _act(message_id, Can.DRAFT, SubmitForm, composer.submit, _("Sent for review."))


@blueprint.route("/messages/<message_id>/approve", methods=["POST"])
@allow(STAFF)
def approve_message(message_id: str):
    return _act(message_id, Can.APPROVE, ApproveForm, composer.approve, _("Approved."))


@blueprint.route("/messages/<message_id>/request-changes", methods=["POST"])
@allow(STAFF)
def request_changes(message_id: str):
    done = _("Sent back to the author with your comment.")
    return _act(message_id, Can.APPROVE, RequestChangesForm, composer.request_changes, done)


@blueprint.route("/messages/<message_id>/comment", methods=["POST"])
@allow(STAFF)
def comment_message(message_id: str):
    return _act(message_id, Can.COMMENT, CommentForm, composer.add_comment, _("Comment added."))


@blueprint.route("/messages/<message_id>/publish", methods=["POST"])
@allow(STAFF)
def publish_message(message_id: str):
    return _act(message_id, Can.PUBLISH, PublishForm, composer.publish, _("Published."))


@blueprint.route("/messages/<message_id>/schedule", methods=["POST"])
@allow(STAFF)
def schedule_message(message_id: str):
    return _act(message_id, Can.PUBLISH, ScheduleForm, composer.schedule, _("Scheduled."))


@blueprint.route("/messages/<message_id>/emergency-publish", methods=["POST"])
@allow(STAFF)
def emergency_publish(message_id: str):
    done = _("Published without review; your reason is on the incident timeline.")
    return _act(message_id, Can.EMERGENCY_PUBLISH, EmergencyForm, composer.emergency_publish, done)


def _act(message_id: str, capability: Can, form_class, service: Callable, done: str):
    """Check the role before the form, validate, call one service, say what happened."""
    message = composer.get_message(message_id)
    require(acting_user(), capability, message.incident)
    form = form_class(prefix=form_class.step)
    if not form.validate_on_submit():
        return _page(message, **{form.step: form}), 422
    try:
        result = service(acting_user(), message, **form.arguments())
    except ServiceError as error:
        form_failed(form, error)
        return _page(message, **{form.step: form}), error.status_code
    flash(done, "info")
    return _back_to(result, "review" if result is message else "editor")


def _require_editor(message: Message) -> None:
    user, incident = acting_user(), message.incident
    if not (allowed(user, Can.DRAFT, incident) or allowed(user, Can.EDIT_SOCIAL, incident)):
        raise Forbidden(_("Your role does not allow that."))


def _back_to(message: Message, anchor: str):
    return redirect(url_for("console.message", message_id=message.public_id) + f"#{anchor}")


# ---------------------------------------------------------------- the page


def _page(message: Message, editor: EditorForm | None = None, **forms):
    """The composer page; with `editor`, it shows the posted (unsaved) text."""
    posted, previews = editor, outlet_previews(message, editor)
    if editor is None:
        editor = editor_form(message, _components(message))
    else:
        fill_editor(editor, previews)
    status, changes = announced(message, posted)
    baseline = _baseline(message)
    published = message.state == MessageState.PUBLISHED
    return render_template(
        "console/composer.html",
        message=message,
        incident=message.incident,
        editor=editor,
        previews={p.outlet.value: p for p in previews},
        previewing=posted is not None,
        announced_status=status,
        changes=changes,
        baseline=baseline,
        diff=body_diff(baseline.body, message.body) if baseline else [],
        rights=_rights(message),
        forms=_action_forms(message, forms),
        revision=_newer_revision(message),
        default_next=_default_next(message),
        progress=delivery_status.progress(message) if published else [],
    )


def _components(message: Message) -> list:
    listed = list(message.incident.components)
    extra = [c.component for c in message.component_changes if c.component not in listed]
    return listed + extra


def _rights(message: Message) -> dict[str, bool]:
    user = acting_user()
    rights = {cap.value: allowed(user, cap, message.incident) for cap in RIGHTS}
    rights["own"] = user.id in (message.author_id, message.last_editor_id)
    rights["editable"] = message.state in EDITABLE
    return rights


def _action_forms(message: Message, given: dict) -> dict:
    """Each action's form, carrying the version (and hash) of what this page shows."""
    forms = {}
    for form_class in ACTION_FORMS:
        form = given.get(form_class.step) or form_class(formdata=None, prefix=form_class.step)
        if hasattr(form, "expected_version"):
            form.expected_version.data = message.version
        forms[form_class.step] = form
    forms["approve"].expected_hash.data = composer.content_hash(message)
    return forms


def _baseline(message: Message) -> Message | None:
    """The update this one is read against: the one it revises, else the latest published."""
    if message.revision_of is not None:
        return message.revision_of
    published = [
        m
        for m in message.incident.messages
        if m.state == MessageState.PUBLISHED
        and m.id != message.id
        and m.superseded_at is None
        and (message.published_at is None or m.published_at <= message.published_at)
    ]
    return max(published, key=lambda m: (m.published_at, m.id), default=None)


def body_diff(old: str, new: str) -> list[tuple[str, str]]:
    """A line diff: (kind, line) with kind add, del, same or gap (between hunks)."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2))[3:]
    kinds = {"+": "add", "-": "del", " ": "same"}
    return [("gap", "…") if ln.startswith("@@") else (kinds[ln[0]], ln[1:]) for ln in lines]


def _newer_revision(message: Message) -> Message | None:
    return next((m for m in message.incident.messages if m.revision_of_id == message.id), None)


def _default_next(message: Message) -> int:
    after = NEXT_UPDATE_AFTER.get(message.incident.impact, timedelta(hours=1))
    return int(after.total_seconds() // 60)


# ---------------------------------------------------------------- templates


@blueprint.route("/templates", methods=["GET", "POST"])
@allow(TEMPLATE_MANAGERS)
def templates():
    form = TemplateForm()
    if form.validate_on_submit():
        try:
            template_service.save_template(
                acting_user(), form.name.data, form.incident_status.data, form.body.data
            )
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Template saved."), "info")
            return redirect(url_for("console.templates"))
    return _templates_page(form, None), 422 if form.errors else 200


@blueprint.route("/templates/<int:template_id>", methods=["GET", "POST"])
@allow(TEMPLATE_MANAGERS)
def edit_template(template_id: int):
    template = template_service.get_template(template_id)
    form = TemplateForm(obj=template)
    if form.validate_on_submit():
        try:
            template_service.save_template(
                acting_user(), form.name.data, form.incident_status.data, form.body.data, template
            )
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Template saved."), "info")
            return redirect(url_for("console.templates"))
    return _templates_page(form, template), 422 if form.errors else 200


@blueprint.route("/templates/<int:template_id>/delete", methods=["POST"])
@allow(TEMPLATE_MANAGERS)
def delete_template(template_id: int):
    template = template_service.get_template(template_id)
    if ConfirmForm(prefix="delete").validate_on_submit():
        template_service.delete_template(acting_user(), template)
        flash(_("Template deleted."), "info")
    return redirect(url_for("console.templates"))


def _templates_page(form: TemplateForm, editing):
    return render_template(
        "console/templates.html",
        form=form,
        editing=editing,
        placeholders=PLACEHOLDER_HINT,
        templates=template_service.all_templates(),
        delete_form=ConfirmForm(prefix="delete"),
    )
