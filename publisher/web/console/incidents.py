"""Running an incident from the console: dashboard, declare, status, roster, timeline."""

from __future__ import annotations

from datetime import UTC

from flask import Response, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from ...services import catalogue, incidents, roster, timeline, users
from ...services import dashboard as dashboard_service
from ...services.errors import ServiceError
from ...services.permissions import RESPONDERS, Can, allowed, require
from ..access import STAFF, acting_user, allow
from . import blueprint
from .forms import (
    AssignRoleForm,
    ConfirmForm,
    DeclareIncidentForm,
    TimelineEntryForm,
    UpdateIncidentForm,
    options,
)
from .helpers import flash_errors, form_failed


@blueprint.route("/")
@allow(STAFF)
def dashboard():
    return render_template("console/dashboard.html", board=dashboard_service.load(acting_user()))


@blueprint.route("/incidents/new", methods=["GET", "POST"])
@allow(RESPONDERS)
def declare():
    form = DeclareIncidentForm()
    form.components.choices = options({c.id: c.name for c in catalogue.components()})
    if form.validate_on_submit():
        chosen = [c for c in catalogue.components() if c.id in form.components.data]
        try:
            incident = incidents.declare_incident(
                acting_user(),
                form.name.data,
                form.impact.data,
                {c: form.component_status.data for c in chosen},
            )
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Incident declared. It is on the status page now."), "info")
            return redirect(url_for("console.incident", public_id=incident.public_id))
    status = 422 if form.errors else 200
    return render_template("console/declare.html", form=form), status


@blueprint.route("/incidents/<public_id>")
@allow(STAFF)
def incident(public_id: str):
    return _render_incident(incidents.get_incident(public_id))


@blueprint.route("/incidents/<public_id>/update", methods=["POST"])
@allow(RESPONDERS)
def update_incident(public_id: str):
    item = incidents.get_incident(public_id)
    form = UpdateIncidentForm()
    if not form.validate_on_submit():
        return _render_incident(item, update_form=form), 422
    try:
        incidents.update_incident(
            acting_user(), item, status=form.status.data, impact=form.impact.data
        )
    except ServiceError as error:
        form_failed(form, error)
        return _render_incident(item, update_form=form), error.status_code
    flash(_("Incident updated."), "info")
    return redirect(url_for("console.incident", public_id=public_id))


@blueprint.route("/incidents/<public_id>/resolve", methods=["POST"])
@allow(RESPONDERS)
def resolve(public_id: str):
    item = incidents.get_incident(public_id)
    if ConfirmForm().validate_on_submit():
        incidents.resolve_incident(acting_user(), item)
        flash(_("Incident resolved; its components are operational again."), "info")
    return redirect(url_for("console.incident", public_id=public_id))


@blueprint.route("/incidents/<public_id>/roster", methods=["POST"])
@allow(STAFF)
def assign_role(public_id: str):
    item = incidents.get_incident(public_id)
    require(acting_user(), Can.ASSIGN_ROSTER, item)  # a 403 before any form error
    form = _assign_form()
    if not form.validate_on_submit():
        return _render_incident(item, assign_form=form), 422
    try:
        roster.assign(
            acting_user(), item, form.role.data, users.get_user(form.user.data), form.label.data
        )
    except ServiceError as error:
        form_failed(form, error)
        return _render_incident(item, assign_form=form), error.status_code
    flash(_("Role assigned."), "info")
    return redirect(url_for("console.incident", public_id=public_id) + "#roster")


@blueprint.route("/incidents/<public_id>/roster/<int:assignment_id>/remove", methods=["POST"])
@allow(STAFF)
def unassign_role(public_id: str, assignment_id: int):
    item = incidents.get_incident(public_id)
    require(acting_user(), Can.ASSIGN_ROSTER, item)
    if ConfirmForm().validate_on_submit():
        roster.unassign(acting_user(), item, assignment_id)
        flash(_("Role removed; the incident manager holds it again."), "info")
    return redirect(url_for("console.incident", public_id=public_id) + "#roster")


@blueprint.route("/incidents/<public_id>/timeline", methods=["POST"])
@allow(STAFF)
def add_timeline_entry(public_id: str):
    item = incidents.get_incident(public_id)
    require(acting_user(), Can.WRITE_TIMELINE, item)
    form = TimelineEntryForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _render_incident(item, entry_form=form), 422
    at = form.at.data.replace(tzinfo=UTC) if form.at.data else None
    try:
        timeline.add_entry(acting_user(), item, form.body.data, form.kind.data, at)
    except ServiceError as error:
        form_failed(form, error)
        return _render_incident(item, entry_form=form), error.status_code
    return redirect(url_for("console.incident", public_id=public_id) + "#timeline")


@blueprint.route("/incidents/<public_id>/timeline.md")
@allow(STAFF)
def timeline_markdown(public_id: str):
    item = incidents.get_incident(public_id)
    return Response(
        timeline.export_markdown(item),
        mimetype="text/markdown",
        headers={"Content-Disposition": _attachment(item, "md")},
    )


@blueprint.route("/incidents/<public_id>/timeline.json")
@allow(STAFF)
def timeline_json(public_id: str):
    item = incidents.get_incident(public_id)
    response = jsonify(timeline.export_json(item))
    response.headers["Content-Disposition"] = _attachment(item, "json")
    return response


def _attachment(item, extension: str) -> str:
    return f'attachment; filename="timeline-{item.public_id}.{extension}"'


def _assign_form(formdata=True) -> AssignRoleForm:
    form = AssignRoleForm() if formdata else AssignRoleForm(formdata=None)
    people = {u.id: f"{u.name} ({u.email})" for u in users.all_users() if u.is_enabled}
    form.user.choices = options(people)
    return form


def _render_incident(item, update_form=None, assign_form=None, entry_form=None):
    user = acting_user()
    return render_template(
        "console/incident.html",
        incident=item,
        lines=roster.roster_lines(item),
        events=timeline.timeline(item),
        confirm=ConfirmForm(),
        update_form=update_form
        or UpdateIncidentForm(formdata=None, status=item.status, impact=item.impact),
        assign_form=assign_form or _assign_form(formdata=False),
        entry_form=entry_form or TimelineEntryForm(formdata=None),
        can_manage=allowed(user, Can.MANAGE_INCIDENTS, item) and not item.is_maintenance,
        can_assign=allowed(user, Can.ASSIGN_ROSTER, item),
        can_write=allowed(user, Can.WRITE_TIMELINE, item),
    )
