"""Customer feedback in the console: the support intake, the triage inbox, the responders'
view of one incident, its digest settings, digest targets and erasing personal data."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from ...models import Role, TriageState
from ...services import catalogue, incidents
from ...services.errors import ServiceError
from ...services.feedback import forwarding, intake, responder, triage
from ...services.feedback.labels import region_label
from ...services.feedback.text import regions
from ...services.permissions import RESPONDERS, Can, require
from ..access import STAFF, acting_user, allow
from ..i18n import languages
from . import blueprint
from .feedback_forms import ButtonForm, IntakeForm, SettingsForm, TargetForm, TriageForm
from .forms import options
from .helpers import form_failed, refused

TRIAGERS = RESPONDERS | {Role.SUPPORT_AGENT, Role.SOCIAL_LEAD}
STATES = {s.value: s for s in TriageState}


@blueprint.route("/feedback/intake", methods=["GET", "POST"])
@allow(TRIAGERS)
def feedback_intake():
    form = IntakeForm()
    _intake_choices(form)
    if not form.is_submitted():
        form.incident.data = request.args.get("incident", "")
        form.locale.data = str(get_locale())  # most often the agent's own language
    elif form.validate():
        try:
            intake.record_intake(acting_user(), _intake(form))
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Report logged."), "info")
            return redirect(url_for("console.feedback_intake", incident=form.incident.data or ""))
    wordings = {i.public_id: responder.what_to_tell_customers(i.id) for i in form.active}
    status = 422 if form.errors else 200
    return render_template(
        "console/feedback_intake.html", form=form, wordings=wordings, active=form.active
    ), status


@blueprint.route("/feedback")
@allow(STAFF)
def feedback_inbox():
    state = STATES.get(request.args.get("state", "new"), TriageState.NEW)
    form = TriageForm()
    form.incident.choices = _incident_choices(triage.active_incidents())
    return render_template(
        "console/feedback_inbox.html",
        groups=triage.inbox(state),
        state=state,
        states=list(TriageState),
        form=form,
        may_triage=acting_user().role in TRIAGERS,
    )


@blueprint.route("/feedback/link", methods=["POST"])
@allow(TRIAGERS)
def feedback_link():
    form = TriageForm()
    if form.validate_on_submit():
        _act(lambda: triage.link(acting_user(), form.reports.data, form.incident.data))
    return _back_to_inbox()


@blueprint.route("/feedback/dismiss", methods=["POST"])
@allow(TRIAGERS)
def feedback_dismiss():
    form = TriageForm()
    if form.validate_on_submit():
        _act(lambda: triage.dismiss(acting_user(), form.reports.data))
    return _back_to_inbox()


@blueprint.route("/feedback/forward", methods=["POST"])
@allow(TRIAGERS)
def feedback_forward():
    form = TriageForm()
    if form.validate_on_submit():
        _act(lambda: forwarding.forward_now(acting_user(), form.reports.data))
    return _back_to_inbox()


@blueprint.route("/feedback/reports/<int:report_id>/erase", methods=["POST"])
@allow(STAFF)  # admins, and the incident's support lead (checked by the service)
def feedback_erase(report_id: int):
    if ButtonForm().validate_on_submit():
        triage.erase(acting_user(), report_id)
        flash(_("The report's personal data is erased."), "info")
    return _back_to_inbox()


@blueprint.route("/incidents/<public_id>/feedback")
@allow(STAFF)
def incident_feedback(public_id: str):
    item = incidents.get_incident(public_id)
    view = responder.responder_view(item)
    form = SettingsForm()
    if view.settings is not None:
        form.cadence.data = str(view.settings.digest_every_minutes or "")
        form.show_public_count.data = view.settings.show_public_count
    return render_template("console/feedback_incident.html", view=view, form=form)


@blueprint.route("/incidents/<public_id>/feedback/settings", methods=["POST"])
@allow(STAFF)  # the incident manager, globally or on the roster (checked by the service)
def incident_feedback_settings(public_id: str):
    item = incidents.get_incident(public_id)
    require(acting_user(), Can.SET_FEEDBACK_CADENCE, item)  # a 403 before any form error
    form = SettingsForm()
    if form.validate_on_submit():
        every = int(form.cadence.data) if form.cadence.data else None
        forwarding.update_settings(acting_user(), item, every, form.show_public_count.data)
        flash(_("Feedback settings saved."), "info")
    else:
        flash(_("Choose a cadence from the list."), "error")
    return redirect(url_for("console.incident_feedback", public_id=public_id))


@blueprint.route("/feedback/targets", methods=["GET", "POST"])
@allow(Role.ADMIN)
def feedback_targets():
    form = TargetForm()
    secret = None
    if form.validate_on_submit():
        try:
            added = forwarding.add_target(acting_user(), form.channel.data, form.webhook_url.data)
        except ServiceError as error:
            form_failed(form, error)
        else:
            flash(_("Digests will go to this outlet."), "info")
            secret = added.signing_secret
    status = 422 if form.errors else 200
    return render_template(
        "console/feedback_targets.html",
        form=form,
        targets=forwarding.targets(),
        candidates=forwarding.candidate_channels(),
        secret=secret,
        button=ButtonForm(),
    ), status


@blueprint.route("/feedback/targets/<int:target_id>/remove", methods=["POST"])
@allow(Role.ADMIN)
def feedback_target_remove(target_id: int):
    if ButtonForm().validate_on_submit():
        forwarding.remove_target(acting_user(), target_id)
        flash(_("Digests no longer go to that outlet."), "info")
    return redirect(url_for("console.feedback_targets"))


# ---------------------------------------------------------------- helpers


def _intake_choices(form: IntakeForm) -> None:
    form.active = triage.active_incidents()
    none_yet = SelectChoice("", _("None yet: leave it for triage"))
    not_known = SelectChoice("", _("Not known"))
    form.incident.choices = [none_yet, *_incident_choices(form.active)]
    components = {c.public_id: c.name for c in catalogue.components()}
    form.component.choices = [not_known, *options(components)]
    form.region.choices = [not_known, *options({r: region_label(r) for r in regions()})]
    form.locale.choices = options(dict(languages()))


def _incident_choices(items) -> list[SelectChoice]:
    return options({i.public_id: i.name for i in items})


def _intake(form: IntakeForm) -> intake.Intake:
    return intake.Intake(
        via=form.via.data,
        body=form.body.data,
        customer_ref=form.customer_ref.data,
        ticket_url=form.ticket_url.data,
        contact=form.contact.data,
        email=form.email.data,
        wants_updates=bool(form.wants_updates.data),
        component=form.component.data or None,
        region=form.region.data or None,
        incident=form.incident.data or None,
        locale=form.locale.data or None,
    )


def _act(action) -> None:
    try:
        done = action()
    except ServiceError as error:
        refused(error)
    else:
        flash(_("Done (%(n)d).", n=done), "info")


def _back_to_inbox():
    state = request.args.get("state") or request.form.get("state") or "new"
    return redirect(url_for("console.feedback_inbox", state=state if state in STATES else "new"))
