"""Component statuses and maintenance windows."""

from __future__ import annotations

from datetime import UTC

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ...services import catalogue, incidents, maintenance
from ...services.errors import ServiceError
from ...services.permissions import RESPONDERS
from ...services.public import STATUS_LABELS
from ..access import STAFF, acting_user, allow
from . import blueprint
from .forms import ComponentStatusForm, MaintenanceForm, MaintenanceStatusForm, options
from .helpers import flash_errors, form_failed


@blueprint.route("/components")
@allow(STAFF)
def components():
    return render_template(
        "console/components.html",
        components=catalogue.components(),
        groups=catalogue.groups(),
        form=ComponentStatusForm(formdata=None),
    )


@blueprint.route("/components/<public_id>/status", methods=["POST"])
@allow(RESPONDERS)
def component_status(public_id: str):
    component = incidents.get_component(public_id)
    form = ComponentStatusForm()
    if form.validate_on_submit():
        incidents.set_component_status(acting_user(), component, form.status.data)
        flash(
            _(
                "%(name)s is now: %(status)s.",
                name=component.name,
                status=STATUS_LABELS[form.status.data],
            ),
            "info",
        )
    else:
        flash_errors(form)
    return redirect(url_for("console.components"))


@blueprint.route("/maintenance/new", methods=["GET", "POST"])
@allow(RESPONDERS)
def schedule_maintenance():
    form = MaintenanceForm()
    form.components.choices = options({c.id: c.name for c in catalogue.components()})
    if form.validate_on_submit():
        chosen = [c for c in catalogue.components() if c.id in form.components.data]
        try:
            item = maintenance.schedule_maintenance(
                acting_user(),
                form.name.data,
                chosen,
                form.scheduled_for.data.replace(tzinfo=UTC),
                form.scheduled_until.data.replace(tzinfo=UTC),
                form.auto_transition.data,
            )
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Maintenance scheduled."), "info")
            return redirect(url_for("console.incident", public_id=item.public_id))
    status = 422 if form.errors else 200
    return render_template("console/maintenance.html", form=form), status


@blueprint.route("/maintenance/<public_id>/status", methods=["POST"])
@allow(RESPONDERS)
def maintenance_status(public_id: str):
    item = incidents.get_incident(public_id)
    form = MaintenanceStatusForm()
    if form.validate_on_submit():
        maintenance.set_maintenance_status(acting_user(), item, form.status.data)
        flash(_("Maintenance status changed."), "info")
    else:
        flash_errors(form)
    return redirect(url_for("console.incident", public_id=public_id))
